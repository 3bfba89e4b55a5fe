"""The decontaminate stage: records that share text with the job's evaluation sets are rejected as
`contaminated` (or, with `mode: flag`, kept and marked).

`prepare` runs once in the driver: it reads every evaluation file (`curate.io.evalsets`), normalises its texts
as the normalize stage does and indexes their character n-grams (`curate.stages.contamination`); the index
travels to the workers inside the phase's settings, which Ray puts in its object store once. `apply` is one
compiled pass per batch over the batch's texts, looking up every `threshold`-th window and following each hit
to the ends of its run; only the records it finds get the detail (evaluation file and overlapping span).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array, flat_children
from curate.io.evalsets import eval_files, eval_texts, no_text_error
from curate.stages.base import Settings, Stage
from curate.stages.contamination import (
    EvalSource,
    NgramIndex,
    build_index,
    distinct,
    index_texts,
    longest_span,
    match,
)
from curate.stages.normalize import normalize_texts

CONTAMINATED = "contaminated"
BY, DETAIL = "contaminated_by", "contamination"
SPAN_SHOWN = 60  # characters of the overlapping span quoted in the detail

log = logging.getLogger("curate")


def build_eval_index(settings: Settings, max_record_bytes: int = 8_000_000) -> NgramIndex:
    """The n-gram index of the job's evaluation files (texts normalised with the job's settings)."""
    spec = settings.decontaminate
    assert spec is not None
    files = eval_files(spec.against)
    parts: list[tuple[int, np.ndarray]] = []
    sources: list[EvalSource] = []
    for i, f in enumerate(files):
        records = texts = 0
        file_parts: list[np.ndarray] = []
        for chunk, n_records in eval_texts(f, max_record_bytes):
            records += n_records
            texts += len(chunk)
            normal, _ = normalize_texts(pl.from_arrow(chunk).cast(pl.String), settings.normalize)
            file_parts.append(index_texts(normal.to_arrow(), spec.ngram))
        if not records:
            raise no_text_error(f)
        hashes = distinct(np.concatenate(file_parts)) if file_parts else np.zeros(0, np.uint64)
        parts.append((i, hashes))
        sources.append(EvalSource(f.name, f.path, records, texts, len(hashes)))
    index = build_index(parts, spec.ngram, sources)
    log.info("decontaminate: %d distinct %d-grams from %d evaluation file(s)", len(index), spec.ngram, len(files))
    return index


def prepare(settings: Settings) -> Settings:
    """The settings with the evaluation index (driver, once per run)."""
    return replace(settings, eval_index=build_eval_index(settings))


def scanned_texts(table: pa.Table, live: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The texts the stage looks at and the row of each: a live web record's text, every turn of a live
    dialogue (a row's rendered dialogue text would join turns with speaker names into false n-grams)."""
    kind = np.asarray(table.column("kind").to_numpy(zero_copy_only=False))
    dialogue = kind == "dialogue"
    web_rows = np.flatnonzero(live & ~dialogue)
    texts = [as_array(table.column("text")).take(pa.array(web_rows))]
    rows = [web_rows]
    if (live & dialogue).any():
        values, parents = flat_children(table.column("turns"))
        keep = (live & dialogue)[parents]
        texts.append(pc.filter(values.field("text"), pa.array(keep)))
        rows.append(parents[keep])
    return pa.concat_arrays([pc.fill_null(t.cast(pa.string()), "") for t in texts]), np.concatenate(rows)


def decontaminate(table: pa.Table, settings: Settings) -> pa.Table:
    """Mark (flag) or reject (drop) the live records with an overlap of at least `threshold` consecutive
    n-grams in one of their texts; `contaminated_by` names the evaluation file, `contamination` the overlap."""
    spec, index = settings.decontaminate, settings.eval_index
    if spec is None or index is None:
        raise RuntimeError("decontaminate: the evaluation index was not built (Phase.prepare runs before the phase)")
    n = table.num_rows
    live = pc.is_null(table.column("drop_reason")).to_numpy(zero_copy_only=False)
    texts, rows = scanned_texts(table, live)
    m = match(texts, index, stride=spec.threshold)  # a run of `threshold` windows always holds a probed one
    # per row, the unit with the longest run (first such unit): one argmax over the units sorted by row
    best_unit = np.full(n, -1, dtype=np.int64)
    hit_units = np.flatnonzero(m.longest >= spec.threshold)
    if len(hit_units):
        order = hit_units[np.lexsort((-m.longest[hit_units], rows[hit_units]))]
        first = np.concatenate(([True], rows[order][1:] != rows[order][:-1]))
        best_unit[rows[order[first]]] = order[first]
    hit_rows = np.flatnonzero(best_unit >= 0)
    by: list[str | None] = [None] * n
    detail: list[str | None] = [None] * n
    files = index.files
    for r in hit_rows:  # the few contaminated records only
        unit = int(best_unit[r])
        span = longest_span(m, unit, index, files)
        assert span is not None
        shown = span.text if len(span.text) <= SPAN_SHOWN else span.text[:SPAN_SHOWN] + "…"
        by[r] = span.file
        detail[r] = (f"{len(span.text)} characters ({int(m.longest[unit])} consecutive {index.n}-grams) shared "
                     f"with {span.file}: \"{shown}\"")
    table = table.set_column(table.schema.get_field_index(BY), BY, pa.array(by, pa.string()))
    table = table.set_column(table.schema.get_field_index(DETAIL), DETAIL, pa.array(detail, pa.string()))
    if spec.mode == "drop" and len(hit_rows):
        mask = np.zeros(n, dtype=bool)
        mask[hit_rows] = True
        hit = pa.array(mask)
        for col, value in (("drop_reason", pa.array([CONTAMINATED] * n, pa.string())),
                           ("drop_detail", pa.array(detail, pa.string()))):
            table = table.set_column(table.schema.get_field_index(col), col,
                                     pc.if_else(hit, value, as_array(table.column(col))))
    return table


DECONTAMINATE = Stage("decontaminate", reads=("text", "turns", "kind"), adds=(BY, DETAIL, "drop_reason", "drop_detail"),
                      apply=decontaminate, prepare=prepare, active=lambda s: s.decontaminate is not None)
