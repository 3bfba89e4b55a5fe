"""Emotion examples from CPED: one per utterance, CPED's 13 `Emotion` labels, previous turns as context.

See `curate.models.tasks.cped` for the reading, the by-show split and the optional oversampling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.models.examples import Splits
from curate.models.tasks import cped

NOTES: dict[str, object] = {
    "recipe": "CPED utterances labelled with Emotion (13 classes, neutral-dominated); context = previous turns.",
    "feature_choice": (
        "characters, word n-grams 2, no context: CPED's emotion labels come from voice and face as much as "
        "words, and text alone is weak on unseen shows. Valid accuracy / macro-F1 (unquantised, epoch 5, "
        "lr 0.3, dim 64, minCount 2; bench/cped_experiments.py): chars context 0 0.274/0.128, context 1 "
        "0.279/0.118, context 2 0.269/0.113; words context 0/1/2 0.254/0.120, 0.252/0.120, 0.257/0.121. "
        "Majority baseline (neutral) 0.269/0.033. Rare-class oversampling alpha 0.15/0.25/0.5: 0.255/0.134, "
        "0.247/0.131, 0.220/0.130 (not used: accuracy falls below the baseline for <1 pt macro-F1)"),
}


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """CPED train.csv → train, valid.csv → valid (unseen shows)."""
    return cped.build_splits(cfg, data_root, lambda ds: cped.turn_examples(ds, lambda t: t.labels["Emotion"]), NOTES)
