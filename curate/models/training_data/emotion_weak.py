"""The seeker-emotion weak labeller: cue phrases per CPED emotion (`classifiers/train/emotion-cues.yaml`).

A turn's weak label is the label with the most cue hits (ties: the file's order); a turn with a
continuing-problem marker (但是… 还是难受) never takes a positive label, as the annotation guide's §3 says;
a turn with no hit gives no example. On the hand-labelled `select` part it covers 65 % of turns and is right
on 55 % of those (77 % six-way), which is why it is used for training only, never for evaluation.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import yaml

from curate.models.examples import Example
from curate.models.training_data import training_asset


class EmotionCues:
    """The compiled cue file."""

    def __init__(self, doc: dict) -> None:
        self.order = list(doc["cues"])
        self.cues = {lab: [re.compile(p) for p in pats] for lab, pats in doc["cues"].items()}
        self.continuing = re.compile(doc["continuing_problem"])
        self.positive = set(doc["positive_labels"])

    def label(self, text: str) -> str | None:
        """The weak label of one turn, or None when no cue fires."""
        hits = {lab: sum(1 for p in pats if p.search(text)) for lab, pats in self.cues.items()}
        if self.continuing.search(text):
            for lab in self.positive:
                hits[lab] = 0
        best = max(hits.values())
        if best == 0:
            return None
        return next(lab for lab in self.order if hits[lab] == best)


@cache
def load_cues(name: str) -> EmotionCues:
    """The cue file shipped beside the training configs."""
    return EmotionCues(yaml.safe_load(training_asset(name).read_text(encoding="utf-8")))


def weak_examples(path: Path, cues: str, exclude: set[str] = frozenset()) -> list[Example]:
    """Weakly labelled client turns of SMILECHAT (`path`), skipping the dialogues in `exclude`."""
    labeller = load_cues(cues)
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            if str(d["id"]) in exclude:
                continue
            for t in d["turns"]:
                if t["role"] != "client" or not (t.get("content") or "").strip():
                    continue
                lab = labeller.label(t["content"])
                if lab:
                    out.append(Example((lab,), t["content"]))
    return out
