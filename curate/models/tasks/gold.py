"""Hand-labelled turns stored as references (dialogue id, turn index, sha1 prefix), resolved against the data.

The gold files in `classifiers/annotations/` never hold text: each row names a SMILECHAT dialogue, a turn
index and the first 12 hex digits of the sha1 of that turn's content; the text is read here from the data
root and checked against the sha1 (a mismatch is an error naming the file and line).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from curate.assets import resolve_asset

SMILECHAT = "smilechat/dialogues.jsonl"


@dataclass(frozen=True)
class GoldTurn:
    """One resolved gold row: where it is, its text, label and part (`select` or `test`)."""

    dialogue_id: str
    turn: int
    text: str
    label: str
    part: str
    role: str


def sha12(text: str) -> str:
    """The reference hash of a turn: first 12 hex digits of the sha1 of its content (UTF-8)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def is_reference_file(path: Path) -> bool:
    """True when `path` is a JSONL of turn references (its first row has `dialogue_id`, `turn`, `sha1`)."""
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    with path.open(encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), "")
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and {"dialogue_id", "turn", "sha1"} <= set(row)


def read_gold_turns(file: str | Path, data_root: Path) -> list[GoldTurn]:
    """Resolve a reference file (a path, or a name under `classifiers/annotations/`) against SMILECHAT."""
    path = Path(file)
    if not path.is_file():
        path = resolve_asset(Path("annotations") / path.name, "classifiers")
    dialogues: dict[str, list[dict]] = {}
    with (data_root / SMILECHAT).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                dialogues[str(d["id"])] = d["turns"]
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            turns = dialogues.get(row["dialogue_id"])
            if turns is None or not 0 <= int(row["turn"]) < len(turns):
                raise ValueError(f"{path}:{n}: no turn {row['turn']} in dialogue {row['dialogue_id']!r} of {data_root / SMILECHAT}")
            t = turns[int(row["turn"])]
            if sha12(t["content"]) != row["sha1"]:
                raise ValueError(f"{path}:{n}: sha1 mismatch for {row['dialogue_id']} turn {row['turn']} (the data changed?)")
            out.append(GoldTurn(row["dialogue_id"], int(row["turn"]), t["content"], row["label"], row.get("part", "test"),
                                t["role"]))
    return out
