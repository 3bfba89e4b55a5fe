"""Whole dialogues of SMILECHAT and EmoLLM rated 1-5 by reading, with `classifiers/annotations/dialogue-quality-guide.md`.

Gold file `classifiers/annotations/dialogue-quality-hand-labels.jsonl`: references (dialogue id, sha1 of the
turn contents), the rating, `part` and a short English note, never the text. `part` is fixed by the
dialogue id before anything is read: `test` (about 40 %, the untouched part whose figures are reported)
or `select` (fitting and model selection).

The sample is deterministic: SMILECHAT_N ids drawn with `random.Random(SEED)` from SMILECHAT's sorted ids,
EMOLLM_N from EmoLLM's, then the two shuffled together with the same seed so that any prefix mixes both; a
second round (MORE_*, seed SEED-more) is drawn the same way from the dialogues the first did not take.
`show` prints each dialogue compactly (long turns cut in the middle, so openings and closings stay).

    python annotate/dialogue_quality_sample.py show --start 0 --count 10
    python annotate/dialogue_quality_sample.py record < ratings.tsv   # "INDEX<TAB>RATING<TAB>NOTE" lines
    python annotate/dialogue_quality_sample.py check                  # every line resolves, sha1 and part match
    python annotate/dialogue_quality_sample.py stats                  # ratings per part and source

`--batch 2` is a fresh sample (`dialogue-quality-hand-labels-2.jsonl`, its own seed, every row `test`), drawn the
same way from the dialogues the first sample did not take, after the first sample's test part had been read
several times: rated blind twice (the second reading with `--gold ...-2-second.jsonl`), so that the figures have
an untouched part again and one rated by two readers.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from curate.annotations import SEEKER_ROLES, append_rows, gold_file, gold_parser, read_rows
from curate.dialogue_gold import RATINGS, dialogue_sha12, load_dialogues, problems

SEED = "curate-dialogue-quality-v1"
TEST_SHARE = 0.4
SMILECHAT_N, EMOLLM_N = 240, 100
MORE_SMILECHAT_N, MORE_EMOLLM_N = 80, 30  # a second round, rated after the first was fitted (learning curve still rising)
GOLD = "dialogue-quality-hand-labels.jsonl"
# the later, all-`test` samples: batch -> seed, SMILECHAT and EmoLLM sizes, gold file
LATER = {2: ("curate-dialogue-quality-v2", 85, 35, "dialogue-quality-hand-labels-2.jsonl")}
# characters shown of a turn: its head and tail (the middle of a long turn is cut)
HEAD, TAIL, FIRST_HEAD = 100, 20, 170


def part_of(dialogue_id: str) -> str:
    """`test` or `select`, from a hash of the dialogue id alone."""
    h = int(hashlib.sha1(f"{SEED}:{dialogue_id}".encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < TEST_SHARE else "select"


def _draw(dialogues: dict[str, list[dict]], seed: str, n_smilechat: int, n_emollm: int,
          taken: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """`n_smilechat` SMILECHAT and `n_emollm` EmoLLM ids not in `taken` (each corpus's in id order), drawn with
    `random.Random(seed)` and shuffled together with it, so that any prefix mixes both."""
    def ids(prefix: str) -> list[str]:
        return sorted((d for d in dialogues if d.startswith(prefix) and d not in taken),
                      key=lambda s: int(s.rsplit("-", 1)[1]))

    rng = random.Random(seed)
    drawn = rng.sample(ids("smilechat-"), n_smilechat) + rng.sample(ids("emollm-"), n_emollm)
    rng.shuffle(drawn)
    return drawn


def sample(dialogues: dict[str, list[dict]]) -> list[str]:
    """The sampled dialogue ids, in sample order: the first round, then (indices 340 on) the second, drawn the
    same way from the dialogues the first did not take."""
    refs = _draw(dialogues, SEED, SMILECHAT_N, EMOLLM_N)
    return refs + _draw(dialogues, f"{SEED}-more", MORE_SMILECHAT_N, MORE_EMOLLM_N, set(refs))


def part_of_later(dialogue_id: str) -> str:
    """A later batch's part: every row is `test`."""
    return "test"


def sample_batch(dialogues: dict[str, list[dict]], batch: int) -> list[str]:
    """A batch's ids: the first sample, or a later one drawn like it with its own seed from the dialogues that
    no earlier batch took."""
    drawn = sample(dialogues)
    taken = set(drawn)
    for later in range(2, batch + 1):
        seed, n_smilechat, n_emollm, _ = LATER[later]
        drawn = _draw(dialogues, seed, n_smilechat, n_emollm, taken)
        taken.update(drawn)
    return drawn


def _cut(text: str, head: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= head + TAIL + 5 else f"{text[:head]} …… {text[-TAIL:]}"


def show(dialogues: dict[str, list[dict]], refs: list[str], start: int, count: int, full: bool = False) -> None:
    """Print sampled dialogues `start` .. `start + count - 1`, one line per turn (S: seeker, C: supporter);
    `full` prints long turns whole instead of cutting their middle."""
    for i in range(start, min(len(refs), start + count)):
        did = refs[i]
        turns = dialogues[did]
        print(f"=== [{i}] {did} ({len(turns)} turns)")
        first = True
        for t in turns:
            if t["role"] == "system":
                continue
            tag = "S" if t["role"] in SEEKER_ROLES else "C"
            text = " ".join(t["content"].split()) if full else _cut(t["content"], FIRST_HEAD if first else HEAD)
            print(f"{tag}: {text}")
            first = False
    print(f"--- {len(refs)} sampled dialogues in all", file=sys.stderr)


def record(lines: list[str], gold: Path, dialogues: dict[str, list[dict]], refs: list[str],
           part: Callable[[str], str] = part_of) -> int:
    """Append "INDEX<TAB>RATING[<TAB>NOTE]" lines to the gold file (skipping dialogues it holds); the count added."""

    def row(line: str) -> dict:
        parts = line.rstrip("\n").split("\t")
        idx, rating, note = int(parts[0]), int(parts[1]), (parts[2].strip() if len(parts) > 2 else "")
        if rating not in RATINGS:
            raise SystemExit(f"bad rating {rating!r} for sample {idx}")
        did = refs[idx]
        r = {"dialogue_id": did, "sha1": dialogue_sha12(dialogues[did]), "rating": rating, "part": part(did)}
        if note:
            r["note"] = note
        return r

    return append_rows(lines, gold, lambda r: r["dialogue_id"], row)


def stats(rows: list[dict]) -> None:
    """Rating distribution per part and source."""
    for part in ("select", "test"):
        sub = [r for r in rows if r["part"] == part]
        by_source = Counter(r["dialogue_id"].split("-")[0] for r in sub)
        print(f"{part}: {len(sub)} dialogues ({', '.join(f'{k} {v}' for k, v in sorted(by_source.items()))})")
        counts = Counter(r["rating"] for r in sub)
        for rating in RATINGS:
            print(f"  {rating}{counts[rating]:>6}{counts[rating] / max(1, len(sub)):>8.1%}")


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    ap = gold_parser(__doc__ or "", GOLD, count=10)
    ap.add_argument("--batch", type=int, choices=(1, *LATER), default=1, help="2: the fresh all-test sample")
    ap.add_argument("--full", action="store_true",
                    help="show: print long turns whole (a risk response can sit in a long turn's middle)")
    args = ap.parse_args(argv)
    part = part_of if args.batch == 1 else part_of_later
    # may not exist yet: the first `record` makes it
    gold = args.gold or gold_file(GOLD).with_name(GOLD if args.batch == 1 else LATER[args.batch][3])
    if args.command == "stats":
        stats(read_rows(gold))
        return 0
    dialogues = load_dialogues(Path(args.data_root))
    if args.command == "check":
        found = problems(read_rows(gold), dialogues, part)
        print("\n".join(found) or f"{gold}: {len(read_rows(gold))} lines, all resolve and match")
        return 1 if found else 0
    refs = sample_batch(dialogues, args.batch)
    if args.command == "show":
        show(dialogues, refs, args.start, args.count, args.full)
        return 0
    added = record(sys.stdin.readlines(), gold, dialogues, refs, part)
    print(f"appended {added} lines to {gold}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
