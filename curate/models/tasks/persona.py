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
from curate.models.tasks import cped


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """CPED train.csv → train, valid.csv → valid (unseen shows, unseen speakers)."""
    column = str(cfg["field"])
    if column not in cped.PERSONA_FIELDS:
        raise ValueError(f"persona: field {column!r} is not one of {cped.PERSONA_FIELDS}")
    notes: dict[str, object] = {
        "recipe": f"CPED (dialogue, speaker) units: the speaker's turns joined by newlines, labelled with {column}; "
                  "unknown kept as a label (the unnamed 其他 speakers)",
        "speakers": "36 named speakers in train, 16 in valid, disjoint",
    }
    return cped.build_splits(cfg, data_root, lambda ds: cped.speaker_examples(ds, column), notes)
