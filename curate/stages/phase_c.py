"""Phase C, per checkpoint shard: dedup decisions, whole-run rules, then scores and affect tags for the survivors."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from curate.faults import contain, inject, mark_failed
from curate.job import ModelSpec
from curate.models.features import segments_for_batch
from curate.schema import conform
from curate.stages import crossdoc
from curate.stages.dedup import apply_dedup
from curate.stages.rules import apply_global_rules, load_rule_sets

if TYPE_CHECKING:  # the model stages import scipy and the model runtimes: only a run with models loads them
    from curate.stages.classify import Scorers
    from curate.stages.tag import Taggers


@lru_cache(maxsize=4)
def _read(path: str) -> pl.DataFrame:
    # read once per worker process; phase B writes each file once and never changes it
    return pl.read_parquet(path)


def phase_c_batch(batch: pa.Table, decisions: str | None, dup_lines: str | None = None,
                  rule_files: list[str] | None = None, scorers: Scorers | None = None,
                  taggers: Taggers | None = None) -> pa.Table:
    """One checkpoint shard → final record rows (work columns dropped); `scorers` and `taggers` fill the
    score and affect columns of the kept rows. Fault-contained: a record the stages fail on becomes a
    `processing_error` reject (`curate.faults.contain`)."""

    def stage(t: pa.Table) -> pa.Table:
        inject("phase_c", t)
        if decisions:
            t = apply_dedup(t, _read(decisions))
        if dup_lines and crossdoc.LINE_HASHES in t.column_names:
            frac, computed = crossdoc.dup_paragraph_frac(t, _read(dup_lines)["line"])
            t = apply_global_rules(t, load_rule_sets(rule_files or []), {crossdoc.SIGNAL: frac}, computed)
        with segments_for_batch():  # the domain and persona models read the same words: segment them once
            if scorers is not None:
                t = scorers(t)
            if taggers is not None:
                t = taggers(t)
        return conform(t)

    return contain(stage, batch, lambda row, summary: mark_failed(conform(row), summary))


class PhaseC:
    """Phase C as a Ray actor: the job's models load once in the constructor, then every shard reuses them."""

    def __init__(self, decisions: str | None, dup_lines: str | None, rule_files: list[str],
                 scores: dict[str, ModelSpec], tags: dict[str, ModelSpec] | None = None) -> None:
        from curate.stages.classify import Scorers
        from curate.stages.tag import Taggers

        self.args = (decisions, dup_lines, rule_files)
        self.scorers = Scorers(scores) if scores else None
        self.taggers = Taggers(tags) if tags else None
        if self.scorers and self.taggers:  # one `models` column per row names every model that touched it
            self.scorers.add_versions({**self.taggers.models,
                                       **{f"{t}-spoken": m for t, m in self.taggers.spoken.items()}})

    def __call__(self, batch: pa.Table) -> pa.Table:
        return phase_c_batch(batch, *self.args, scorers=self.scorers, taggers=self.taggers)
