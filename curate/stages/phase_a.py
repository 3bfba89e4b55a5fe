"""Phase A, per batch and streaming: normalise → rule signals and drop reasons → exact hash → MinHash.

`phase_a_batch` is what the engine maps over record batches; rule sets load once per worker process.
"""

from __future__ import annotations

import traceback

import pyarrow as pa
import pyarrow.compute as pc

from curate.job import NormalizeSpec
from curate.schema import conform
from curate.stages.crossdoc import line_columns
from curate.stages.dedup import signature_columns
from curate.stages.hashing import exact_hash
from curate.stages.minhash import MinHashParams
from curate.stages.normalize import normalize
from curate.stages.rules import apply_rules, global_rule_kinds, load_rule_sets

PROCESSING_ERROR = "processing_error"


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
    """Phase A for `map_batches`, fault-contained.

    A batch that fails is split in halves and retried, down to single rows, so one bad record becomes a
    `processing_error` reject with the exception summary instead of losing the batch (k bad rows cost
    about k·log2(n) retries, not n).
    """
    try:
        return run_phase_a(batch, rule_files, norm, minhash)
    except Exception:
        if batch.num_rows <= 1:
            return _one_row(batch, rule_files, norm, minhash)
        half = batch.num_rows // 2
        return pa.concat_tables([phase_a_batch(batch.slice(0, half), rule_files, norm, minhash),
                                 phase_a_batch(batch.slice(half), rule_files, norm, minhash)])


def _one_row(row: pa.Table, rule_files: list[str], norm: NormalizeSpec, minhash: MinHashParams | None) -> pa.Table:
    try:
        return run_phase_a(row, rule_files, norm, minhash)
    except Exception as e:  # the record is kept in the rejects with what went wrong
        summary = "".join(traceback.format_exception_only(type(e), e)).strip()
        row = conform(row)
        live = pc.is_null(row.column("drop_reason"))
        reason = pc.if_else(live, pa.scalar(PROCESSING_ERROR), row.column("drop_reason"))
        detail = pc.if_else(live, pa.scalar(f"{PROCESSING_ERROR}: {summary[:500]}"), row.column("drop_detail"))
        row = row.set_column(row.schema.get_field_index("drop_reason"), "drop_reason", reason)
        row = row.set_column(row.schema.get_field_index("drop_detail"), "drop_detail", detail)
        # same work columns as the rows that succeeded, empty for this one
        return add_work_columns(row, load_rule_sets(rule_files), minhash)
