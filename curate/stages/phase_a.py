"""Phase A, per batch and streaming: normalise → rule signals and drop reasons → exact hash → MinHash.

`phase_a_batch` is what the engine maps over record batches; rule sets load once per worker process.
"""

from __future__ import annotations

import pyarrow as pa

from curate.faults import contain, inject, mark_failed
from curate.job import NormalizeSpec
from curate.schema import PIECE, conform
from curate.stages.crossdoc import line_columns
from curate.stages.dedup import signature_columns
from curate.stages.hashing import exact_hash
from curate.stages.minhash import MinHashParams
from curate.stages.normalize import normalize
from curate.stages.rules import apply_rules, global_rule_kinds, load_rule_sets


def run_phase_a(table: pa.Table, rule_files: list[str], norm: NormalizeSpec,
                minhash: MinHashParams | None = None) -> pa.Table:
    """The pure phase-A function: same rows, same order, columns filled.

    With `minhash`, the dedup work columns (signature, band keys, text length) are added for live rows.
    """
    rule_sets = load_rule_sets(rule_files)
    table = normalize(conform(table), norm)
    table = apply_rules(table, rule_sets)
    return add_work_columns(exact_hash(table), rule_sets, minhash)


def add_work_columns(table: pa.Table, rule_sets: tuple, minhash: MinHashParams | None) -> pa.Table:
    """The checkpoint's work columns: text length and MinHash for dedup, line hashes for whole-run rules."""
    work = signature_columns(table, minhash)
    kinds = global_rule_kinds(rule_sets)
    if kinds:
        work |= line_columns(table, kinds)
    for name, col in work.items():
        table = table.append_column(name, col)
    return table


def phase_a_batch(batch: pa.Table, rule_files: list[str], norm: NormalizeSpec,
                  minhash: MinHashParams | None = None) -> pa.Table:
    """Phase A for `map_batches`, fault-contained: a record the stages fail on becomes a `processing_error`
    reject (see `curate.faults.contain`). The read task's `_piece` column passes through untouched."""
    piece = batch.column(PIECE) if PIECE in batch.column_names else None
    if piece is not None:
        batch = batch.drop_columns([PIECE])

    def stage(t: pa.Table) -> pa.Table:
        inject("phase_a", t)
        return run_phase_a(t, rule_files, norm, minhash)

    def failed(row: pa.Table, summary: str) -> pa.Table:
        # same work columns as the rows that succeeded, empty for this one
        return add_work_columns(mark_failed(conform(row), summary), load_rule_sets(rule_files), minhash)

    out = contain(stage, batch, failed)
    return out.append_column(PIECE, piece) if piece is not None else out
