"""Record-level (whole-dialogue) labels stored as references to SMILECHAT dialogues, and their checks.

A row names a dialogue (`dialogue_id`), `sha1` (`curate.annotations.seeker_sha12` of its seeker turns),
its `label` (one of a label set), `part` (`select` or `test`) and a short English `note`; never the text.
The annotation tool (`annotate/emotion_record_sample.py`), `curate eval` and the tests resolve rows here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from curate.annotations import SMILECHAT, load_dialogues, read_rows, seeker_sha12

PARTS = ("select", "test")


@dataclass(frozen=True)
class GoldRecord:
    """One resolved row: the dialogue id, its turns (role, content), label and part."""

    dialogue_id: str
    turns: list[dict]
    label: str
    part: str


def problems(rows: list[dict], dialogues: dict[str, list[dict]], labels: Collection[str],
             part_of: Callable[[str], str] | None = None) -> list[str]:
    """What is wrong with record gold rows, as "line N: …": an unknown dialogue, a seeker sha1 that no longer
    matches the data, a label outside `labels`, a part other than select/test (or than `part_of` gives), a
    duplicate."""
    out, seen = [], set()
    for n, row in enumerate(rows, 1):
        did = row.get("dialogue_id")
        turns = dialogues.get(did)
        if turns is None:
            out.append(f"line {n}: no dialogue {did!r}")
            continue
        if seeker_sha12(turns) != row.get("sha1"):
            out.append(f"line {n}: sha1 mismatch for {did} (file {row.get('sha1')}, data {seeker_sha12(turns)}): "
                       "the data changed or the reference is wrong")
        if row.get("label") not in labels:
            out.append(f"line {n}: label {row.get('label')!r} is not one of {sorted(labels)}")
        if row.get("part") not in PARTS or (part_of is not None and row.get("part") != part_of(did)):
            out.append(f"line {n}: part {row.get('part')!r}" + (f", expected {part_of(did)!r}" if part_of else ""))
        if did in seen:
            out.append(f"line {n}: duplicate {did}")
        seen.add(did)
    return out


def read_gold_records(path: Path, data_root: Path, labels: Collection[str]) -> list[GoldRecord]:
    """The rows of a record gold file with their turns; the first problem is an error naming the file and line."""
    rows = read_rows(path)
    dialogues = load_dialogues(data_root, (SMILECHAT,))
    found = problems(rows, dialogues, labels)
    if found:
        raise ValueError(f"{path}: {found[0]}" + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""))
    return [GoldRecord(r["dialogue_id"], dialogues[r["dialogue_id"]], r["label"], r["part"]) for r in rows]
