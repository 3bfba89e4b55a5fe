"""Written-register emotion and sentiment examples: help-seekers' messages, posts and reviews.

The TV-show taggers (CPED) are applied to long written first-person messages they never saw; this builder
mixes what the shared data has of written Chinese (see `classifiers/train/emotion.yaml` for the recipe):

* `cped`: CPED's train utterances (the 13 labels; they teach the labels EWECT lacks: worried, depress, …);
* `ewect`: SMP2020-EWECT Weibo posts, six emotions mapped onto CPED's labels by `label_maps.ewect`;
* `chnsenticorp`: ChnSentiCorp reviews, positive / negative (sentiment only);
* `smilechat_weak`: SMILECHAT help-seeker turns labelled by the cue lexicon `emotion-cues.yaml`
  (`curate.models.training_data.emotion_weak`), minus every turn of a hand-labelled dialogue;
* `gold`: the `select` part of the hand-labelled seeker turns, repeated `repeat` times; the `test` part is
  never read here.

Valid is a fixed ~10 % slice of the EWECT (and ChnSentiCorp) train files (by a hash of the text) plus the gold
`select` part when it is not trained on: model selection only. `selection_fold: K` (0-9, default 0) picks
which tenth is held out, for cross-validation over the train files (`experiments/affect_cv.py`); a source's
`repeat: N` writes its train examples N times (weighting). The reported figures use EWECT's dev files and the
gold `test` part (`curate eval`). For sentiment, every emotion label is mapped through
`cped.SENTIMENT_OF_EMOTION`. Deterministic: file order, a seeded shuffle.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

from curate.annotations import read_gold_turns
from curate.models.examples import Example, Splits
from curate.models.training_data import cped, emotion_weak
from curate.schema import label_set

SELECTION_FRACTION = 0.1
FOLDS = round(1 / SELECTION_FRACTION)


def selection_fold(text: str, salt: str) -> int:
    """Which tenth of a source's train file a text falls in; fold 0 is the same slice as
    `examples.in_valid(text, SELECTION_FRACTION, salt)`."""
    return xxhash.xxh64_intdigest(f"{salt}:{text}".encode()) % 10_000 // round(10_000 * SELECTION_FRACTION)


def read_tsv(path: Path, label_values: dict[str, str]) -> list[Example]:
    """`label<TAB>text` lines after a header (EWECT, ChnSentiCorp: split at the first tab, no quoting)."""
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if n == 1 or not line.strip():
                continue
            raw, sep, text = line.rstrip("\n").partition("\t")
            if not sep:
                raise ValueError(f"{path}:{n}: no tab between label and text")
            if raw.strip() not in label_values:
                raise ValueError(f"{path}:{n}: label {raw!r} not in the mapping {sorted(label_values)}")
            out.append(Example((label_values[raw.strip()],), text))
    return out


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """Train and selection examples for `cfg['target']` (`emotion` or `sentiment`)."""
    target = cfg.get("target", "emotion")
    relabel: Callable[[str], str] = (lambda lab: lab) if target == "emotion" else cped.SENTIMENT_OF_EMOTION.__getitem__
    maps = cfg.get("label_maps") or {}
    train: list[Example] = []
    valid: list[Example] = []
    counts: dict[str, int] = {}
    valid_counts: dict[str, int] = {}
    fold = int(cfg.get("selection_fold", 0))
    if not 0 <= fold < FOLDS:
        raise ValueError(f"selection_fold {fold} is not in 0..{FOLDS - 1}")

    def add(name: str, examples: list[Example], repeat: int = 1) -> None:
        """Examples labelled with CPED emotions, relabelled for the target."""
        counts[name] = len(examples)
        train.extend(Example((relabel(ex.labels[0]),), ex.text) for ex in examples for _ in range(repeat))

    if cfg.get("cped"):
        add("cped", cped.turn_examples(cped.read_dialogues(data_root / cfg["cped"]), lambda t: t.labels["Emotion"]))
    for name in ("ewect", "chnsenticorp"):
        spec = cfg.get(name)
        if not spec:
            continue
        # the config's label map gives the target's labels directly
        examples = [ex for f in spec["files"] for ex in read_tsv(data_root / f, {str(k): v for k, v in maps[name].items()})]
        sel = [selection_fold(ex.text, f"{name}-selection") == fold for ex in examples]
        counts[name] = sum(not s for s in sel)
        train.extend(ex for ex, s in zip(examples, sel, strict=True) if not s for _ in range(int(spec.get("repeat", 1))))
        valid.extend(ex for ex, s in zip(examples, sel, strict=True) if s)
        valid_counts[name] = sum(sel)
    gold_spec = cfg.get("gold")
    gold_dialogues: set[str] = set()
    if gold_spec:
        turns = read_gold_turns(gold_spec["file"], data_root, "client", label_set("emotion"))
        if gold_spec.get("rows"):  # the file grows by appending: a model keeps reading the rows it was made from
            turns = turns[:int(gold_spec["rows"])]
        gold_dialogues = {t.dialogue_id for t in turns}
        select = [Example((t.label,), t.text) for t in turns if t.part == "select"]
        if int(gold_spec.get("repeat", 0)):
            add("gold_select", select, int(gold_spec["repeat"]))
        else:
            valid.extend(Example((relabel(ex.labels[0]),), ex.text) for ex in select)
            valid_counts["gold_select"] = len(select)
    weak = cfg.get("smilechat_weak")
    if weak:
        add("smilechat_weak", emotion_weak.weak_examples(data_root / weak["path"], weak["cues"], exclude=gold_dialogues))
    random.Random(int(cfg.get("seed", 1))).shuffle(train)
    notes = {
        "data": "CPED train (Apache-2.0), SMP2020-EWECT usual+virus train minus a 10% selection slice (research use), "
                "ChnSentiCorp train (sentiment only; research use), SMILECHAT seeker turns weakly labelled by cue "
                "lexicon (CC0-1.0), hand-labelled SMILECHAT seeker turns (select part)",
        "examples_by_source": counts,
        "valid_by_source": valid_counts,  # valid holds these sources in this order
        "valid": "selection only: EWECT train slice (10% by text hash) "
                 + ("and ChnSentiCorp train slice" if cfg.get("chnsenticorp") else ""),
    }
    notes.update(cfg.get("notes") or {})  # the config's own notes (how its settings were chosen)
    return Splits(train, valid, notes)
