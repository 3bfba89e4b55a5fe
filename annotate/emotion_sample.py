"""Sample SMILECHAT help-seeker turns for labelling emotion by reading; show them, record and check labels.

The gold set (`classifiers/annotations/emotion-hand-labels.jsonl`) stores references, never text:
`{"dialogue_id", "turn" (0-based index into the dialogue's turns), "sha1" (first 12 hex of the sha1 of the
turn's content, UTF-8), "label", "part", "note"}`. The sample is deterministic: `--dialogues` dialogue ids
drawn with `random.Random(SEED)` from the sorted ids (so spread over the whole file), then up to
`--per-dialogue` client turns per dialogue at evenly spread positions (first, last and in between).

`part` is fixed by the dialogue id before any label is read: `test` (about 40 %, the untouched part whose
figures are reported) or `select` (model selection and, where it helps, training). Both parts of one
dialogue never mix.

    python annotate/emotion_sample.py show --start 0 --count 40    # sampled turns, with the supporter turn before
    python annotate/emotion_sample.py record < labels.tsv           # "INDEX<TAB>LABEL<TAB>NOTE" lines → gold file
    python annotate/emotion_sample.py check                         # every line resolves, sha1 matches, labels valid
    python annotate/emotion_sample.py stats                         # label distribution per part
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

from curate.assets import asset_dir
from curate.schema import label_set

SEED = "curate-emotion-hand-labels-v1"
DEFAULT_DIALOGUES = 150
DEFAULT_PER_DIALOGUE = 4
TEST_SHARE = 0.4
SMILECHAT = "smilechat/dialogues.jsonl"


def sha12(text: str) -> str:
    """First 12 hex digits of the sha1 of `text` (UTF-8): the reference stored instead of the text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def part_of(dialogue_id: str) -> str:
    """`test` or `select`, from a hash of the dialogue id alone."""
    h = int(hashlib.sha1(f"{SEED}:{dialogue_id}".encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < TEST_SHARE else "select"


def load_dialogues(data_root: Path) -> dict[str, list[dict]]:
    """SMILECHAT dialogue id → its turns, read in place."""
    out: dict[str, list[dict]] = {}
    with (data_root / SMILECHAT).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                out[str(d["id"])] = d["turns"]
    return out


def spread(n_items: int, k: int) -> list[int]:
    """k indices of range(n_items) spread evenly, first and last included."""
    if n_items <= k:
        return list(range(n_items))
    if k == 1:
        return [0]
    return sorted({round(i * (n_items - 1) / (k - 1)) for i in range(k)})


def sample(dialogues: dict[str, list[dict]], n_dialogues: int, per_dialogue: int) -> list[tuple[str, int]]:
    """(dialogue id, turn index) of the sampled client turns, in sample order."""
    ids = sorted(dialogues, key=lambda s: int(s.rsplit("-", 1)[1]))
    picked = random.Random(SEED).sample(ids, n_dialogues)
    refs: list[tuple[str, int]] = []
    for did in picked:
        turns = dialogues[did]
        client = [i for i, t in enumerate(turns) if t["role"] == "client" and (t.get("content") or "").strip()]
        refs += [(did, client[j]) for j in spread(len(client), per_dialogue)]
    return refs


def gold_path() -> Path:
    """The committed gold file."""
    return asset_dir("classifiers") / "annotations" / "emotion-hand-labels.jsonl"


def read_gold(path: Path) -> list[dict]:
    """The gold file's rows."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check(path: Path, dialogues: dict[str, list[dict]]) -> list[str]:
    """Problems of the gold file: unknown id or turn, not a client turn, sha1 mismatch, bad label or part."""
    labels = set(label_set("emotion"))
    problems, seen = [], set()
    for n, row in enumerate(read_gold(path), 1):
        did, turn = row.get("dialogue_id"), row.get("turn")
        turns = dialogues.get(did)
        if turns is None or not isinstance(turn, int) or not 0 <= turn < len(turns):
            problems.append(f"line {n}: no turn {turn!r} in dialogue {did!r}")
            continue
        t = turns[turn]
        if t["role"] != "client":
            problems.append(f"line {n}: {did} turn {turn} is a {t['role']} turn")
        if sha12(t["content"]) != row.get("sha1"):
            problems.append(f"line {n}: sha1 mismatch for {did} turn {turn}")
        if row.get("label") not in labels:
            problems.append(f"line {n}: label {row.get('label')!r} not in {sorted(labels)}")
        if row.get("part") != part_of(did):
            problems.append(f"line {n}: part {row.get('part')!r}, expected {part_of(did)!r}")
        if (did, turn) in seen:
            problems.append(f"line {n}: duplicate {did} turn {turn}")
        seen.add((did, turn))
    return problems


def show(dialogues: dict[str, list[dict]], refs: list[tuple[str, int]], start: int, count: int) -> None:
    """Print sampled turns `start` .. `start + count - 1` with the supporter turn before each."""
    for i in range(start, min(len(refs), start + count)):
        did, turn = refs[i]
        turns = dialogues[did]
        prev = next((turns[j]["content"] for j in range(turn - 1, -1, -1) if turns[j]["role"] != "client"), "")
        print(f"=== [{i}] {did} turn {turn}/{len(turns)}")
        if prev:
            print(f"  S: {' '.join(prev.split())[:200]}")
        print(f"  C: {' '.join(turns[turn]['content'].split())}")
    print(f"--- {len(refs)} sampled turns in all", file=sys.stderr)


def record(lines: list[str], gold: Path, dialogues: dict[str, list[dict]], refs: list[tuple[str, int]]) -> int:
    """Append "INDEX<TAB>LABEL[<TAB>NOTE]" lines to the gold file (skipping turns it holds); returns the count."""
    labels = set(label_set("emotion"))
    done = {(r["dialogue_id"], r["turn"]) for r in read_gold(gold)} if gold.exists() else set()
    gold.parent.mkdir(parents=True, exist_ok=True)
    added = 0
    with gold.open("a", encoding="utf-8") as out:
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            idx, label, note = int(parts[0]), parts[1].strip(), (parts[2].strip() if len(parts) > 2 else "")
            if label not in labels:
                raise SystemExit(f"bad label {label!r} for sample {idx}")
            did, turn = refs[idx]
            if (did, turn) in done:
                continue
            row = {"dialogue_id": did, "turn": turn, "sha1": sha12(dialogues[did][turn]["content"]),
                   "label": label, "part": part_of(did)}
            if note:
                row["note"] = note
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            done.add((did, turn))
            added += 1
    return added


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["show", "record", "check", "stats"])
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--dialogues", type=int, default=DEFAULT_DIALOGUES)
    ap.add_argument("--per-dialogue", type=int, default=DEFAULT_PER_DIALOGUE)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--gold", type=Path, default=None, help="gold file (default classifiers/annotations/...)")
    args = ap.parse_args(argv)
    gold = args.gold or gold_path()
    dialogues = load_dialogues(Path(args.data_root))
    if args.command == "stats":
        rows = read_gold(gold)
        for part in ("select", "test"):
            sub = [r for r in rows if r["part"] == part]
            print(f"{part}: {len(sub)} turns in {len({r['dialogue_id'] for r in sub})} dialogues")
            for lab, c in Counter(r["label"] for r in sub).most_common():
                print(f"  {lab:<18}{c:>5}{c / len(sub):>8.1%}")
        return 0
    if args.command == "check":
        problems = check(gold, dialogues)
        print("\n".join(problems) or f"{gold}: {len(read_gold(gold))} lines, all resolve and match")
        return 1 if problems else 0
    refs = sample(dialogues, args.dialogues, args.per_dialogue)
    if args.command == "show":
        show(dialogues, refs, args.start, args.count)
        return 0
    added = record(sys.stdin.readlines(), gold, dialogues, refs)
    print(f"appended {added} lines to {gold}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
