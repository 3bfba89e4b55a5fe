"""Toxicity examples from COLD (thu-coai/COLDataset): `label` 1 = offensive, 0 = safe; train.csv / dev.csv as given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.models.evaluate import read_labelled
from curate.models.examples import Splits


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """COLD train → train, COLD dev → valid (model selection only; COLD's test split is not here)."""
    train = read_labelled(data_root / cfg["train"], cfg["label_values"])
    valid = read_labelled(data_root / cfg["valid"], cfg["label_values"])
    notes = {"recipe": "COLD as published: Weibo/Zhihu comments on race, region and gender, labelled offensive (1) or safe (0).",
             "feature_choice": "characters with word n-grams up to 3 (character trigrams): see bench/README.md, classifiers"}
    return Splits(train, valid, notes)
