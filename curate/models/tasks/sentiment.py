"""Sentiment examples from CPED: one per utterance, positive / neutral / negative, previous turns as context.

In the shared data Sentiment is a pure function of Emotion (`cped.SENTIMENT_OF_EMOTION`); the label is
read from the `Sentiment` column. See `curate.models.tasks.cped` for the reading and the by-show split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.models.examples import Splits
from curate.models.tasks import cped

NOTES: dict[str, object] = {
    "recipe": "CPED utterances labelled with Sentiment (3 classes); context = previous turns.",
    "feature_choice": "TBD",
}


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """CPED train.csv → train, valid.csv → valid (unseen shows)."""
    return cped.build_splits(cfg, data_root, lambda ds: cped.turn_examples(ds, lambda t: t.labels["Sentiment"]), NOTES)
