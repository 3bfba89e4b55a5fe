"""What the export card reports, accumulated batch by batch: records per source and kind, label
distributions (record and turn level, from the schema's label sets), score summaries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from curate.schema import record_schema

COUNTED = ("source", "kind")


def record_label_columns() -> list[str]:
    """Top-level string columns that carry a label set (domain, emotion, sentiment, ...), plus the flags
    `toxic` and `risk_unaddressed`."""
    return [f.name for f in record_schema().fields if f.labels and f.name != "kind"] + ["toxic", "risk_unaddressed"]


def turn_label_fields() -> list[str]:
    """Fields of the turn struct that carry a label set (role, emotion, dialogue_act, strategy, ...)."""
    return [f.name for f in record_schema().structs["turn"] if f.labels]


def score_columns() -> list[str]:
    """The float scores of the `scores` group (quality, toxicity, esc_relevance)."""
    return [f.name for f in record_schema().fields if f.group == "scores" and f.type == "float32"]


def stats_columns(schema: pl.Schema) -> list[str]:
    """The columns the accumulator reads (those present in the shards)."""
    cols = [*COUNTED, *record_label_columns(), *score_columns(), "turns"]
    return [c for c in dict.fromkeys(cols) if c in schema]


SCORE_BINS = 10  # the scores are 0-1: their distribution in bins of 0.1 (the last one closed)


@dataclass
class ScoreSummary:
    """Count, nulls, sum, min, max and a 10-bin histogram of one 0-1 score over the exported records."""

    n: int = 0
    nulls: int = 0
    total: float = 0.0
    lo: float | None = None
    hi: float | None = None
    counts: list[int] = field(default_factory=lambda: [0] * SCORE_BINS)

    def add(self, col: pl.Series) -> None:
        """Fold one batch's column in."""
        present = col.drop_nulls()
        self.nulls += col.len() - present.len()
        if present.len():
            self.n += present.len()
            self.total += float(present.sum())
            lo, hi = float(present.min()), float(present.max())  # type: ignore[arg-type]
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)
            bins = np.clip((present.to_numpy().astype(np.float64) * SCORE_BINS).astype(np.int64), 0, SCORE_BINS - 1)
            self.counts = (np.asarray(self.counts) + np.bincount(bins, minlength=SCORE_BINS)).tolist()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"n": self.n, "nulls": self.nulls, "mean": round(self.total / self.n, 4) if self.n else None,
                "min": None if self.lo is None else round(self.lo, 4), "max": None if self.hi is None else round(self.hi, 4),
                "histogram": {"edges": [round(i / SCORE_BINS, 2) for i in range(SCORE_BINS + 1)], "counts": self.counts}}


@dataclass
class ExportStats:
    """Distributions over the records an export wrote (not over the rows: alpaca writes one row per turn)."""

    by: dict[str, Counter[str]] = field(default_factory=dict)
    turn_labels: dict[str, Counter[str]] = field(default_factory=dict)
    scores: dict[str, ScoreSummary] = field(default_factory=dict)

    def add(self, batch: pl.DataFrame) -> None:
        """Fold in the records of one batch that were exported."""
        for col in [*COUNTED, *record_label_columns()]:
            if col in batch.columns:
                counts = self.by.setdefault(col, Counter())
                for value, n in batch[col].value_counts().iter_rows():
                    counts["(null)" if value is None else str(value).lower() if isinstance(value, bool) else value] += n
        for col in score_columns():
            if col in batch.columns:
                self.scores.setdefault(col, ScoreSummary()).add(batch[col])
        if "turns" in batch.columns:
            turns = batch.select(pl.col("turns").explode()).filter(pl.col("turns").is_not_null()).unnest("turns")
            for name in turn_label_fields():
                if name in turns.columns:
                    counts = self.turn_labels.setdefault(name, Counter())
                    for value, n in turns[name].value_counts().iter_rows():
                        counts["(null)" if value is None else value] += n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, most frequent first."""
        def ordered(c: Counter[str]) -> dict[str, int]:
            return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

        return {"records": {k: ordered(v) for k, v in self.by.items()},
                "turns": {k: ordered(v) for k, v in self.turn_labels.items()},
                "scores": {k: v.to_dict() for k, v in self.scores.items()}}
