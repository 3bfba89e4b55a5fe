"""Phase C, per checkpoint shard: apply the run's dedup decisions (scores and tags join here as they land)."""

from __future__ import annotations

from functools import lru_cache

import polars as pl
import pyarrow as pa

from curate.schema import conform
from curate.stages.dedup import apply_dedup


@lru_cache(maxsize=2)
def _decisions(path: str) -> pl.DataFrame:
    # read once per worker process; the file is written once by phase B and never changes
    return pl.read_parquet(path)


def phase_c_batch(batch: pa.Table, decisions: str | None) -> pa.Table:
    """One checkpoint shard → final record rows (work columns dropped)."""
    if decisions:
        batch = apply_dedup(batch, _decisions(decisions))
    return conform(batch)
