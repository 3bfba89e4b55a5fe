"""Typed placeholders, consistent within a record: equal values get one placeholder in every turn, different
values different numbers (`<PHONE_1>`, `<PHONE_2>`); a dialogue's named speakers are numbered first."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from curate.pii.config import PiiRules
from curate.pii.detect import Finding


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Findings sorted by text and offset, overlaps merged: the earlier start wins (then a speaker name, then
    the longer span) and grows to cover what it overlaps, so nothing found is left half visible."""
    ordered = sorted(findings, key=lambda f: (f.unit, f.start, f.detector != "speaker", f.start - f.end))
    out: list[Finding] = []
    for f in ordered:
        if out and out[-1].unit == f.unit and f.start < out[-1].end:
            if f.end > out[-1].end:
                out[-1] = replace(out[-1], end=f.end)
            continue
        out.append(f)
    return out


@dataclass
class Plan:
    """What the stage writes: counts per record and type; each named speaker's placeholder (columns row, label,
    to); per text that changes, its replacements (start, end, placeholder) in order."""

    counts: np.ndarray  # records × types, int32
    speaker_placeholders: pl.DataFrame
    replacements: dict[int, list[tuple[int, int, str]]]


def plan(findings: Sequence[Finding], unit_rows: np.ndarray, speakers: pl.DataFrame, n_rows: int,
         types: Sequence[str], rules: PiiRules) -> Plan:
    """Number each record's distinct values per label in order of first appearance, speakers first.

    `findings` are sorted by text and offset and do not overlap; `speakers` has columns row, speaker."""
    label_of = pl.DataFrame({"type": list(rules.labels), "label": list(rules.labels.values())})
    entries = pl.concat([
        speakers.select("row", type=pl.lit("name"), key="speaker", unit=pl.lit(-1, pl.Int64),
                        start=pl.lit(-1, pl.Int64), end=pl.lit(-1, pl.Int64)),
        pl.DataFrame({"row": unit_rows[[f.unit for f in findings]].astype(np.int64) if findings else [],
                      "type": [f.type for f in findings], "key": [f.key for f in findings],
                      "unit": [f.unit for f in findings], "start": [f.start for f in findings],
                      "end": [f.end for f in findings]},
                     schema={"row": pl.Int64, "type": pl.String, "key": pl.String, "unit": pl.Int64,
                             "start": pl.Int64, "end": pl.Int64}),
    ]).with_row_index("order").join(label_of, on="type", how="left", maintain_order="left")
    # the template's pieces in order: {TYPE} is the label, {n} the number, the rest literal text
    pieces = [pl.col("label") if t == "{TYPE}" else pl.col("n").cast(pl.String) if t == "{n}" else pl.lit(t)
              for t in re.split(r"(\{TYPE\}|\{n\})", rules.placeholder) if t]
    numbered = (entries.group_by("row", "label", "key").agg(pl.col("order").min())
                .sort("row", "order")
                .with_columns(n=pl.col("order").cum_count().over("row", "label"))
                .select("row", "label", "key", to=pl.concat_str(pieces)))
    entries = entries.join(numbered, on=["row", "label", "key"], how="left", maintain_order="left")

    counts = np.zeros((n_rows, len(types)), dtype=np.int32)
    per_type = entries.group_by("row", "type").len()
    type_index = {t: i for i, t in enumerate(types)}
    cols = np.array([type_index[t] for t in per_type["type"].to_list()], dtype=np.int64)
    counts[per_type["row"].to_numpy(), cols] = per_type["len"].to_numpy()

    speaker_to = entries.filter(pl.col("unit") < 0).select("row", label="key", to="to")
    replacements: dict[int, list[tuple[int, int, str]]] = {}
    spans = entries.filter(pl.col("unit") >= 0)
    for unit, start, end, to in zip(*(spans[c].to_list() for c in ("unit", "start", "end", "to")), strict=True):
        replacements.setdefault(unit, []).append((start, end, to))
    return Plan(counts, speaker_to, replacements)


def apply(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) span replaced (spans sorted, not overlapping)."""
    pieces, pos = [], 0
    for start, end, repl in spans:
        pieces += [text[pos:start], repl]
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)
