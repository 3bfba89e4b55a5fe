"""Crisis risk: help-seeker turns of SMILECHAT and EmoLLM labelled by reading with `classifiers/annotations/risk-guide.md`.

Gold file `classifiers/annotations/risk-hand-labels.jsonl`: references (dialogue id, turn, sha1), the level
(`none`, `concern`, `high`), the evidence `span` as [start, end) character offsets into the turn's content
(none for `none`), the `stratum` the turn was drawn from, `part` and a short English note, never the text.

The sample is seeded and enriched: `random` turns are drawn uniformly from all seeker turns of a source (a
plain sample: its rates estimate the source's), `candidate` turns uniformly from the seeker turns that the
broad net `CANDIDATE` catches (death, suicide, self-harm, hopelessness, burden words), so that `high` has
enough examples. The net is fixed here, before any label was read, and is not the weak labeller
(`classifiers/train/risk-cues.yaml`). Both strata are shown mixed in one seeded order, without saying which
is which. `part` is fixed by the dialogue id alone: `test` (about 45 %, untouched until the figures are
reported) or `select`; both parts of one dialogue never mix. `second` shows 60 of the sampled turns again in
another order for a blind relabelling (`risk-hand-labels-second.jsonl`, self-agreement: one annotator).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from pathlib import Path

from turns import TurnTask, append_labels, stats

from curate.annotations import EMOLLM, SMILECHAT, gold_file, load_dialogues, problems, read_rows, sha12
from curate.assets import asset_dir, data_root
from curate.schema import label_set

SEED = "curate-risk-hand-labels-v1"
TEST_SHARE = 0.45
GOLD = "risk-hand-labels.jsonl"
SECOND_GOLD = "risk-hand-labels-second.jsonl"
SECOND_N = 60
SEEKER = {SMILECHAT: "client", EMOLLM: "input"}
SUPPORTER = {"counselor", "output"}
# turns drawn per (source, stratum)
STRATA: dict[tuple[str, str], int] = {(SMILECHAT, "random"): 160, (EMOLLM, "random"): 40,
                                      (SMILECHAT, "candidate"): 220, (EMOLLM, "candidate"): 24}
# the broad net for the candidate stratum (recall over precision: third person, negation and idioms included)
CANDIDATE = re.compile(
    "自杀|轻生|想死|去死|死了算|不想活|活不下去|结束(?:自己的)?生命|割腕|自残|自伤|跳楼|跳河|安眠药|了结|解脱|寻死|死掉|"
    "一死|活着没意思|活着没有意义|没有活下去|遗书|伤害自己|划自己|撞墙|绝望|没有希望|拖累|累赘|负担|不如死")

USAGE = """
    python annotate/risk_sample.py show --start 0 --count 40   # sampled turns, with the supporter's turn before
    python annotate/risk_sample.py record < labels.tsv          # "INDEX<TAB>LEVEL<TAB>SPAN<TAB>NOTE" → the gold file
    python annotate/risk_sample.py second --start 0 --count 30  # 60 of them again, reshuffled, for a blind relabel
    python annotate/risk_sample.py record --second < labels.tsv # → risk-hand-labels-second.jsonl (second's indices)
    python annotate/risk_sample.py check                        # every line resolves, sha1 and spans match
    python annotate/risk_sample.py stats                        # level distribution per part and stratum
SPAN is the evidence clause as it reads in the turn (whitespace-insensitive); the file keeps its offsets only.
"""


def part_of(dialogue_id: str) -> str:
    """`test` or `select`, from a hash of the dialogue id alone."""
    h = int(hashlib.sha1(f"{SEED}:{dialogue_id}".encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < TEST_SHARE else "select"


# for `turns.stats` (the per-part counts); this task samples with `sample` below, not `turns.sample`
TASK = TurnTask(role="client", label_set="risk", gold=GOLD, seed=SEED, dialogues=0, per_dialogue=0, part_of=part_of)


def seeker_turns(dialogues: dict[str, list[dict]], source: str) -> list[tuple[str, int]]:
    """(dialogue id, turn index) of every non-empty seeker turn of one source, in file order."""
    role, prefix = SEEKER[source], source.split("/")[0] + "-"
    return [(did, i) for did, turns in dialogues.items() if did.startswith(prefix)
            for i, t in enumerate(turns) if t["role"] == role and (t.get("content") or "").strip()]


def sample(dialogues: dict[str, list[dict]]) -> list[tuple[str, int, str]]:
    """(dialogue id, turn, stratum) of the sample, in the seeded order it is shown in."""
    rng = random.Random(SEED)
    out: list[tuple[str, int, str]] = []
    for source in (SMILECHAT, EMOLLM):
        pool = seeker_turns(dialogues, source)
        plain = rng.sample(pool, STRATA[(source, "random")])
        taken = set(plain)
        cands = [r for r in pool if r not in taken and CANDIDATE.search(dialogues[r[0]][r[1]]["content"])]
        picked = rng.sample(cands, min(len(cands), STRATA[(source, "candidate")]))
        out += [(d, t, "random") for d, t in plain] + [(d, t, "candidate") for d, t in picked]
    rng.shuffle(out)
    return out


def second_sample(refs: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """The 60 turns of the blind relabelling, in their own seeded order."""
    return random.Random(f"{SEED}:second").sample(refs, SECOND_N)


def show(dialogues: dict[str, list[dict]], refs: list[tuple[str, int, str]], start: int, count: int) -> None:
    """Print sampled turns `start` .. `start + count - 1`, each with the supporter's turn before it."""
    for i in range(start, min(len(refs), start + count)):
        did, turn, _ = refs[i]
        turns = dialogues[did]
        prev = next((turns[j]["content"] for j in range(turn - 1, -1, -1) if turns[j]["role"] in SUPPORTER), "")
        print(f"=== [{i}] {did} turn {turn}/{len(turns)}")
        if prev:
            print(f"  <: {' '.join(prev.split())[-300:]}")
        print(f"  >: {' '.join(turns[turn]['content'].split())}")
    print(f"--- {len(refs)} sampled turns in all", file=sys.stderr)


