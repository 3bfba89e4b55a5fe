"""Lexicon backend: weighted word lists → per-label probabilities, for bootstrapping and as a feature.

A lexicon file (YAML) gives, per label, a bias and word weights:
    labels: {offensive: {bias: -2.0, words: {词: 1.5, ...}}, safe: {bias: 0.0, words: {}}}
A label's probability is sigmoid(bias + Σ weight of each distinct listed word present). Matching is one
Aho-Corasick pass over the batch (Polars `extract_many`), lower-cased, as the sensitive-word signal does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import yaml


class LexiconClassifier:
    """`predict_proba(texts)` from weighted word lists; rows are normalised for single-label tasks."""

    def __init__(self, path: Path, labels: Sequence[str], multi_label: bool = False) -> None:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        spec = doc.get("labels") or {}
        unknown = set(spec) - set(labels)
        if unknown:
            raise ValueError(f"{path}: lexicon label(s) {sorted(unknown)} are not in the card's labels {list(labels)}")
        self.labels = list(labels)
        self.multi_label = multi_label
        self.bias = np.array([float((spec.get(lab) or {}).get("bias", 0.0)) for lab in self.labels])
        weights: dict[str, np.ndarray] = {}
        for j, lab in enumerate(self.labels):
            for word, w in ((spec.get(lab) or {}).get("words") or {}).items():
                key = str(word).lower()
                weights.setdefault(key, np.zeros(len(self.labels)))[j] += float(w)
        self.words = sorted(weights)
        self.weights = np.stack([weights[w] for w in self.words]) if self.words else np.zeros((0, len(self.labels)))

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """Probabilities (n × labels)."""
        n = len(texts)
        z = np.tile(self.bias, (n, 1))
        if self.words and n:
            found = (pl.Series(list(texts), dtype=pl.String).fill_null("").str.to_lowercase()
                     .str.extract_many(self.words, overlapping=True).list.unique())
            counts = found.list.len().fill_null(0).to_numpy()
            word_index = {w: i for i, w in enumerate(self.words)}
            flat = found.explode().drop_nulls()
            idx = flat.replace_strict(word_index, return_dtype=pl.Int64).to_numpy()
            rows = np.repeat(np.arange(n), counts)
            np.add.at(z, rows, self.weights[idx])
        p = 1 / (1 + np.exp(-z))
        if not self.multi_label:
            p = p / p.sum(axis=1, keepdims=True)
        return p.astype(np.float32)
