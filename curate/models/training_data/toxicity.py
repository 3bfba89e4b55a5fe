"""Toxicity examples from COLD (thu-coai/COLDataset): `label` 1 = offensive, 0 = safe; train.csv / dev.csv as given.

Optionally (`data.counselling` in the training config) SMILECHAT counselling turns are added to train as
`safe`: COLD alone teaches the model that talk of family, blame, anger and self-harm is offensive, so it
flagged ordinary counselling text. The turns come only from dialogues outside a held-out set chosen by
dialogue id (`held_out`), where `experiments/toxicity_counselling.py` measures the flag rate; valid stays
COLD dev, so the card's metrics are COLD's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xxhash

from curate.annotations import SMILECHAT, load_smilechat
from curate.models.evaluate import read_labelled
from curate.models.examples import Example, Splits, in_valid
from curate.models.training_data.headlines import headline_examples
from curate.models.training_data.web_gold import doc_key, gold_documents

HOLDOUT_FRACTION = 0.3
HOLDOUT_SALT = "toxicity-smilechat"
ROLES = ("counselor", "client")


def smilechat_dialogues(path: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(dialogue id, [(role, text), ...]) for each SMILECHAT dialogue, in file order."""
    for did, turns in load_smilechat(path).items():
        yield did, [(str(t.get("role")), str(t.get("content") or "")) for t in turns]


def held_out(dialogue_id: str, counselling: dict[str, Any] | None = None) -> bool:
    """True for the SMILECHAT dialogues never trained on (the counselling flag rate is measured on them)."""
    c = counselling or {}
    return in_valid(dialogue_id, float(c.get("holdout_fraction", HOLDOUT_FRACTION)), str(c.get("salt", HOLDOUT_SALT)))


def counselling_turns(c: dict[str, Any], data_root: Path) -> dict[str, list[str]]:
    """`c["ROLE_turns"]` distinct turns per role from the dialogues outside the held-out set, taken in the
    order of a hash of (salt, dialogue id, turn index): deterministic, and a smaller sample is a prefix of a
    larger one."""
    want = {role: int(c.get(f"{role}_turns", 0)) for role in ROLES}
    if not any(want.values()):
        return {role: [] for role in ROLES}
    salt = str(c.get("salt", HOLDOUT_SALT))
    pool: dict[str, list[tuple[int, str]]] = {role: [] for role in ROLES}
    for did, turns in smilechat_dialogues(data_root / c.get("path", SMILECHAT)):
        if held_out(did, c):
            continue
        for i, (role, text) in enumerate(turns):
            if role in pool and text.strip():
                pool[role].append((xxhash.xxh64_intdigest(f"{salt}:{did}:{i}".encode()), text.strip()))
    out: dict[str, list[str]] = {}
    for role in ROLES:
        seen: set[str] = set()
        picked: list[str] = []
        for _, text in sorted(pool[role]):
            if len(picked) >= want[role]:
                break
            if text not in seen:
                seen.add(text)
                picked.append(text)
        if len(picked) < want[role]:
            raise ValueError(f"toxicity: asked for {want[role]} SMILECHAT {role} turns, only {len(picked)} distinct ones outside the held-out dialogues")
        out[role] = picked
    return out


def interleave(base: list[Example], extra: list[Example]) -> list[Example]:
    """`base` in its order with `extra` spread evenly through it (SGD sees both all through each epoch)."""
    out: list[Example] = []
    n, m, j = len(base), len(extra), 0
    for i, ex in enumerate(base):
        while j < m and (2 * j + 1) * n < (2 * i + 1) * m:
            out.append(extra[j])
            j += 1
        out.append(ex)
    return out + extra[j:]


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """COLD train (+ SMILECHAT counselling turns as `safe`) → train, COLD dev → valid (model selection only;
    COLD's test split is not here)."""
    train = read_labelled(data_root / cfg["train"], cfg["label_values"])
    valid = read_labelled(data_root / cfg["valid"], cfg["label_values"])
    notes: dict[str, object] = {
        "recipe": "COLD as published: Weibo/Zhihu comments on race, region and gender, labelled offensive (1) or safe (0).",
        "feature_choice": "characters with word n-grams up to 3 (character trigrams): see bench/README.md, classifiers"}
    c = cfg.get("counselling") or {}
    turns = counselling_turns(c, data_root)
    if any(turns.values()):
        safe = [[Example(("safe",), t) for t in turns[role]] for role in ROLES]
        train = interleave(train, interleave(*safe))
        notes["recipe"] += (
            f" Plus {len(turns['counselor'])} SMILECHAT counselor and {len(turns['client'])} client turns as safe,"
            f" from dialogues outside the held-out {c.get('holdout_fraction', HOLDOUT_FRACTION):g}"
            f" (in_valid(id, salt={c.get('salt', HOLDOUT_SALT)!r})), spread evenly through COLD train.")
    web = web_safe(cfg.get("web") or {}, data_root)
    if web:
        train = interleave(train, web)
        notes["recipe"] += (f" Plus {len(web)} web texts as safe (THUCNews headlines and the web gold set's select "
                            "documents, classifiers/annotations/web-hand-labels.jsonl), spread evenly through train.")
    notes.update(cfg.get("notes") or {})
    return Splits(train, valid, notes)


def web_safe(w: dict[str, Any], data_root: Path) -> list[Example]:
    """Real web text as `safe` (`w`: `headlines` spec, `gold` spec): news headlines of every category and
    the web gold set's select documents, less those a reader found rude or vulgar (`gold.exclude`, keys
    `file:line`); COLD alone flags crime reports, gender and sex topics and angry reviews on the web."""
    rng = random.Random(int(w.get("seed", 1)))
    texts = [ex.text for _, ex in headline_examples(w.get("headlines") or {}, data_root, rng)]
    exclude = set((w.get("gold") or {}).get("exclude") or ())
    texts += [d.text.strip() for d in gold_documents(w.get("gold") or {}, data_root) if doc_key(d) not in exclude]
    rng.shuffle(texts)
    return [Example(("safe",), t) for t in texts if t]