def locate(text: str, span: str) -> tuple[int, int]:
    """[start, end) of `span` in `text`, whitespace-insensitive (the tool shows whitespace collapsed)."""
    chars = [re.escape(c) for c in span if not c.isspace()]
    m = re.search(r"\s*".join(chars), text) if chars else None
    if m is None:
        raise ValueError(f"span {span!r} not found in the turn")
    return m.start(), m.end()


def record(lines: list[str], gold: Path, dialogues: dict[str, list[dict]], refs: list[tuple[str, int, str]]) -> int:
    """Append "INDEX<TAB>LEVEL<TAB>SPAN<TAB>NOTE" lines to the gold file (skipping turns it holds); the count added."""

    def row(idx: int, level: str, rest: list[str]) -> dict:
        span, note = (rest + ["", ""])[:2]
        did, turn, stratum = refs[idx]
        text = dialogues[did][turn]["content"]
        r: dict = {"dialogue_id": did, "turn": turn, "sha1": sha12(text), "label": level,
                   "part": part_of(did), "stratum": stratum}
        if level != "none":
            if not span:
                raise SystemExit(f"sample {idx}: a {level} turn needs its evidence span")
            try:
                r["span"] = list(locate(text, span))
            except ValueError as e:
                raise SystemExit(f"sample {idx}: {e}") from None
        if note:
            r["note"] = note
        return r

    return append_labels(lines, gold, set(label_set("risk")), row)


def span_problems(rows: list[dict], dialogues: dict[str, list[dict]]) -> list[str]:
    """Spans that are missing, present on `none`, or out of the turn's bounds."""
    out = []
    for n, r in enumerate(rows, 1):
        span = r.get("span")
        if r.get("label") == "none":
            if span is not None:
                out.append(f"line {n}: a none turn has a span")
            continue
        text = dialogues.get(r["dialogue_id"], [{}] * (r["turn"] + 1))[r["turn"]].get("content", "")
        if not (isinstance(span, list) and len(span) == 2 and 0 <= span[0] < span[1] <= len(text)):
            out.append(f"line {n}: span {span!r} is not [start, end) inside the turn")
    return out


def _gold(name: str) -> Path:
    try:
        return gold_file(name)
    except FileNotFoundError:  # the first `record` creates it
        return asset_dir("classifiers") / "annotations" / name


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "") + USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["show", "second", "record", "check", "stats"])
    ap.add_argument("--data-root", default=str(data_root()))
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--second", action="store_true", help="record: the blind relabelling's indices and gold file")
    ap.add_argument("--gold", type=Path, default=None, help=f"gold file (default classifiers/annotations/{GOLD})")
    args = ap.parse_args(argv)
    second = args.second or args.command == "second"
    gold = args.gold or _gold(SECOND_GOLD if second else GOLD)
    dialogues = load_dialogues(Path(args.data_root), (SMILECHAT, EMOLLM))
    refs = sample(dialogues)
    if second:
        refs = second_sample(refs)
    if args.command in ("show", "second"):
        show(dialogues, refs, args.start, args.count)
        return 0
    if args.command == "record":
        print(f"appended {record(sys.stdin.readlines(), gold, dialogues, refs)} lines to {gold}", file=sys.stderr)
        return 0
    rows = read_rows(gold)
    if args.command == "stats":
        for stratum in ("random", "candidate"):
            print(f"## stratum {stratum}")
            stats(TASK, [r for r in rows if r.get("stratum") == stratum])
        return 0
    found = problems(rows, dialogues, set(SEEKER.values()), set(label_set("risk")), part_of)
    found += span_problems(rows, dialogues)
    print("\n".join(found) or f"{gold}: {len(rows)} lines, all resolve and match")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
