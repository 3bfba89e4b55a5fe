"""Record-level (whole-dialogue) labels stored as references to SMILECHAT or EmoLLM dialogues, and their checks.

A row names a dialogue (`dialogue_id`), `sha1` (`curate.annotations.seeker_sha12` of its seeker turns),
its `label` (one of a label set), `part` (`select` or `test`) and a short English `note`; never the text.
The annotation tool (`annotate/emotion_record_sample.py`), `curate eval` and the tests resolve rows here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from curate.annotations import EMOLLM, SMILECHAT, dialogue_problems, load_dialogues, read_rows, seeker_sha12


@dataclass(frozen=True)
class GoldRecord:
    """One resolved row: the dialogue id, its turns (role, content), label and part."""

    dialogue_id: str
    turns: list[dict]
    label: str
    part: str


def problems(rows: list[dict], dialogues: dict[str, list[dict]], labels: Collection[str],
             part_of: Callable[[str], str] | None = None) -> list[str]:
    """What is wrong with record gold rows, as "line N: …" (`curate.annotations.dialogue_problems`, the seeker
    turns' sha1 and a label of `labels`)."""
    return dialogue_problems(rows, dialogues, seeker_sha12, "label", labels, part_of)


def read_gold_records(path: Path, data_root: Path, labels: Collection[str]) -> list[GoldRecord]:
    """The rows of a record gold file with their turns; the first problem is an error naming the file and line."""
    rows = read_rows(path)
    dialogues = load_dialogues(data_root, sources_of(r["dialogue_id"] for r in rows))
    found = problems(rows, dialogues, labels)
    if found:
        raise ValueError(f"{path}: {found[0]}" + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""))
    return [GoldRecord(r["dialogue_id"], dialogues[r["dialogue_id"]], r["label"], r["part"]) for r in rows]


def sources_of(dialogue_ids: Iterable[str]) -> tuple[str, ...]:
    """The corpora (`SMILECHAT`, `EMOLLM`) that dialogue ids name, by their prefix (SMILECHAT's where none does)."""
    prefixes = {i.split("-", 1)[0] for i in dialogue_ids}
    return tuple(src for src, prefix in ((SMILECHAT, "smilechat"), (EMOLLM, "emollm")) if prefix in prefixes) or (SMILECHAT,)
