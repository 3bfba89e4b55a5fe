"""Rule sets as data (YAML in rules/) and the rules stage: signals → `rule_flags`, `drop_reason`, `drop_detail`.

A rule is `{id, signal, op, value, source, enabled}`; its id is the drop reason. Rule sets apply to
record kinds (`applies_to`); within the job's list of rule sets, the first rule that fires (in file
order) names the drop reason and every rule that fires is listed in `rule_flags`. Nothing is dropped
here: the writer routes rows by `drop_reason`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from curate.arrowutil import as_array
from curate.assets import resolve_asset
from curate.io import storage
from curate.schema import arrow_schema
from curate.stages.base import Settings, Stage
from curate.stages.crossdoc import LINE_HASHES, SIGNAL, dup_paragraph_frac
from curate.stages.signals import GLOBAL_SIGNALS, REGISTRY, SignalInput, compute_signals
from curate.stages.wordlists import WordLists

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
_RULE_KEYS = {"id", "signal", "op", "value", "source", "enabled", "description"}
_SET_KEYS = {"name", "version", "description", "applies_to", "wordlists", "rules"}


class RuleError(ValueError):
    """A rule file that does not validate (the message names the file and the key)."""


@dataclass(frozen=True)
class Rule:
    """Fires when `signal op value` holds."""

    id: str
    signal: str
    op: str
    value: float | bool
    source: str = ""
    enabled: bool = True

    def fires(self, values: np.ndarray) -> np.ndarray:
        """Vectorised verdict over a signal column."""
        return np.asarray(OPS[self.op](values, self.value), dtype=bool)

    def describe(self) -> str:
        """`signal op value`, as shown in drop details and `rules explain`."""
        return f"{self.signal} {self.op} {self.value}"


@dataclass(frozen=True)
class RuleSet:
    """A named, ordered list of rules for some record kinds, with its word lists."""

    name: str
    path: str
    applies_to: tuple[str, ...]
    rules: tuple[Rule, ...]
    words: WordLists | None

    @property
    def active(self) -> tuple[Rule, ...]:
        """Enabled rules on per-batch signals, in file order (per_record)."""
        return tuple(r for r in self.rules if r.enabled and r.signal not in GLOBAL_SIGNALS)

    @property
    def active_global(self) -> tuple[Rule, ...]:
        """Enabled rules on whole-run signals, in file order (finish)."""
        return tuple(r for r in self.rules if r.enabled and r.signal in GLOBAL_SIGNALS)


def _fail(path: Path, where: str, msg: str) -> RuleError:
    return RuleError(f"{path}: {where}: {msg}")


def parse_rule_set(doc: Any, path: Path) -> RuleSet:
    """Validate a rule-set document (errors name the file and the key)."""
    if not isinstance(doc, dict):
        raise _fail(path, "top level", "a rule set is a YAML mapping")
    unknown = set(doc) - _SET_KEYS
    if unknown:
        raise _fail(path, "top level", f"unknown key(s) {sorted(unknown)}; allowed {sorted(_SET_KEYS)}")
    applies = doc.get("applies_to", ["web", "dialogue"])
    applies = [applies] if isinstance(applies, str) else list(applies)
    for k in applies:
        if k not in ("web", "dialogue"):
            raise _fail(path, "applies_to", f"{k!r} is not web or dialogue")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(doc.get("rules") or []):
        where = f"rules[{i}]"
        if not isinstance(r, dict):
            raise _fail(path, where, "a rule is a mapping")
        if set(r) - _RULE_KEYS:
            raise _fail(path, where, f"unknown key(s) {sorted(set(r) - _RULE_KEYS)}")
        for key in ("id", "signal", "op", "value"):
            if key not in r:
                raise _fail(path, f"{where}.{key}", "required")
        if r["id"] in seen:
            raise _fail(path, f"{where}.id", f"duplicate rule id {r['id']!r}")
        seen.add(r["id"])
        if r["signal"] not in REGISTRY and r["signal"] not in GLOBAL_SIGNALS:
            raise _fail(path, f"{where}.signal", f"unknown signal {r['signal']!r}; see `curate list signals`")
        if r["op"] not in OPS:
            raise _fail(path, f"{where}.op", f"{r['op']!r} is not one of {list(OPS)}")
        if not isinstance(r["value"], int | float | bool):
            raise _fail(path, f"{where}.value", f"expected a number or boolean, got {r['value']!r}")
        rules.append(Rule(str(r["id"]), r["signal"], r["op"], r["value"], str(r.get("source", "")),
                          bool(r.get("enabled", True))))
    words = None
    if doc.get("wordlists"):
        folder = path.parent / str(doc["wordlists"])
        if not folder.is_dir():
            raise _fail(path, "wordlists", f"folder {folder} not found")
        words = WordLists.load(folder)
    return RuleSet(str(doc.get("name") or path.stem), str(path), tuple(applies), tuple(rules), words)


@cache
def load_rule_set(name: str) -> RuleSet:
    """Load rules/NAME (or a path) once per process."""
    path = resolve_asset(name, "rules")  # a URL: its local copy
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RuleError(f"{path}: not valid YAML: {e}") from None
    rule_set = parse_rule_set(doc, path)
    return replace(rule_set, path=name) if storage.is_url(name) else rule_set  # the manifest names the URL


def load_rule_sets(names: Sequence[str]) -> tuple[RuleSet, ...]:
    """Load several rule sets, checking that rule ids are unique across them."""
    sets = tuple(load_rule_set(n) for n in names)
    ids = [r.id for s in sets for r in s.rules]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise RuleError(f"rule ids appear in more than one rule set: {sorted(dup)}")
    return sets


def _format_value(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.4g}"
    return str(v)


# Signals are per document, so a batch is computed in parts of about this many characters: the n-gram
# statistics hold ~90 bytes of NumPy arrays per character (a 5,000-page block of 6.3 M characters peaked at
# 582 MB), which bounds each part's working set to ~100 MB whatever the block size.
SIGNAL_PART_CHARS = 1_000_000


def char_bounded(rows: np.ndarray, chars: np.ndarray) -> list[np.ndarray]:
    """`rows` in consecutive parts of about SIGNAL_PART_CHARS characters (a longer document alone)."""
    cum = np.cumsum(chars[rows])
    if not len(rows) or cum[-1] <= SIGNAL_PART_CHARS:
        return [rows]
    cuts = np.unique(np.searchsorted(cum, np.arange(SIGNAL_PART_CHARS, cum[-1], SIGNAL_PART_CHARS), side="right"))
    return [part for part in np.split(rows, cuts[(cuts > 0) & (cuts < len(rows))]) if len(part)]


def apply_rules(table: pa.Table, rule_sets: Sequence[RuleSet]) -> pa.Table:
    """Fill the signal columns the rules need, then `rule_flags`, `drop_reason` and `drop_detail`.

    Same rows, same order. Rows already rejected upstream (malformed input) keep their reason and get no
    signals. A rule set only sees rows of the kinds it applies to.
    """
    n = table.num_rows
    schema = arrow_schema()
    live = pc.is_null(table.column("drop_reason")).to_numpy(zero_copy_only=False)
    kind = np.asarray(table.column("kind").to_numpy(zero_copy_only=False))
    text = pl.from_arrow(as_array(table.column("text"))).cast(pl.String).fill_null("")
    turns = as_array(table.column("turns"))
    chars = text.str.len_chars().to_numpy()

    values: dict[str, np.ndarray] = {}
    computed: dict[str, np.ndarray] = {}
    fired_by_rule: list[tuple[Rule, np.ndarray, np.ndarray]] = []
    for rs in rule_sets:
        mask = live & np.isin(kind, rs.applies_to)
        rows = np.flatnonzero(mask)
        needed = sorted({r.signal for r in rs.active})
        if len(rows) and needed:
            want_turns = any(REGISTRY[c].needs_turns for c in needed)
            for part in char_bounded(rows, chars):
                x = SignalInput(text.gather(part), turns.take(pa.array(part)) if want_turns else None, rs.words)
                for col, vals in compute_signals(x, needed).items():
                    arr = vals.to_numpy() if isinstance(vals, pl.Series) else np.asarray(vals)
                    if col not in values:
                        values[col] = np.zeros(n, dtype=arr.dtype)
                        computed[col] = np.zeros(n, dtype=bool)
                    elif not np.can_cast(arr.dtype, values[col].dtype):  # a part typed wider than the first
                        values[col] = values[col].astype(np.result_type(values[col].dtype, arr.dtype))
                    values[col][part] = arr
                    computed[col][part] = True
        for rule in rs.active:
            fired = np.zeros(n, dtype=bool)
            seen = np.zeros(n, dtype=np.float64)  # the value this rule judged, for drop_detail
            if len(rows) and rule.signal in values:
                judged = values[rule.signal][rows]
                fired[rows] = rule.fires(judged)
                seen[rows] = judged
            fired_by_rule.append((rule, fired, seen))

    for col, vals in values.items():
        arr = pa.array(vals, mask=~computed[col]).cast(schema.field(col).type)
        table = table.set_column(table.schema.get_field_index(col), col, arr)

    return _write_verdicts(table, fired_by_rule, live, prior_flags=None)


def global_rule_kinds(rule_sets: Sequence[RuleSet], signals: Collection[str] | None = None) -> tuple[str, ...]:
    """Record kinds that some active whole-run rule (on one of `signals`, when given) applies to (empty: no
    such rule)."""
    return tuple(sorted({k for rs in rule_sets
                         if any(signals is None or r.signal in signals for r in rs.active_global)
                         for k in rs.applies_to}))


def apply_global_rules(table: pa.Table, rule_sets: Sequence[RuleSet], values: dict[str, np.ndarray],
                       computed: np.ndarray | dict[str, np.ndarray]) -> pa.Table:
    """finish: fill whole-run signal columns and evaluate their rules on rows still live.

    `computed` says where each value was computed (one mask for all, or one per signal); elsewhere the column
    is null and no rule fires. Only the rules on the signals in `values` are evaluated (each finishing stage
    fills its own signals). Fired rule ids are appended to `rule_flags`; the first one becomes `drop_reason`
    of a live row.
    """
    schema = arrow_schema()
    masks = computed if isinstance(computed, dict) else dict.fromkeys(values, computed)
    not_dropped = pc.is_null(table.column("drop_reason")).to_numpy(zero_copy_only=False)
    live = not_dropped & np.logical_or.reduce([masks[c] for c in values]) if values else not_dropped
    kind = np.asarray(table.column("kind").to_numpy(zero_copy_only=False))
    for col, vals in values.items():
        arr = pa.array(vals, mask=~masks[col]).cast(schema.field(col).type)
        table = table.set_column(table.schema.get_field_index(col), col, arr)
    fired: list[tuple[Rule, np.ndarray, np.ndarray]] = []
    for rs in rule_sets:
        mask = not_dropped & np.isin(kind, rs.applies_to)
        for rule in rs.active_global:
            if rule.signal in values:
                fired.append((rule, mask & masks[rule.signal] & rule.fires(values[rule.signal]), values[rule.signal]))
    if not fired:
        return table
    return _write_verdicts(table, fired, live, prior_flags=as_array(table.column("rule_flags")))


def _write_verdicts(table: pa.Table, fired: list[tuple[Rule, np.ndarray, np.ndarray]], live: np.ndarray,
                    prior_flags: pa.Array | None) -> pa.Table:
    """The one verdict writer of both rule passes. For live rows: the fired rules' ids in `rule_flags`
    (after `prior_flags`, the first pass's), the first fired one as `drop_reason` and its
    `signal=value op threshold` as `drop_detail`. Rows not live keep their three columns.

    `fired`: (rule, fired mask, the value the rule judged) per rule, in rule order.
    """
    n = table.num_rows
    if fired:
        flags, reason, detail = _verdicts(fired, n)
        if prior_flags is not None:
            frame = pl.DataFrame({"old": pl.from_arrow(prior_flags), "new": pl.from_arrow(flags)})
            flags = frame.select(pl.concat_list([pl.col("old").fill_null(pl.lit([], pl.List(pl.String))),
                                                 "new"])).to_series().to_arrow()
    else:
        # no rules: empty flags, no reason (built in Arrow: Python lists of n rows cost ~0.1 s per 5,000)
        flags = pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))
        reason = detail = pa.nulls(n, pa.string())
    live_arr = pa.array(live)
    columns = {
        "rule_flags": flags.cast(pa.list_(pa.string())),
        "drop_reason": reason.cast(pa.string()),
        "drop_detail": detail.cast(pa.string()),
    }
    for col, arr in columns.items():
        table = table.set_column(table.schema.get_field_index(col), col,
                                 pc.if_else(live_arr, arr, as_array(table.column(col))))
    return table


def _verdicts(fired: list[tuple[Rule, np.ndarray, np.ndarray]], n: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Per row, the ids of the rules that fired (in rule order), the first one's id and its detail.

    Built from the (row, rule) pairs that fired rather than per rule over every row: few rows fire at all, so
    only the first fired rule's values are formatted (by the same Polars expressions)."""
    schema = arrow_schema()
    rules = [r for r, _, _ in fired]
    matrix = np.column_stack([f for _, f, _ in fired])
    rows, cols = np.nonzero(matrix)  # row-major: each row's rules in rule order
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    ids = pa.array([r.id for r in rules], pa.string())
    flags = pa.ListArray.from_arrays(pa.array(offsets), ids.take(pa.array(cols)))
    hit = offsets[1:] > offsets[:-1]
    first = np.zeros(n, dtype=np.int64)
    first[hit] = cols[offsets[:-1][hit]]
    reason = ids.take(pa.array(first, mask=~hit))

    def shown(rule: Rule) -> pl.Expr:
        col = pl.col("v")
        kind = schema.field(rule.signal).type
        if pa.types.is_boolean(kind):
            return (col != 0).cast(pl.String)
        if pa.types.is_integer(kind):
            return col.cast(pl.Int64).cast(pl.String)
        return col.round(6).cast(pl.String)

    hit_rows = np.flatnonzero(hit)
    parts: list[pa.Array] = []
    order: list[np.ndarray] = []
    for i in np.unique(first[hit_rows]):
        rule, at = rules[i], hit_rows[first[hit_rows] == i]
        values = pl.DataFrame({"v": fired[i][2][at]})
        parts.append(values.select(pl.format(f"{rule.signal}={{}} {rule.op} {_format_value(rule.value)}",
                                             shown(rule))).to_series().to_arrow())
        order.append(at)
    detail = pa.nulls(n, pa.string())
    if parts:
        # the details in row order: row r's detail sits at `where[r]` of the concatenated parts
        where = np.zeros(n, dtype=np.int64)
        where[np.concatenate(order)] = np.arange(len(hit_rows))
        detail = pa.concat_arrays([p.cast(pa.string()) for p in parts]).take(pa.array(where, mask=~hit))
    return flags, reason, detail


def _rules(table: pa.Table, settings: Settings) -> pa.Table:
    return apply_rules(table, load_rule_sets(settings.rule_files))


@cache
def _dup_lines(path: str) -> pl.Series:
    # read once per worker process; the whole-run step writes the file once and never changes it
    return storage.read_parquet(path)["line"]


def _whole_run_rules(table: pa.Table, settings: Settings) -> pa.Table:
    if LINE_HASHES not in table.column_names:
        return table
    frac, computed = dup_paragraph_frac(table, _dup_lines(settings.dup_lines))
    return apply_global_rules(table, load_rule_sets(settings.rule_files), {SIGNAL: frac}, computed)


RULES = Stage("rules", reads=("text", "turns", "kind"), adds=("sig_*", "rule_flags", "drop_reason", "drop_detail"),
              apply=_rules)
WHOLE_RUN_RULES = Stage("whole_run_rules", reads=(LINE_HASHES, "kind"),
                        adds=(SIGNAL, "rule_flags", "drop_reason", "drop_detail"), apply=_whole_run_rules,
                        active=lambda s: s.dup_lines is not None)


def describe_rule_sets(names: Sequence[str]) -> list[dict[str, Any]]:
    """Each rule set of a run as the manifest lists it: file, name, kinds, active rule ids, word-list size."""
    return [{"file": rs.path, "name": rs.name, "applies_to": list(rs.applies_to),
             "rules": [r.id for r in rs.active], "words": len(rs.words.words) if rs.words else 0}
            for rs in load_rule_sets(names)]
