"""Support-strategy tagger data (ESConv's 8 strategies, Liu et al. 2021) for SMILECHAT counselor turns.

There is no Chinese strategy-labelled corpus in the shared data, so:

* **train** = weak labels: every non-empty counselor turn of SMILECHAT, labelled by `weak_label` (the cue
  lists of `classifiers/train/strategy-cues.yaml`, applied with the annotation guide's dominance rules),
  except turns where no cue fires (dropped) and every turn of the hand-labelled dialogues (dropped, so
  valid is never seen in training, not even its neighbours).
* **valid** = the hand labels (`classifiers/annotations/strategy-hand-labels.jsonl`): counselor turns read
  and labelled by a person following `classifiers/annotations/strategy-guide.md`. The file holds
  references (dialogue id, turn index, sha1 prefix of the content), never text; the text is resolved from
  the data here and checked against the sha1 (a mismatch is an error naming the line).

Each example's `context` is the dialogue's previous turns, oldest first (the config's `features.context`
says how many of them the model sees). Everything is in file order and deterministic.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from curate.annotations import SMILECHAT, GoldTurn, load_smilechat, resolve
from curate.assets import resolve_asset
from curate.models.examples import Example, Splits

LABELS = ("Question", "Restatement or Paraphrasing", "Reflection of Feelings", "Self-disclosure",
          "Affirmation and Reassurance", "Providing Suggestions", "Information", "Others")
QUESTION, RESTATE, SELF, SUGGEST, INFO, OTHERS = LABELS[0], LABELS[1], LABELS[3], LABELS[5], LABELS[6], LABELS[7]
CUES_ASSET = "train/strategy-cues.yaml"
HAND_ASSET = "annotations/strategy-hand-labels.jsonl"
FEATURE_CHOICE = (
    "chars, context 0. On the 314 hand-labelled turns (fastText dim 64, wordNgrams 2, epoch 10, quantised, seed 1): "
    "chars/ctx0 accuracy 0.621 macro-F1 0.433; chars/ctx1 0.615 / 0.462; words/ctx0 0.618 / 0.433; words/ctx1 "
    "0.618 / 0.451. Accuracy differs by 2 turns of 314; the macro-F1 spread comes from the 3 Self-disclosure and 8 "
    "Restatement turns (one hit moves macro-F1 by ~0.06), so none is better beyond noise. Chars need no segmenter "
    "and share the batch's chars features; context 0 needs no previous turn at inference and trains in half the time."
)
_SENT = re.compile(r"[^。！？!?；;…\n]+[。！？!?；;…]*")


class Cues:
    """The compiled cue file (see the comments at the top of strategy-cues.yaml for how it is applied)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        cues = doc["cues"]
        unknown = set(cues) - set(LABELS) - {"question_not"}
        if unknown:
            raise ValueError(f"strategy cues: unknown label(s) {sorted(unknown)}")
        self.patterns = {lab: [re.compile(p) for p in cues.get(lab) or []] for lab in LABELS}
        self.question_not = [re.compile(p) for p in cues.get("question_not") or []]
        self.priority = list(doc["sentence_priority"])
        self.tie_break = list(doc["tie_break"])
        for name in ("sentence_priority", "tie_break"):
            if sorted(doc[name]) != sorted(LABELS):
                raise ValueError(f"strategy cues: {name} must list the 8 labels once each")
        self.rules = dict(doc.get("rules") or {})

    def sentence_label(self, sent: str, prev_bigrams: set[str]) -> str | None:
        for lab in self.priority:
            if lab == QUESTION:
                if any(p.search(sent) for p in self.patterns[lab]) and not any(p.search(sent) for p in self.question_not):
                    return lab
                continue
            if any(p.search(sent) for p in self.patterns[lab]):
                return lab
            if lab == RESTATE and prev_bigrams and _overlap(sent, prev_bigrams) >= float(self.rules.get("restatement_overlap", 0.7)) \
                    and len(sent) >= int(self.rules.get("restatement_min_chars", 12)):
                return lab
        return None

    def label(self, text: str, prev: str | None) -> str | None:
        sents = [s.strip() for s in _SENT.findall(" ".join((text or "").split())) if s.strip()]
        prev_bigrams = _bigrams(prev or "")
        tagged = [(lab, len(s)) for s in sents if (lab := self.sentence_label(s, prev_bigrams))]
        if not tagged:
            return None
        r = self.rules
        weight: Counter[str] = Counter()
        for lab, n in tagged:
            weight[lab] += n
        if set(weight) == {OTHERS}:
            return OTHERS
        total = sum(weight.values())
        content = total - weight[OTHERS]
        if weight[SELF] and weight[SUGGEST] < float(r.get("self_disclosure_max_suggestion", 0.5)) * total:
            return SELF
        last = [lab for lab, _ in tagged if lab != OTHERS][-1]
        n_lead = sum(lab != OTHERS for lab, _ in tagged) - 1
        if (last == QUESTION and not weight[SUGGEST] and weight[INFO] < float(r.get("question_max_information", 0.4)) * content
                and n_lead <= int(r.get("question_max_leadin", 3))):
            return QUESTION
        if weight[SUGGEST] >= float(r.get("suggestion_share", 0.33)) * content:
            return SUGGEST
        best = max(weight[lab] for lab in LABELS if lab != OTHERS)
        margin = float(r.get("tie_margin", 0.1)) * content
        return next(lab for lab in self.tie_break if lab != OTHERS and weight[lab] >= best - margin)


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[\s，。！？、,.!?；;：:“”\"'（）()…~～]", "", text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def _overlap(sent: str, prev_bigrams: set[str]) -> float:
    b = _bigrams(sent)
    return len(b & prev_bigrams) / len(b) if b else 0.0


@cache
def _cues(path: str) -> Cues:
    return Cues(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def load_cues(path: str | Path | None = None) -> Cues:
    """The cue file (default `classifiers/train/strategy-cues.yaml`), compiled once per path."""
    return _cues(str(Path(path) if path else resolve_asset(CUES_ASSET, "classifiers")))


def weak_label(text: str, prev: str | None = None) -> str | None:
    """The weak strategy label of one supporter turn (`prev`: the client turn before it), or None when
    no cue fires (the turn is then not used for training)."""
    return load_cues().label(text, prev)


def _prev_client(turns: list[dict], i: int) -> str | None:
    return next((str(turns[j].get("content") or "") for j in range(i - 1, -1, -1) if turns[j]["role"] == "client"), None)


def _context(turns: list[dict], i: int) -> tuple[str, ...]:
    return tuple(" ".join(str(t.get("content") or "").split()) for t in turns[:i])


def _hand_examples(dialogues: dict[str, list[dict]], path: Path) -> list[tuple[GoldTurn, Example, str | None]]:
    """The checked hand labels (`curate.annotations.resolve`) with their context and the client turn before."""
    out = []
    for g in resolve(path, dialogues, "counselor", LABELS):
        turns = dialogues[g.dialogue_id]
        text = " ".join(g.text.split())
        out.append((g, Example((g.label,), text, _context(turns, g.turn)), _prev_client(turns, g.turn)))
    return out


def _paths(cfg: dict[str, Any], data_root: Path) -> tuple[Path, Path]:
    smile = data_root / cfg.get("smilechat", SMILECHAT)
    hand = resolve_asset(cfg.get("hand_labels", HAND_ASSET), "classifiers")
    return smile, hand


def hand_labels(data_root: Path | str, cfg: dict[str, Any] | None = None) -> list[Example]:
    """The hand-labelled turns as examples (text resolved from SMILECHAT and sha1-checked), in file order."""
    smile, hand = _paths(cfg or {}, Path(data_root))
    return [ex for _, ex, _ in _hand_examples(load_smilechat(smile), hand)]


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """Weak-labelled SMILECHAT counselor turns (hand-labelled dialogues excluded) → train; hand labels → valid."""
    smile, hand = _paths(cfg, data_root)
    dialogues = load_smilechat(smile)
    hand_items = _hand_examples(dialogues, hand)
    held = {g.dialogue_id for g, _, _ in hand_items}
    valid = [ex for _, ex, _ in hand_items]
    cues_path = resolve_asset(cfg.get("cues", CUES_ASSET), "classifiers")
    cues = load_cues(cues_path)
    train: list[Example] = []
    skipped = Counter()
    for did, turns in dialogues.items():
        if did in held:
            skipped["hand_labelled_dialogue_turns"] += sum(t["role"] == "counselor" for t in turns)
            continue
        for i, t in enumerate(turns):
            if t["role"] != "counselor":
                continue
            text = " ".join(str(t.get("content") or "").split())
            if not text:
                continue
            lab = cues.label(text, _prev_client(turns, i))
            if lab is None:
                skipped["no_cue"] += 1
                continue
            train.append(Example((lab,), text, _context(turns, i)))
    notes = {
        "recipe": ("train: SMILECHAT counselor turns weak-labelled by the cue lists of classifiers/train/strategy-cues.yaml "
                   "(curate/models/training_data/strategy.py weak_label), turns with no cue dropped, the hand-labelled dialogues "
                   "excluded; valid: the hand-labelled turns of classifiers/annotations/strategy-hand-labels.jsonl "
                   "(guide: classifiers/annotations/strategy-guide.md), so valid metrics are agreement with one annotator."),
        "skipped": dict(skipped),
        "cues_sha256": hashlib.sha256(cues_path.read_bytes()).hexdigest(),
        "hand_labels_sha256": hashlib.sha256(hand.read_bytes()).hexdigest(),
    }
    notes["feature_choice"] = FEATURE_CHOICE
    return Splits(train, valid, notes)
