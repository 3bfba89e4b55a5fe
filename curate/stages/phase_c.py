"""Phase C, per checkpoint shard: dedup decisions, then whole-run rules (scores and tags join here as they land)."""

from __future__ import annotations

from functools import lru_cache

import polars as pl
import pyarrow as pa

from curate.schema import conform
from curate.stages import crossdoc
from curate.stages.dedup import apply_dedup
from curate.stages.rules import apply_global_rules, load_rule_sets


@lru_cache(maxsize=4)
def _read(path: str) -> pl.DataFrame:
    # read once per worker process; phase B writes each file once and never changes it
    return pl.read_parquet(path)


def phase_c_batch(batch: pa.Table, decisions: str | None, dup_lines: str | None = None,
                  rule_files: list[str] | None = None) -> pa.Table:
    """One checkpoint shard → final record rows (work columns dropped)."""
    if decisions:
        batch = apply_dedup(batch, _read(decisions))
    if dup_lines and crossdoc.LINE_HASHES in batch.column_names:
        frac, computed = crossdoc.dup_paragraph_frac(batch, _read(dup_lines)["line"])
        batch = apply_global_rules(batch, load_rule_sets(rule_files or []), {crossdoc.SIGNAL: frac}, computed)
    return conform(batch)
