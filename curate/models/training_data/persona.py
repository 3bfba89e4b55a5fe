"""Persona examples from CPED, one builder for the 7 speaker fields (gender, age group, Big Five traits).

The config's `data: {field: Neuroticism, ...}` names the CPED column. Unit = all of one speaker's turns
in one dialogue joined by newlines (what the pipeline scores per speaker), labelled with that speaker's
column; CPED's `unknown` stays a label. CPED has few distinct speakers (36 in train, 16 in valid, none
shared: valid is unseen shows), so these models learn speaker style from few people: read the valid
numbers against the majority baseline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.models.examples import Splits
from curate.models.training_data import cped

CHARS_VS_WORDS = {
    "Gender": "0.464/0.354 vs 0.486/0.382 (majority 0.484/0.218)",
    "Age": "0.504/0.168 vs 0.505/0.200 (majority 0.506/0.168; train has no children, teenager or elderly speakers)",
    "Neuroticism": "0.407/0.307 vs 0.512/0.385 (majority 0.665/0.266)",
    "Extraversion": "0.565/0.292 vs 0.564/0.319 (majority 0.581/0.245)",
    "Openness": "0.493/0.328 vs 0.504/0.375 (majority 0.499/0.222)",
    "Agreeableness": "0.607/0.306 vs 0.590/0.299 (majority 0.626/0.257)",
    "Conscientiousness": "0.674/0.359 vs 0.644/0.381 (majority 0.691/0.273)",
}


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """CPED train.csv → train, valid.csv → valid (unseen shows, unseen speakers)."""
    column = str(cfg["field"])
    if column not in cped.PERSONA_FIELDS:
        raise ValueError(f"persona: field {column!r} is not one of {cped.PERSONA_FIELDS}")
    notes: dict[str, object] = {
        "recipe": f"CPED (dialogue, speaker) units: the speaker's turns joined by newlines, labelled with {column}; "
                  "unknown kept as a label (the unnamed 其他 speakers)",
        "speakers": "36 named speakers in train, 16 in valid, disjoint",
        "feature_choice": "rjieba words, word bigrams: valid accuracy / macro-F1, chars vs words (unquantised, "
                          "epoch 5, lr 0.3, minCount 2; experiments/cped.py): " + CHARS_VS_WORDS[column],
    }
    return cped.build_splits(cfg, data_root, lambda ds: cped.speaker_examples(ds, column), notes)
