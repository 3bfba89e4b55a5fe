"""The pii stage: find PII in every record and replace it with typed placeholders, or only count it.

A pure function over a batch, meant for phase A after normalisation and before the rules and dedup (so
duplicates are found on redacted text). It reads web records' `text` and dialogues' turns, and writes:

- `pii_counts`: per type, how many were found (every record; null only when the stage is off);
- in `redact` mode, the texts with each finding replaced (`<PHONE_1>`, `<NAME_2>`: numbered per record, so one
  value keeps one placeholder across a dialogue's turns), named speakers replaced in `speaker`, `role_raw`
  and `speakers`, and a dialogue's `text` rendered again from its redacted turns.

Detection is vectorised over the batch (see `curate.pii.detect`); Python touches only the candidates found
and the texts that change.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array, flat_children, replace_children
from curate.pii.config import load_pii_rules, pii_types
from curate.pii.detect import Checker, Finding, scan
from curate.pii.mentions import aliases, mentions, role_words, speaker_table
from curate.pii.patterns import compile_patterns
from curate.pii.placeholders import Plan, apply, plan, resolve_overlaps
from curate.pii.spec import PiiSpec
from curate.schema import arrow_schema
from curate.stages.normalize import _render_dialogues


@cache
def _checker(config: str, types: frozenset[str]) -> Checker:
    return Checker(load_pii_rules(config), types)


def _set(table: pa.Table, name: str, col: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, col)


def _counts_column(counts: np.ndarray) -> pa.StructArray:
    struct = arrow_schema().field("pii_counts").type
    return pa.StructArray.from_arrays([pa.array(counts[:, i], pa.int32()) for i in range(counts.shape[1])],
                                      fields=list(struct))


def _relabel(values: pl.Series, rows: np.ndarray, placeholders: pl.DataFrame) -> pl.Series:
    """Speaker labels replaced by their dialogue's placeholders (a join on row and label)."""
    frame = pl.DataFrame({"row": rows.astype(np.int64), "label": values.cast(pl.String)})
    joined = frame.join(placeholders, on=["row", "label"], how="left", maintain_order="left")
    return joined.select(pl.coalesce("to", "label")).to_series()


def detect_batch(table: pa.Table, spec: PiiSpec, extra_roles: Collection[str] = ()) -> tuple[Plan, dict]:
    """Findings of a batch, planned: the counts, the placeholders, and the texts they were found in.

    Returns the plan and the pieces the redaction needs (texts, their rows, the flat turns)."""
    rules = load_pii_rules(spec.config)
    types = frozenset(spec.enabled_types())
    n = table.num_rows
    turns = as_array(table.column("turns"))
    has_turns = turns.is_valid().to_numpy(zero_copy_only=False)
    live = pc.is_null(table.column("drop_reason")).to_numpy(zero_copy_only=False)
    values, parents = flat_children(turns)
    # `text` is scanned where it is not a rendering of the turns: web records, and rejected rows (the raw line)
    text_rows = np.flatnonzero(~(has_turns & live))
    texts = pl.from_arrow(as_array(table.column("text")).take(pa.array(text_rows, pa.int64()))).cast(pl.String)
    turn_texts = pl.from_arrow(values.field("text")).cast(pl.String) if len(values) else pl.Series([], dtype=pl.String)
    units = pl.concat([texts.alias("t"), turn_texts.alias("t")])
    unit_rows = np.concatenate([text_rows, parents]).astype(np.int64)

    findings: list[Finding] = scan(units, compile_patterns(spec.config, types), _checker(spec.config, types))
    speakers = pl.DataFrame(schema={"row": pl.Int64, "speaker": pl.String})
    if "name" in types and rules.speakers and len(values):
        turn_speakers = pl.from_arrow(values.field("speaker")).cast(pl.String)
        speakers = speaker_table(parents, turn_speakers, role_words(rules, extra_roles))
    findings += mentions(units, unit_rows, aliases(speakers, findings, units, unit_rows, rules))
    kept = resolve_overlaps(findings)
    result = plan(kept, unit_rows, speakers, n, pii_types(), rules)
    return result, {"units": units, "text_rows": text_rows, "render": has_turns & live, "turns": turns,
                    "values": values, "parents": parents}


def pii_stage(table: pa.Table, spec: PiiSpec, extra_roles: Collection[str] = ()) -> pa.Table:
    """The pii stage over one batch: same rows, same order; `pii_counts` filled, and in `redact` mode the
    PII replaced. `extra_roles`: speaker labels that are roles in this job (its `roles:` keys)."""
    if spec.mode == "off" or table.num_rows == 0:
        return table
    result, parts = detect_batch(table, spec, extra_roles)
    table = _set(table, "pii_counts", _counts_column(result.counts))
    if spec.mode == "flag" or (not result.replacements and result.speaker_placeholders.height == 0):
        return table
    return _redact(table, result, parts)


def _redact(table: pa.Table, result: Plan, parts: dict) -> pa.Table:
    units: pl.Series = parts["units"]
    changed = sorted(result.replacements)
    if changed:
        new = [apply(t or "", result.replacements[u]) for u, t in zip(changed, units.gather(changed).to_list(),
                                                                      strict=True)]
        units = units.scatter(changed, pl.Series(new, dtype=pl.String))
    text_rows = parts["text_rows"]
    n_text = len(text_rows)
    text = pl.from_arrow(as_array(table.column("text"))).cast(pl.String)
    if n_text:
        text = text.scatter(text_rows, units.slice(0, n_text))
    text = text.to_arrow().cast(pa.string())
    if len(parts["values"]):
        turns, parents, values = parts["turns"], parts["parents"], parts["values"]
        new_fields = {"text": units.slice(n_text).to_arrow().cast(pa.string())}
        for name in ("speaker", "role_raw"):
            col = pl.from_arrow(values.field(name)).cast(pl.String)
            new_fields[name] = _relabel(col, parents, result.speaker_placeholders).to_arrow().cast(pa.string())
        turns = replace_children(turns, new_fields)
        table = _set(table, "turns", turns)
        # a dialogue's text is its turns rendered (as normalisation rendered it): render the redacted turns
        text = pc.if_else(pa.array(parts["render"]), _render_dialogues(turns, table.num_rows), text)
        speakers_col = as_array(table.column("speakers"))
        if speakers_col.null_count < len(speakers_col) and result.speaker_placeholders.height:
            s_values, s_parents = flat_children(speakers_col)
            relabelled = _relabel(pl.from_arrow(s_values.field("speaker")).cast(pl.String), s_parents,
                                  result.speaker_placeholders)
            table = _set(table, "speakers", replace_children(speakers_col, {"speaker": relabelled.to_arrow()}))
    return _set(table, "text", text.cast(pa.string()))
