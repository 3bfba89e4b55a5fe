"""Dialogue-act examples from CPED: one per utterance, CPED's 19 `DA` labels, previous turns as context.

See `curate.models.tasks.cped` for the reading, the by-show split and the optional oversampling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.models.examples import Splits
from curate.models.tasks import cped

NOTES: dict[str, object] = {
    "recipe": "CPED utterances labelled with DA (19 classes); context = previous turns.",
    "feature_choice": (
        "characters, word n-grams 3, no context, rare classes oversampled. Valid accuracy / macro-F1 "
        "(unquantised, epoch 10, lr 0.3, minCount 2; bench/cped_experiments.py), no oversampling: chars "
        "context 0 0.546/0.329, context 1 0.537/0.262, context 2 0.524/0.222; words context 0/1/2 "
        "0.541/0.304, 0.532/0.282, 0.516/0.222. Majority baseline (statement-non-opinion) 0.414/0.031. "
        "Oversampling (class factor min(max_factor, (n_max/n)^alpha)), chars context 0 dim 32: alpha 0.3 "
        "0.544/0.342, alpha 0.5 0.549/0.355 (chosen), alpha 0.7 0.539/0.344, alpha 1.0 0.546/0.344; "
        "with context 1 and alpha 0.5: 0.541/0.305"),
}


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """CPED train.csv → train, valid.csv → valid (unseen shows)."""
    return cped.build_splits(cfg, data_root, lambda ds: cped.turn_examples(ds, lambda t: t.labels["DA"]), NOTES)
