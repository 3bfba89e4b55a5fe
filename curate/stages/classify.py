"""Scores: quality, domain, toxicity and ESC relevance for every kept record, from the job's model cards.

A stage over one batch that adds the score columns; rejected rows keep nulls (scores never drop rows,
selection happens at export). `Scorers` holds the loaded models: the pipeline constructs it once per Ray
actor, so models load once per worker, never per batch. All fastText models share one featurisation of
the batch (`FeatureCache`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.job import ModelSpec
from curate.models import SCORE_TASKS
from curate.models.classifier import Classifier, load_classifier
from curate.models.features import FeatureCache
from curate.schema import label_set


class Scorers:
    """The job's classifiers, loaded once; calling it scores a batch."""

    def __init__(self, specs: Mapping[str, ModelSpec]) -> None:
        unknown = set(specs) - set(SCORE_TASKS)
        if unknown:
            raise ValueError(f"unknown scoring task(s) {sorted(unknown)}; known: {list(SCORE_TASKS)}")
        self.models: dict[str, Classifier] = {task: load_classifier(spec.card) for task, spec in specs.items()}
        self.thresholds = {task: spec.threshold if spec.threshold is not None else (self.models[task].card.threshold or 0.5)
                           for task, spec in specs.items()}
        domain = self.models.get("domain")
        if domain is not None:
            order = label_set("domain")
            missing = set(order) - set(domain.labels)
            if missing:
                raise ValueError(f"{domain.card.path}: the domain model lacks label(s) {sorted(missing)}")
            self.domain_columns = [domain.labels.index(lab) for lab in order]
        self.versions = json.dumps({t: m.card.version_tag for t, m in sorted(self.models.items())}, ensure_ascii=False)

    def add_versions(self, models: Mapping[str, Classifier]) -> None:
        """Record further models (the taggers) in the per-row `models` column."""
        merged = {**json.loads(self.versions), **{t: m.card.version_tag for t, m in models.items()}}
        self.versions = json.dumps(dict(sorted(merged.items())), ensure_ascii=False)

    def __call__(self, batch: pa.Table) -> pa.Table:
        return score_batch(batch, self)


def _full(values: pa.Array, kept: np.ndarray, n: int) -> pa.Array:
    """Scatter values for the kept rows into an n-row array with nulls elsewhere."""
    if kept.all():
        return values
    idx = np.full(n, -1, dtype=np.int64)
    idx[np.flatnonzero(kept)] = np.arange(int(kept.sum()))
    return values.take(pa.array(idx, mask=idx < 0))


def score_batch(batch: pa.Table, scorers: Scorers) -> pa.Table:
    """Add the score columns of the job's tasks (plus `models`); rows with a `drop_reason` get nulls."""
    n = batch.num_rows
    if not scorers.models:
        return batch
    kept = pc.is_null(batch["drop_reason"]).to_numpy(zero_copy_only=False) if "drop_reason" in batch.column_names \
        else np.ones(n, dtype=bool)
    texts = batch["text"].filter(pa.array(kept)).to_pylist() if n else []
    cache = FeatureCache(texts)
    cols: dict[str, pa.Array] = {}
    for task, model in scorers.models.items():
        proba = model.predict_proba(texts, cache)
        if task == "domain":
            scores = proba[:, scorers.domain_columns].astype(np.float32)
            order = label_set("domain")
            top = np.asarray(order, dtype=object)[scores.argmax(axis=1)] if len(texts) else np.array([], dtype=object)
            flat = pa.array(scores.reshape(-1), type=pa.float32())
            offsets = pa.array(np.arange(0, scores.size + 1, len(order), dtype=np.int32))
            cols["domain_scores"] = _full(pa.ListArray.from_arrays(offsets, flat), kept, n)
            cols["domain"] = _full(pa.array(top.tolist(), type=pa.string()), kept, n)
            continue
        score = proba[:, model.labels.index(model.card.positive)]
        cols[task] = _full(pa.array(score.astype(np.float32)), kept, n)
        if task == "toxicity":
            cols["toxic"] = _full(pa.array(score >= scorers.thresholds[task]), kept, n)
    cols["models"] = _full(pa.array([scorers.versions] * len(texts), type=pa.string()), kept, n)
    for name, values in cols.items():
        if name in batch.column_names:
            batch = batch.set_column(batch.column_names.index(name), name, values)
        else:
            batch = batch.append_column(name, values)
    return batch
