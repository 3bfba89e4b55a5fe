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
    "feature_choice": "TBD",
}


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """CPED train.csv → train, valid.csv → valid (unseen shows)."""
    return cped.build_splits(cfg, data_root, lambda ds: cped.turn_examples(ds, lambda t: t.labels["Emotion"]), NOTES)
