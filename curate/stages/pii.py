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
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array, flat_children, replace_children
from curate.pii.config import load_pii_rules, pii_types
from curate.pii.detect import Finding, checker_for, scan
from curate.pii.mentions import aliases, mentions, role_words, speaker_table
from curate.pii.patterns import compile_patterns
from curate.pii.placeholders import Plan, apply, plan, resolve_overlaps
from curate.pii.spec import PiiSpec
from curate.schema import arrow_schema
from curate.stages.base import Settings, Stage
from curate.stages.normalize import render_dialogues


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


@dataclass
class Detected:
    """A batch's texts as the stage scanned them, what it found there, and the plan for replacing it."""

    units: pl.Series  # the texts scanned: `text` of text_rows, then every turn's text in flat order
    unit_rows: np.ndarray  # the record of each text
    text_rows: np.ndarray  # records whose `text` was scanned (web records, rejected rows)
    rendered: np.ndarray  # records whose `text` is their turns rendered (live dialogues)
    turns: pa.Array
    parents: np.ndarray  # the record of each flat turn
    findings: list[Finding]  # kept, sorted by text and offset, not overlapping
    plan: Plan


def detect_batch(table: pa.Table, spec: PiiSpec, extra_roles: Collection[str] = ()) -> Detected:
    """Find the PII of a batch and plan its placeholders (nothing is changed yet).

    `text` is scanned where it is not a rendering of the turns (web records, and rejected rows, which keep the
    raw input line); turns always. Findings are the detectors' (`curate.pii.detect`) and every mention of a
    value the record is known to hold (its speaker names, its cue-found names, QQ numbers, WeChat ids)."""
    rules = load_pii_rules(spec.config)
    types = frozenset(spec.enabled_types())
    turns = as_array(table.column("turns"))
    has_turns = turns.is_valid().to_numpy(zero_copy_only=False)
    live = pc.is_null(table.column("drop_reason")).to_numpy(zero_copy_only=False)
    values, parents = flat_children(turns)
    text_rows = np.flatnonzero(~(has_turns & live))
    texts = pl.from_arrow(as_array(table.column("text")).take(pa.array(text_rows, pa.int64()))).cast(pl.String)
    turn_texts = pl.from_arrow(values.field("text")).cast(pl.String) if len(values) else pl.Series([], dtype=pl.String)
    units = pl.concat([texts.alias("t"), turn_texts.alias("t")])
    unit_rows = np.concatenate([text_rows, parents]).astype(np.int64)

    findings: list[Finding] = scan(units, compile_patterns(spec.config, types), checker_for(spec.config, types))
    speakers = pl.DataFrame(schema={"row": pl.Int64, "speaker": pl.String})
    if "name" in types and rules.speakers and len(values):
        turn_speakers = pl.from_arrow(values.field("speaker")).cast(pl.String)
        speakers = speaker_table(parents, turn_speakers, role_words(rules, extra_roles))
    findings += mentions(units, unit_rows, aliases(speakers, findings, units, unit_rows, rules))
    kept = resolve_overlaps(findings)
    return Detected(units, unit_rows, text_rows, has_turns & live, turns, parents, kept,
                    plan(kept, unit_rows, speakers, table.num_rows, pii_types(), rules))


def pii_stage(table: pa.Table, spec: PiiSpec, extra_roles: Collection[str] = ()) -> pa.Table:
    """The pii stage over one batch: same rows, same order; `pii_counts` filled, and in `redact` mode the
    PII replaced. `extra_roles`: speaker labels that are roles in this job (its `roles:` keys)."""
    if spec.mode == "off" or table.num_rows == 0:
        return table
    found = detect_batch(table, spec, extra_roles)
    table = _set(table, "pii_counts", _counts_column(found.plan.counts))
    if spec.mode == "flag" or (not found.plan.replacements and found.plan.speaker_placeholders.height == 0):
        return table
    return _redact(table, found)


def _patch(values: pa.Array, positions: np.ndarray, new: list[str]) -> pa.Array:
    """`values` with the strings at `positions` (sorted) replaced, in one Arrow pass."""
    if len(positions) == 0:
        return values
    mask = np.zeros(len(values), dtype=bool)
    mask[positions] = True
    return pc.replace_with_mask(values.cast(pa.string()), pa.array(mask), pa.array(new, pa.string()))


def _redact(table: pa.Table, found: Detected) -> pa.Table:
    """Write the plan: changed texts, relabelled speakers, and the dialogues whose turns changed rendered
    again (only those: most of a batch has nothing to redact). Untouched strings are not copied through Python."""
    result = found.plan
    changed = np.array(sorted(result.replacements), dtype=np.int64)
    new = [apply(t or "", result.replacements[u])
           for u, t in zip(changed.tolist(), found.units.gather(changed).to_list(), strict=True)]
    n_text = len(found.text_rows)
    in_text = changed < n_text
    text = _patch(as_array(table.column("text")), found.text_rows[changed[in_text]],
                  [t for t, keep in zip(new, in_text, strict=True) if keep])
    speakers_to = result.speaker_placeholders
    turns_changed = changed[~in_text] - n_text
    if len(turns_changed) or speakers_to.height:
        values = found.turns.flatten()
        new_fields = {"text": _patch(values.field("text"), turns_changed,
                                     [t for t, keep in zip(new, in_text, strict=True) if not keep])}
        if speakers_to.height:
            speaker = values.field("speaker")
            new_fields["speaker"] = _relabel(pl.from_arrow(speaker).cast(pl.String), found.parents,
                                             speakers_to).to_arrow().cast(pa.string())
            role_raw = values.field("role_raw")
            # the readers set role_raw to the speaker label: relabel it the same way without a second join
            same = pc.all(pc.equal(speaker, role_raw)).as_py() and speaker.null_count == role_raw.null_count
            new_fields["role_raw"] = new_fields["speaker"] if same else _relabel(
                pl.from_arrow(role_raw).cast(pl.String), found.parents, speakers_to).to_arrow().cast(pa.string())
        turns = replace_children(found.turns, new_fields)
        table = _set(table, "turns", turns)
        # a dialogue's text is its turns rendered, as normalisation rendered it: render the changed ones again
        rows = np.union1d(found.parents[turns_changed], speakers_to["row"].to_numpy()).astype(np.int64)
        rows = rows[found.rendered[rows]]
        rendered = render_dialogues(turns.take(pa.array(rows, pa.int64())), len(rows)) if len(rows) else []
        text = _patch(text, rows, rendered.to_pylist() if len(rows) else [])
        speakers_col = as_array(table.column("speakers"))
        if speakers_col.null_count < len(speakers_col) and speakers_to.height:
            s_values, s_parents = flat_children(speakers_col)
            relabelled = _relabel(pl.from_arrow(s_values.field("speaker")).cast(pl.String), s_parents, speakers_to)
            table = _set(table, "speakers", replace_children(speakers_col, {"speaker": relabelled.to_arrow()}))
    return _set(table, "text", text.cast(pa.string()))


def _pii(table: pa.Table, settings: Settings) -> pa.Table:
    return pii_stage(table, settings.pii, settings.roles)


PII = Stage("pii", reads=("text", "turns", "speakers"), adds=("text", "turns", "speakers", "pii_counts"), apply=_pii,
            active=lambda s: s.pii.mode != "off")
