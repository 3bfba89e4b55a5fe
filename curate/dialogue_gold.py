"""Hand ratings of whole dialogues stored as references to SMILECHAT and EmoLLM, and the checks that keep them honest.

A gold row names a dialogue (`smilechat-N`, or `emollm-I` for the I-th item of EmoLLM's `data.json`), its
`sha1` (the first 12 hex digits of the sha1 of its turn contents joined by newlines, as `dialogue_sha12`
computes it over the turns `load_dialogues` gives), a `rating` (1-5), its `part` (`select` or `test`) and
a short note; never the text. The turns are read from the data root in place and checked against the
sha1 here, for the annotation tool (`annotate/dialogue_quality_sample.py`), the model's trainer and
`evals/dialogue_quality.py`.

EmoLLM's turns are those the pipeline reads (style xtuner: the system prompt when set, then each item's
`input` and `output`), their `role` the key; SMILECHAT's are its own (`client` / `counselor`): both as
`curate.annotations` reads them for the turn-level gold files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curate import annotations
from curate.annotations import EMOLLM, SMILECHAT, read_rows

RATINGS = (1, 2, 3, 4, 5)
# the supporter's role as each source spells it (SMILECHAT's `role`, EmoLLM's xtuner key; the seeker's:
# `curate.annotations.SEEKER_ROLES`)
SUPPORTER_ROLES = ("counselor", "output")


@dataclass(frozen=True)
class GoldDialogue:
    """One resolved gold row: the dialogue, its turns (role, content), rating and part."""

    dialogue_id: str
    turns: list[dict]
    rating: int
    part: str
    note: str


def dialogue_sha12(turns: list[dict]) -> str:
    """The reference hash of a dialogue: first 12 hex digits of the sha1 of its turn contents joined by "\\n"."""
    return hashlib.sha1("\n".join(t["content"] for t in turns).encode("utf-8")).hexdigest()[:12]


def load_dialogues(data_root: Path) -> dict[str, list[dict]]:
    """Dialogue id → turns, SMILECHAT and EmoLLM (their ids never collide)."""
    return annotations.load_dialogues(data_root, (SMILECHAT, EMOLLM))


def problems(rows: list[dict], dialogues: dict[str, list[dict]],
             part_of: Callable[[str], str] | None = None) -> list[str]:
    """What is wrong with gold rows, as "line N: …" (`curate.annotations.dialogue_problems`, the whole
    dialogue's sha1 and a rating of 1-5)."""
    return annotations.dialogue_problems(rows, dialogues, dialogue_sha12, "rating", RATINGS, part_of)


def read_gold_dialogues(path: Path, data_root: Path) -> list[GoldDialogue]:
    """The rows of a dialogue gold file with their turns; the first problem is an error naming the file and line."""
    rows = read_rows(path)
    dialogues = load_dialogues(data_root)
    found = problems(rows, dialogues)
    if found:
        raise ValueError(f"{path}: {found[0]}" + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""))
    return [GoldDialogue(r["dialogue_id"], dialogues[r["dialogue_id"]], int(r["rating"]), r["part"], r.get("note", ""))
            for r in rows]
