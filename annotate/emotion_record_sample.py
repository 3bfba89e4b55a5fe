"""Whole SMILECHAT dialogues labelled by reading with one seeker emotion (`emotion-guide.md` §5).

Gold file `classifiers/annotations/emotion-record-labels.jsonl`: dialogue id, `sha1` (the seeker text's,
`curate.annotations.seeker_sha12`), label, `part` and a short English note, never the text. `part` is fixed by
a hash of the dialogue id before any label is read: `test` (about 40 %, read once for the reported figures)
or `select` (choosing the record-level thresholds).

The sample is deterministic: N ids drawn with `random.Random(SEED)` from SMILECHAT's sorted ids (so spread over
the whole file), leaving out every dialogue of the turn gold file (its select turns trained the model). `show`
prints each dialogue's seeker turns in full (long ones cut in the middle) and the counsellor's openings.

    python annotate/emotion_record_sample.py show --start 0 --count 20
    python annotate/emotion_record_sample.py record < labels.tsv   # "INDEX<TAB>LABEL<TAB>NOTE" lines
    python annotate/emotion_record_sample.py check                 # every line resolves, sha1, label, part
    python annotate/emotion_record_sample.py stats                 # labels per part

A second reader works on a list of ids (one a line, e.g. the test part's) with `--ids FILE`: `show` and `record`
then index that list instead of the sample, and `--gold` names the second file.

`--batch 2` is a second, fresh sample (`emotion-record-labels-2.jsonl`, its own seed, every row `test`): drawn
after the first file's test part had been read twice, it leaves out the first sample and the turn gold, and is
labelled without any model output so that the record-level figures have an untouched part again. `--batch 3`
(`emotion-record-labels-3.jsonl`) is a third, drawn the same way after batch 2 had been read once; it leaves out
both earlier samples. `--batch 4` (`emotion-record-labels-4.jsonl`) is a fourth, drawn the same way after batch 3
had been read once and the record calibration rule written (experiments/README.md); it leaves out all three.

`--source emollm` samples EmoLLM's dialogues instead (`emotion-record-labels-emollm.jsonl`, its own seed, every
row `test`): no emotion model or correction was fitted on EmoLLM, so it measures the record tag on help-seekers'
dialogues of another corpus. `--source emollm --batch 2` is a second such sample, leaving out the first, and
`--batch 5` a fifth SMILECHAT one; both drawn after batch 4 and the first EmoLLM sample had been read once.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from curate.annotations import (
    EMOLLM,
    SEEKER_ROLES,
    SMILECHAT,
    append_rows,
    gold_file,
    gold_parser,
    load_dialogues,
    read_rows,
    seeker_sha12,
)
from curate.record_gold import problems
from curate.schema import label_set

SEED = "curate-emotion-record-labels-v1"
TEST_SHARE = 0.4
N = 240
GOLD = "emotion-record-labels.jsonl"
# the later batches, fresh samples that are all `test` (see the module docstring): batch -> seed, size, file
LATER = {2: ("curate-emotion-record-labels-v2", 160, "emotion-record-labels-2.jsonl"),
         3: ("curate-emotion-record-labels-v3", 160, "emotion-record-labels-3.jsonl"),
         4: ("curate-emotion-record-labels-v4", 160, "emotion-record-labels-4.jsonl"),
         5: ("curate-emotion-record-labels-v5", 160, "emotion-record-labels-5.jsonl")}
# the samples from another corpus (`--source emollm [--batch 2]`): batch -> seed, size, file
EMOLLM_SAMPLES = {1: ("curate-emotion-record-labels-emollm-v1", 120, "emotion-record-labels-emollm.jsonl"),
                  2: ("curate-emotion-record-labels-emollm-v2", 120, "emotion-record-labels-emollm-2.jsonl")}
TURN_GOLD = "emotion-hand-labels.jsonl"  # its dialogues are left out of the sample
# characters shown of a seeker turn (head and tail; the middle of a longer one is cut) and of a counsellor's
HEAD, TAIL, COUNSELLOR = 200, 50, 30


def part_of(dialogue_id: str) -> str:
    """`test` or `select`, from a hash of the dialogue id alone."""
    h = int(hashlib.sha1(f"{SEED}:{dialogue_id}".encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < TEST_SHARE else "select"


def part_of_later(dialogue_id: str) -> str:
    """A later batch's part: every row is `test`."""
    return "test"


def sample(dialogues: dict[str, list[dict]], excluded: set[str], n: int = N, seed: str = SEED) -> list[str]:
    """The sampled dialogue ids, in sample order."""
    ids = sorted((d for d in dialogues if d not in excluded), key=lambda s: int(s.rsplit("-", 1)[1]))
    return random.Random(seed).sample(ids, n)


def sample_batch(dialogues: dict[str, list[dict]], excluded: set[str], batch: int) -> list[str]:
    """A batch's ids: the first batch's sample, or a later one's drawn with its own seed, leaving out `excluded`
    and every earlier batch's whole sample."""
    drawn = sample(dialogues, excluded)
    taken = set(drawn)
    for later in range(2, batch + 1):
        seed, n, _ = LATER[later]
        drawn = sample(dialogues, excluded | taken, n, seed)
        taken.update(drawn)
    return drawn


