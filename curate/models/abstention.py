"""`min_confidence`: below which top probability a tag's label is withheld (null; its scores stay).

A card or a job gives it as one number for every label, or as a mapping from label to number with an optional
`default` for the labels it does not name: a label whose predictions are often wrong needs more confidence
than one that is rarely wrong. 1 means the label is never emitted (a model is never certain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MinConfidence = float | dict[str, float]
DEFAULT = "default"
# the keys a card or a job gives thresholds under: per unit (turn, sentence), and for the record-level tag (the
# weighted mean over a record's units), which uses the first where it has none of its own
CONFIDENCE_KEYS = ("min_confidence", "record_min_confidence")


def check_min_confidence(value: Any, labels: Sequence[str], where: str) -> MinConfidence:
    """`value` as a `min_confidence` for a model with `labels`; a ValueError naming `where` and what is wrong."""
    def unit(v: Any, at: str) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"{at}: must be a number from 0 to 1, got {v!r}")
        return float(v)

    if not isinstance(value, Mapping):
        return unit(value, where)
    unknown = set(value) - set(labels) - {DEFAULT}
    if unknown:
        raise ValueError(f"{where}: unknown label(s) {sorted(unknown)}; expected some of {[*labels, DEFAULT]}")
    return {str(k): unit(v, f"{where}.{k}") for k, v in value.items()}


def label_floors(min_confidence: MinConfidence | None, labels: Sequence[str]) -> np.ndarray:
    """The threshold of each of `labels` (in that order): infinite where it is 1, so that label is never emitted."""
    if isinstance(min_confidence, Mapping):
        default = float(min_confidence.get(DEFAULT, 0.0))
        floors = np.array([float(min_confidence.get(lab, default)) for lab in labels])
    else:
        floors = np.full(len(labels), float(min_confidence or 0.0))
    return np.where(floors >= 1.0, np.inf, floors)


def withheld(scores: np.ndarray, floors: np.ndarray | float) -> np.ndarray:
    """Per row, whether its arg-max label is withheld: its probability is below that label's floor (`floors`: one
    number, one per label, or one per row and label)."""
    if not len(scores):
        return np.zeros(0, dtype=bool)
    rows = np.arange(len(scores))
    top = scores.argmax(axis=1)
    return scores[rows, top] < np.broadcast_to(floors, scores.shape)[rows, top]


def describe(min_confidence: MinConfidence | None) -> str:
    """One line for listings: the number, or the per-label thresholds (`label 0.50`, never-emitted labels last)."""
    if not isinstance(min_confidence, Mapping):
        return f"{float(min_confidence or 0.0):.2f}"
    labels = {k: v for k, v in min_confidence.items() if k != DEFAULT}
    named = sorted(((k, v) for k, v in labels.items() if v < 1.0), key=lambda kv: kv[1])
    never = sorted(k for k, v in labels.items() if v >= 1.0)
    rest = float(min_confidence.get(DEFAULT, 0.0))
    return ", ".join([*(f"{k} {v:.2f}" for k, v in named), *([f"never: {' '.join(never)}"] if never else []),
                      "other labels " + ("never" if rest >= 1.0 else f"{rest:.2f}")])


def choose_per_label(labels: Sequence[str], gold: Sequence[str], proba: np.ndarray, grid: Sequence[float],
                     target: float, min_emitted: int) -> dict[str, float]:
    """Per label, the smallest threshold in `grid` at which that label's predictions (at least `min_emitted` of
    them) are right at least `target` of the time; 1 (never emitted) where none is. Every label is named."""
    top = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    right = np.asarray(labels)[top] == np.asarray(gold)
    out: dict[str, float] = {}
    for j, lab in enumerate(labels):
        out[lab] = 1.0
        for t in grid:
            m = (top == j) & (conf >= t)
            if m.sum() >= min_emitted and right[m].mean() >= target:
                out[lab] = float(t)
                break
    return out
