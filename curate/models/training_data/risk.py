"""Crisis-risk tagger data: help-seekers' turns of SMILECHAT and EmoLLM, weakly labelled by the cue lexicon.

* **train** = every non-empty seeker turn (SMILECHAT `client`, EmoLLM `input`) outside the hand-labelled
  dialogues, labelled by `curate.models.risk_cues` (`classifiers/train/risk-cues.yaml`): every `high` and
  `concern` turn, and `none` turns drawn (seeded) at `none_per_flagged` per flagged turn (nearly all turns
  are `none`; the rest would drown the two rare levels); plus, when `gold.repeat` > 0, the `select` part of
  the hand labels repeated that many times.
* **valid** = the `select` part of the hand labels (`classifiers/annotations/risk-hand-labels.jsonl`),
  model selection only. The `test` part is never read here: `experiments/risk.py` reports on it.

Every turn of a hand-labelled dialogue (both parts) is left out of the weak data, so neither part is seen,
not even through a neighbouring turn. Deterministic: file order, a seeded draw and shuffle.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from pathlib import Path
from typing import Any

from curate.annotations import EMOLLM, SEEKER_ROLES, SMILECHAT, GoldTurn, load_dialogues, read_gold_turns
from curate.models.examples import Example, Splits
from curate.models.risk_cues import CONCERN, HIGH, NONE, load_cues
from curate.models.training_data import training_asset
from curate.schema import label_set

GOLD = "risk-hand-labels.jsonl"
SOURCES = (SMILECHAT, EMOLLM)


def gold_turns(data_root: Path, name: str = GOLD) -> list[GoldTurn]:
    """The hand-labelled seeker turns (both parts), resolved and sha1-checked."""
    return read_gold_turns(name, data_root, SEEKER_ROLES, label_set("risk"), SOURCES)


def seeker_texts(dialogues: dict[str, list[dict]], exclude: set[str] = frozenset()) -> list[tuple[str, int, str]]:
    """(dialogue id, turn index, text) of every non-empty seeker turn outside `exclude`, in file order."""
    return [(did, i, t["content"]) for did, turns in dialogues.items() if did not in exclude
            for i, t in enumerate(turns) if t["role"] in SEEKER_ROLES and (t.get("content") or "").strip()]


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """Weak-labelled seeker turns (+ the gold select part, repeated) → train; the gold select part → valid."""
    seed = int(cfg.get("seed", 1))
    gold = gold_turns(data_root, cfg.get("gold", {}).get("file", GOLD))
    held = {g.dialogue_id for g in gold}
    select = [Example((g.label,), g.text) for g in gold if g.part == "select"]
    cues_name = cfg.get("cues", "risk-cues.yaml")
    cues = load_cues(cues_name)
    turns = seeker_texts(load_dialogues(data_root, cfg.get("sources", SOURCES)), held)
    hits = cues.read_batch([t for _, _, t in turns])
    by_level: dict[str, list[Example]] = {NONE: [], CONCERN: [], HIGH: []}
    for (_, _, text), hit in zip(turns, hits, strict=True):
        by_level[hit.level].append(Example((hit.level,), text))
    rng = random.Random(seed)
    n_none = min(len(by_level[NONE]), int(float(cfg.get("none_per_flagged", 3)) * (len(by_level[HIGH]) + len(by_level[CONCERN]))))
    train = by_level[HIGH] + by_level[CONCERN] + rng.sample(by_level[NONE], n_none)
    repeat = int(cfg.get("gold", {}).get("repeat", 0))
    train += select * repeat
    rng.shuffle(train)
    cues_path = training_asset(str(cues_name))
    notes = {
        "recipe": ("train: SMILECHAT client and EmoLLM input turns outside the hand-labelled dialogues, weak-labelled by "
                   "classifiers/train/risk-cues.yaml (curate/models/risk_cues.py): every high and concern turn, none turns "
                   f"drawn at {cfg.get('none_per_flagged', 3)} per flagged turn"
                   + (f", plus the gold select part x{repeat}" if repeat else "")
                   + "; valid: the gold select part (classifiers/annotations/risk-hand-labels.jsonl, guide "
                   "classifiers/annotations/risk-guide.md), selection only; the test part is reported by experiments/risk.py."),
        "weak_levels_all_turns": dict(Counter(h.level for h in hits)),
        "seeker_turns_read": len(turns),
        "cues_sha256": hashlib.sha256(cues_path.read_bytes()).hexdigest(),
    }
    notes.update(cfg.get("notes") or {})  # the config's own notes (experiments/risk.py's figures for this card)
    return Splits(train, select, notes)
