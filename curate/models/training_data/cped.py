"""Shared CPED reading for the affect taggers (emotion, sentiment, dialogue act) and the persona models.

CPED (scutcyr/CPED): one utterance per row, rows of one dialogue share `Dialogue_ID` and are in order.
The shared copy is split by TV show (`cped/train.csv`: shows 27–32, 39, 40; `cped/valid.csv`: shows 44,
45, unseen in train), so valid measures transfer to new shows and new speakers. Files are read in place
from the data root; nothing is copied.

* Per-turn examples (`turn_examples`): one per utterance, its label from one column, `context` = the
  texts of the previous turns of the same dialogue, oldest first (the trainer keeps only the last
  `features.context` of them).
* Per-speaker units (`speaker_examples`): all of one speaker's turns in one dialogue joined by newlines,
  labelled with that speaker's persona column (Gender, Age, a Big Five trait); CPED's `unknown` stays a
  label (it marks the unnamed `其他` speakers).
* `oversample`: deterministic duplication of rare-class training examples (never applied to valid), then a
  seeded shuffle so that duplicates are not bunched at the end of the file fastText reads in order.

Config keys read from the task config's `data:` mapping (all builders): `train`, `valid` (paths relative to
the data root), `shuffle` (seeded shuffle of train, default true), `oversample` (`{alpha, max_factor}`, or
absent for none), `seed`.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.models.examples import Example, Splits

# In the shared data Sentiment is a pure function of Emotion (data README); this is that function.
SENTIMENT_OF_EMOTION: dict[str, str] = {
    **dict.fromkeys(("happy", "grateful", "relaxed", "positive-other"), "positive"),
    "neutral": "neutral",
    **dict.fromkeys(("anger", "sadness", "fear", "depress", "disgust", "astonished", "worried", "negative-other"),
                    "negative"),
}
PERSONA_FIELDS = ("Gender", "Age", "Neuroticism", "Extraversion", "Openness", "Agreeableness", "Conscientiousness")


@dataclass(frozen=True)
class Turn:
    """One utterance: speaker name, text, and the row's label columns (Emotion, DA, Gender, …)."""

    speaker: str
    text: str
    labels: dict[str, str]


@dataclass
class Dialogue:
    """One CPED dialogue: its id, TV show and turns in order."""

    id: str
    tv_id: str
    turns: list[Turn] = field(default_factory=list)


def read_dialogues(path: Path, columns: tuple[str, ...] = ("Emotion", "Sentiment", "DA", *PERSONA_FIELDS)) -> list[Dialogue]:
    """Dialogues of a CPED csv in file order, turns in file order (CPED's rows are already in order); each
    turn keeps the label `columns`."""
    dialogues: dict[str, Dialogue] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            d = dialogues.get(row["Dialogue_ID"])
            if d is None:
                d = dialogues[row["Dialogue_ID"]] = Dialogue(row["Dialogue_ID"], row["TV_ID"])
            text = (row["Utterance"] or "").strip()
            labels = {k: (row.get(k) or "").strip() for k in columns}
            d.turns.append(Turn(row["Speaker"], text, labels))
    return list(dialogues.values())


def turn_examples(dialogues: Iterable[Dialogue], label_of: Callable[[Turn], str],
                  context_of: str = "previous") -> list[Example]:
    """One example per non-empty turn. `context_of="previous"`: `context` = the texts of all previous turns
    of its dialogue; `"speaker"`: one context item, the same speaker's other turns of the dialogue (what the
    tag stage gives a model whose card says `features.context_of: speaker`)."""
    out = []
    for d in dialogues:
        texts = [t.text for t in d.turns]
        for i, t in enumerate(d.turns):
            if not t.text:
                continue
            if context_of == "speaker":
                context = (speaker_context([u.text for j, u in enumerate(d.turns) if u.speaker == t.speaker and j != i]),)
            else:
                context = tuple(x for x in texts[:i] if x)
            out.append(Example((label_of(t),), t.text, context))
    return out


def speaker_context(other_turns: Iterable[str]) -> str:
    """The speaker context of a turn: the same speaker's other turns of the dialogue, joined (one source of
    truth for training and the tag stage)."""
    return "".join(x for x in other_turns if x)


def speaker_examples(dialogues: Iterable[Dialogue], column: str) -> list[Example]:
    """One example per (dialogue, speaker), speakers in order of first turn: their turns joined by
    newlines, labelled with the speaker's `column` (its first turn's value; CPED gives one per speaker)."""
    out = []
    for d in dialogues:
        turns: dict[str, list[str]] = {}
        label: dict[str, str] = {}
        for t in d.turns:
            if t.text:
                turns.setdefault(t.speaker, []).append(t.text)
                label.setdefault(t.speaker, t.labels[column])
        out.extend(Example((label[s],), "\n".join(texts)) for s, texts in turns.items())
    return out


def oversample(examples: list[Example], alpha: float, max_factor: float) -> list[Example]:
    """Rare classes repeated: class c gets factor min(max_factor, (n_max / n_c) ** alpha), i.e. each
    example floor(f) times plus one more for every 1/(f - floor f)-th example (deterministic, no RNG)."""
    counts = Counter(ex.labels[0] for ex in examples)
    n_max = max(counts.values())
    factor = {lab: min(max_factor, (n_max / n) ** alpha) for lab, n in counts.items()}
    seen: Counter[str] = Counter()
    out = []
    for ex in examples:
        lab = ex.labels[0]
        f = factor[lab]
        whole = int(f)
        seen[lab] += 1
        extra = int(seen[lab] * (f - whole)) - int((seen[lab] - 1) * (f - whole))  # spreads the fraction evenly
        out.extend([ex] * (whole + extra))
    return out


def build_splits(cfg: dict[str, Any], data_root: Path, make: Callable[[list[Dialogue]], list[Example]],
                 notes: dict[str, object]) -> Splits:
    """Train from `cfg['train']`, valid from `cfg['valid']`, through `make`; optional oversampling and a
    seeded shuffle of train; the recipe recorded in the notes."""
    train = make(read_dialogues(data_root / cfg.get("train", "cped/train.csv")))
    valid = make(read_dialogues(data_root / cfg.get("valid", "cped/valid.csv")))
    n_train = len(train)
    over = cfg.get("oversample")
    if over:
        train = oversample(train, float(over.get("alpha", 0.5)), float(over.get("max_factor", 4.0)))
    if cfg.get("shuffle", True):
        random.Random(int(cfg.get("seed", 1))).shuffle(train)
    notes = {
        "data": "CPED (scutcyr/CPED, Apache-2.0), shared copy split by TV show: train = shows 27-32, 39, 40 "
                "(upstream valid+test rows), valid = shows 44, 45 (unseen shows and speakers)",
        "train_examples_before_oversampling": n_train,
        **({"oversample": dict(over)} if over else {}),
        **notes,
        **(cfg.get("notes") or {}),  # the config's own notes (how its settings were chosen)
    }
    return Splits(train, valid, notes)
