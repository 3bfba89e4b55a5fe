"""The one annotation tool for SMILECHAT turns: sample, show, record labels as references, check, count.

A task (`TurnTask`) says which turns are sampled (role, seed, how many dialogues and turns per dialogue),
which labels are valid, which gold file the labels go to, and, where the set has an untouched test part,
how a dialogue's part is fixed. `emotion_sample.py` and `strategy_sample.py` are its two tasks.

The sample is deterministic: `dialogues` ids drawn with `random.Random(seed)` from the sorted ids (so spread
over the whole file), then up to `per_dialogue` turns of the role per dialogue at evenly spread positions
(first, last and in between). References are resolved and checked by `curate.annotations`.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curate.annotations import SMILECHAT, append_rows, gold_file, load_smilechat, problems, read_rows, sha12
from curate.assets import data_root
from curate.schema import label_set

USAGE = """
    python annotate/{tool} show --start 0 --count 40    # sampled turns, with the other party's turn before
    python annotate/{tool} record < labels.tsv           # "INDEX<TAB>LABEL<TAB>NOTE" lines → the gold file
    python annotate/{tool} check                         # every line resolves, sha1 matches, labels valid
    python annotate/{tool} stats                         # label distribution (per part)
"""


@dataclass(frozen=True)
class TurnTask:
    """One annotation task over SMILECHAT turns of one role."""

    role: str
    label_set: str
    gold: str
    seed: str
    dialogues: int
    per_dialogue: int
    part_of: Callable[[str], str] | None = None


def spread(n_items: int, k: int) -> list[int]:
    """k indices of range(n_items) spread evenly, first and last included."""
    if n_items <= k:
        return list(range(n_items))
    if k == 1:
        return [0]
    return sorted({round(i * (n_items - 1) / (k - 1)) for i in range(k)})


def sample(task: TurnTask, dialogues: dict[str, list[dict]], n_dialogues: int, per_dialogue: int) -> list[tuple[str, int]]:
    """(dialogue id, turn index) of the sampled turns, in sample order."""
    ids = sorted(dialogues, key=lambda s: int(s.rsplit("-", 1)[1]))
    refs: list[tuple[str, int]] = []
    for did in random.Random(task.seed).sample(ids, n_dialogues):
        turns = dialogues[did]
        mine = [i for i, t in enumerate(turns) if t["role"] == task.role and (t.get("content") or "").strip()]
        refs += [(did, mine[j]) for j in spread(len(mine), per_dialogue)]
    return refs


def show(task: TurnTask, dialogues: dict[str, list[dict]], refs: list[tuple[str, int]], start: int, count: int) -> None:
    """Print sampled turns `start` .. `start + count - 1`, each with the other party's turn before it."""
    for i in range(start, min(len(refs), start + count)):
        did, turn = refs[i]
        turns = dialogues[did]
        prev = next((turns[j]["content"] for j in range(turn - 1, -1, -1) if turns[j]["role"] != task.role), "")
        print(f"=== [{i}] {did} turn {turn}/{len(turns)}")
        if prev:
            print(f"  <: {' '.join(prev.split())[:300]}")
        print(f"  >: {' '.join(turns[turn]['content'].split())}")
    print(f"--- {len(refs)} sampled turns in all", file=sys.stderr)


def append_labels(lines: list[str], gold: Path, labels: set[str],
                  make_row: Callable[[int, str, list[str]], dict | None]) -> int:
    """Append the labelled sample lines ("INDEX<TAB>LABEL[<TAB>...]") to the gold file, one row each from
    `make_row(index, label, the other fields)`, skipping turns the file already holds; the count added."""

    def row(line: str) -> dict | None:
        parts = [p.strip() for p in line.rstrip("\n").split("\t")]
        idx, label = int(parts[0]), parts[1]
        if label not in labels:
            raise SystemExit(f"bad label {label!r} for sample {idx}")
        return make_row(idx, label, parts[2:])

    return append_rows(lines, gold, lambda r: (r["dialogue_id"], r["turn"]), row)


def record(task: TurnTask, lines: list[str], gold: Path, dialogues: dict[str, list[dict]],
           refs: list[tuple[str, int]]) -> int:
    """Append "INDEX<TAB>LABEL[<TAB>NOTE]" lines to the gold file (skipping turns it holds); the count added."""

    def row(idx: int, label: str, rest: list[str]) -> dict:
        did, turn = refs[idx]
        r = {"dialogue_id": did, "turn": turn, "sha1": sha12(dialogues[did][turn]["content"]), "label": label}
        if task.part_of is not None:
            r["part"] = task.part_of(did)
        if rest and rest[0]:
            r["note"] = rest[0]
        return r

    return append_labels(lines, gold, set(label_set(task.label_set)), row)


def stats(task: TurnTask, rows: list[dict]) -> None:
    """Label distribution of the gold rows, per part where the task has parts."""
    parts = ("select", "test") if task.part_of is not None else (None,)
    for part in parts:
        sub = [r for r in rows if part is None or r.get("part") == part]
        print(f"{part or 'all'}: {len(sub)} turns in {len({r['dialogue_id'] for r in sub})} dialogues")
        for lab, c in Counter(r["label"] for r in sub).most_common():
            print(f"  {lab:<30}{c:>5}{c / len(sub):>8.1%}")


def main(task: TurnTask, doc: str, tool: str, argv: list[str] | None = None) -> int:
    """The command line of one task."""
    ap = argparse.ArgumentParser(description=doc + USAGE.format(tool=tool),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["show", "record", "check", "stats"])
    ap.add_argument("--data-root", default=str(data_root()))
    ap.add_argument("--dialogues", type=int, default=task.dialogues)
    ap.add_argument("--per-dialogue", type=int, default=task.per_dialogue)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--gold", type=Path, default=None, help=f"gold file (default classifiers/annotations/{task.gold})")
    args = ap.parse_args(argv)
    gold = args.gold or gold_file(task.gold)
    dialogues = load_smilechat(Path(args.data_root) / SMILECHAT)
    if args.command == "stats":
        stats(task, read_rows(gold))
        return 0
    if args.command == "check":
        found = problems(read_rows(gold), dialogues, task.role, set(label_set(task.label_set)), task.part_of)
        print("\n".join(found) or f"{gold}: {len(read_rows(gold))} lines, all resolve and match")
        return 1 if found else 0
    refs = sample(task, dialogues, args.dialogues, args.per_dialogue)
    if args.command == "show":
        show(task, dialogues, refs, args.start, args.count)
        return 0
    added = record(task, sys.stdin.readlines(), gold, dialogues, refs)
    print(f"appended {added} lines to {gold}", file=sys.stderr)
    return 0
