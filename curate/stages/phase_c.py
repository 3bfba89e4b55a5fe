"""Phase C, per checkpoint shard: dedup decisions, whole-run rules, then scores for the survivors."""

from __future__ import annotations

from functools import lru_cache

import polars as pl
import pyarrow as pa

from curate.job import ScoreSpec
from curate.schema import conform
from curate.stages import crossdoc
from curate.stages.classify import Scorers
from curate.stages.dedup import apply_dedup
from curate.stages.rules import apply_global_rules, load_rule_sets


@lru_cache(maxsize=4)
def _read(path: str) -> pl.DataFrame:
    # read once per worker process; phase B writes each file once and never changes it
    return pl.read_parquet(path)


def phase_c_batch(batch: pa.Table, decisions: str | None, dup_lines: str | None = None,
                  rule_files: list[str] | None = None, scorers: Scorers | None = None) -> pa.Table:
    """One checkpoint shard → final record rows (work columns dropped); `scorers` scores the kept rows."""
    if decisions:
        batch = apply_dedup(batch, _read(decisions))
    if dup_lines and crossdoc.LINE_HASHES in batch.column_names:
        frac, computed = crossdoc.dup_paragraph_frac(batch, _read(dup_lines)["line"])
        batch = apply_global_rules(batch, load_rule_sets(rule_files or []), {crossdoc.SIGNAL: frac}, computed)
    if scorers is not None:
        batch = scorers(batch)
    return conform(batch)


class PhaseC:
    """Phase C as a Ray actor: the job's models load once in the constructor, then every shard reuses them."""

    def __init__(self, decisions: str | None, dup_lines: str | None, rule_files: list[str],
                 scores: dict[str, ScoreSpec]) -> None:
        self.args = (decisions, dup_lines, rule_files)
        self.scorers = Scorers(scores) if scores else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        return phase_c_batch(batch, *self.args, scorers=self.scorers)