def emollm_batch(dialogues: dict[str, list[dict]], batch: int) -> list[str]:
    """An EmoLLM sample's ids, each batch leaving out every earlier one."""
    taken: set[str] = set()
    for b in range(1, batch + 1):
        seed, n, _ = EMOLLM_SAMPLES[b]
        drawn = sample(dialogues, taken, n, seed)
        taken.update(drawn)
    return drawn


def _cut(text: str, head: int, tail: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= head + tail + 5 else f"{text[:head]} …… {text[len(text) - tail:]}"


def show(dialogues: dict[str, list[dict]], refs: list[str], start: int, count: int) -> None:
    """Print sampled dialogues `start` .. `start + count - 1`: S lines in full, C lines' openings."""
    for i in range(start, min(len(refs), start + count)):
        did = refs[i]
        print(f"=== [{i}] {did}")
        for t in dialogues[did]:
            if t["role"] in SEEKER_ROLES:
                print(f"S: {_cut(t['content'], HEAD, TAIL)}")
            else:
                print(f"  c: {_cut(t['content'], COUNSELLOR, 0)}")
    print(f"--- {len(refs)} sampled dialogues in all", file=sys.stderr)


def record(lines: list[str], gold: Path, dialogues: dict[str, list[dict]], refs: list[str],
           part: Callable[[str], str] = part_of) -> int:
    """Append "INDEX<TAB>LABEL[<TAB>NOTE]" lines to the gold file (skipping dialogues it holds); the count added."""
    labels = set(label_set("emotion"))

    def row(line: str) -> dict:
        parts = [p.strip() for p in line.rstrip("\n").split("\t")]
        idx, label = int(parts[0]), parts[1]
        if label not in labels:
            raise SystemExit(f"bad label {label!r} for sample {idx}")
        did = refs[idx]
        r = {"dialogue_id": did, "sha1": seeker_sha12(dialogues[did]), "label": label, "part": part(did)}
        if len(parts) > 2 and parts[2]:
            r["note"] = parts[2]
        return r

    return append_rows(lines, gold, lambda r: r["dialogue_id"], row)


def stats(rows: list[dict]) -> None:
    """Label distribution per part."""
    for part in ("select", "test"):
        sub = [r for r in rows if r["part"] == part]
        print(f"{part}: {len(sub)} dialogues")
        for lab, c in Counter(r["label"] for r in sub).most_common():
            print(f"  {lab:<20}{c:>5}{c / len(sub):>8.1%}")


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    ap = gold_parser(__doc__ or "", GOLD, count=20)
    ap.add_argument("--ids", type=Path, default=None, help="show / record these dialogue ids (one a line) instead")
    ap.add_argument("--batch", type=int, choices=(1, *LATER), default=1,
                    help="2-5: the fresh all-test SMILECHAT samples; with --source emollm, 1 or 2")
    ap.add_argument("--source", choices=("smilechat", "emollm"), default="smilechat",
                    help="emollm: the all-test samples of EmoLLM's dialogues")
    args = ap.parse_args(argv)
    emollm = args.source == "emollm"
    part = part_of if args.batch == 1 and not emollm else part_of_later
    # may not exist yet: the first `record` makes it
    if emollm and args.batch not in EMOLLM_SAMPLES:
        raise SystemExit(f"--source emollm has batches {sorted(EMOLLM_SAMPLES)}")
    name = EMOLLM_SAMPLES[args.batch][2] if emollm else GOLD if args.batch == 1 else LATER[args.batch][2]
    gold = args.gold or gold_file(TURN_GOLD).with_name(name)
    if args.command == "stats":
        stats(read_rows(gold))
        return 0
    dialogues = load_dialogues(Path(args.data_root), (EMOLLM,) if emollm else (SMILECHAT,))
    if args.command == "check":
        found = problems(read_rows(gold), dialogues, set(label_set("emotion")), part)
        print("\n".join(found) or f"{gold}: {len(read_rows(gold))} lines, all resolve and match")
        return 1 if found else 0
    if emollm:
        refs = emollm_batch(dialogues, args.batch)
    else:
        excluded = {r["dialogue_id"] for r in read_rows(gold_file(TURN_GOLD))}
        refs = sample_batch(dialogues, excluded, args.batch)
    if args.ids:  # a second reader's list: only sampled ids, so the second file stays a subset of the first's sample
        wanted = args.ids.read_text(encoding="utf-8").split()
        if unknown := set(wanted) - set(refs):
            raise SystemExit(f"not in the sample: {sorted(unknown)[:5]}")
        refs = wanted
    if args.command == "show":
        show(dialogues, refs, args.start, args.count)
        return 0
    added = record(sys.stdin.readlines(), gold, dialogues, refs, part)
    print(f"appended {added} lines to {gold}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
