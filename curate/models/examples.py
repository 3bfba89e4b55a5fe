"""Labelled examples for training and evaluation, and the deterministic helpers that split them.

A task's data builder (`curate/models/training_data/<task>.py`) returns `Splits`; the trainer turns each
`Example` into a fastText line and the evaluator scores the model on `Splits.valid`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import xxhash


@dataclass(frozen=True)
class Example:
    """One labelled text: raw (unsegmented) text and one or more labels from the task's label list.

    `context` holds the turns before this one (oldest first) for per-turn taggers whose card says
    `features.context: N`; other tasks leave it empty.
    """

    labels: tuple[str, ...]
    text: str
    context: tuple[str, ...] = ()


@dataclass
class Splits:
    """What a task builder returns: train and valid examples, plus notes for the model card (counts, recipe)."""

    train: list[Example]
    valid: list[Example]
    notes: dict[str, object] = field(default_factory=dict)
    # examples that fit a binary model's calibration; empty: `curate train` slices train. With
    # `calibration_fold` (one fold id per calibration example) and `train_fold` (one per train example, -1 for
    # examples every fold trains on), they are also in train and are scored out of fold (cross-fitting)
    calibration: list[Example] = field(default_factory=list)
    calibration_fold: list[int] = field(default_factory=list)
    train_fold: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """Label counts per split, for the card."""
        return {name: dict(sorted(Counter(lab for ex in exs for lab in ex.labels).items()))
                for name, exs in (("train", self.train), ("valid", self.valid))}


def in_valid(key: str, fraction: float, salt: str = "curate") -> bool:
    """Deterministic split by a stable key (a dialogue id, a URL): the same key lands in the same split."""
    return xxhash.xxh64_intdigest(f"{salt}:{key}".encode()) % 10_000 < fraction * 10_000


def split_by_key(items: Iterable[tuple[str, Example]], valid_fraction: float, salt: str = "curate") -> Splits:
    """Split (key, example) pairs by key, so all examples of one source document share a split."""
    train: list[Example] = []
    valid: list[Example] = []
    for key, ex in items:
        (valid if in_valid(key, valid_fraction, salt) else train).append(ex)
    return Splits(train, valid)
