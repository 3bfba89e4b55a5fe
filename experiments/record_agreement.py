"""Record-level emotion gold: how far two blind readings of the test part agree, and (for information only)
the shipped record emotion scored against each reading and against the dialogues both readings agree on.

Reader 1 is `classifiers/annotations/emotion-record-labels.jsonl` (its `test` rows), reader 2
`emotion-record-labels-second.jsonl` (the same 95 dialogues, read without seeing reader 1's labels or any model
output), both under `emotion-guide.md` §5. Agreement: exact on the 13 labels and on the six-way coarse class
(`label_maps.emotion_coarse`), Cohen's kappa for both, the pairs the readers disagree on, each reader's label
counts. Then the shipped card through the real tag stage (`curate.models.record_eval.tag_gold_records`, as
`curate eval emotion --part test` does): emitted labels right, 13-label and six-way arg-max accuracy and the
majority label of each reference. Nothing is chosen from it.

    python experiments/record_agreement.py [--no-model]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from curate.annotations import gold_file, read_rows
from curate.assets import data_root
from curate.models.card import read_card
from curate.models.evaluate import default_card
from curate.models.metrics import cohen_kappa
from curate.models.record_eval import tag_gold_records
from curate.schema import label_map, label_set

FIRST = "emotion-record-labels.jsonl"
SECOND = "emotion-record-labels-second.jsonl"


def readings() -> tuple[list[str], list[str], list[str]]:
    """The dialogue ids of the second file (in its order) and both readers' labels of them."""
    second = read_rows(gold_file(SECOND))
    first = {r["dialogue_id"]: r["label"] for r in read_rows(gold_file(FIRST)) if r["part"] == "test"}
    ids = [r["dialogue_id"] for r in second]
    if set(ids) != set(first):
        raise ValueError(f"{SECOND} does not hold exactly the test part of {FIRST}")
    return ids, [first[i] for i in ids], [r["label"] for r in second]


def agreement(r1: list[str], r2: list[str]) -> None:
    """Print exact agreement and kappa (13 labels, six-way), the disagreeing pairs and both distributions."""
    coarse = label_map("emotion_coarse")
    c1, c2 = [coarse[x] for x in r1], [coarse[x] for x in r2]
    n = len(r1)
    same = sum(a == b for a, b in zip(r1, r2, strict=True))
    same6 = sum(a == b for a, b in zip(c1, c2, strict=True))
    print(f"{n} dialogues")
    print(f"{'':<10}{'exact':>8}{'kappa':>8}")
    print(f"{'13-label':<10}{same / n:>8.3f}{cohen_kappa(r1, r2):>8.3f}   ({same} of {n})")
    print(f"{'six-way':<10}{same6 / n:>8.3f}{cohen_kappa(c1, c2):>8.3f}   ({same6} of {n})")
    print("disagreements, reader 1 -> reader 2 (count; * = same six-way class):")
    for (a, b), k in Counter((a, b) for a, b in zip(r1, r2, strict=True) if a != b).most_common():
        print(f"  {k:>3}  {a} -> {b}{'  *' if coarse[a] == coarse[b] else ''}")
    d1, d2 = Counter(r1), Counter(r2)
    print(f"{'label':<16}{'reader 1':>9}{'reader 2':>9}")
    for lab in label_set("emotion"):
        if d1[lab] or d2[lab]:
            print(f"{lab:<16}{d1[lab]:>9}{d2[lab]:>9}")
    g1, g2 = Counter(c1), Counter(c2)
    for grp in dict.fromkeys(coarse.values()):
        if g1[grp] or g2[grp]:
            print(f"{'(' + grp + ')':<16}{g1[grp]:>9}{g2[grp]:>9}")


def scored(name: str, gold: list[str], emitted: list[str | None], pred: list[str]) -> None:
    """One row: the shipped record emotion against one reference."""
    coarse = label_map("emotion_coarse")
    n = len(gold)
    out = [(e, g) for e, g in zip(emitted, gold, strict=True) if e is not None]
    right = sum(e == g for e, g in out)
    acc = sum(p == g for p, g in zip(pred, gold, strict=True)) / n
    acc6 = sum(coarse[p] == coarse[g] for p, g in zip(pred, gold, strict=True)) / n
    maj, m = Counter(gold).most_common(1)[0]
    maj6, m6 = Counter(coarse[g] for g in gold).most_common(1)[0]
    print(f"{name:<22}{n:>4}{f'{right}/{len(out)}':>9}{right / len(out) if out else float('nan'):>9.3f}"
          f"{acc:>9.3f}  {maj:<15}{m / n:>6.3f}{acc6:>9.3f}  {maj6:<4}{m6 / n:>6.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--no-model", action="store_true", help="the readers' agreement only")
    args = ap.parse_args(argv)
    ids, r1, r2 = readings()
    agreement(r1, r2)
    if args.no_model:
        return 0
    card = read_card(default_card("emotion"))
    # the second file's rows are the test part, so the records come back in its order (ids, r1, r2 align)
    rec = tag_gold_records(card, gold_file(SECOND), args.data_root.resolve())
    if rec.gold != r2:
        raise ValueError("tagged records are not in the second file's order")
    labels = list(label_set("emotion"))
    pred = [labels[i] for i in np.asarray(rec.scores).argmax(axis=1)]
    print(f"\nshipped record emotion ({card.path.name}): emitted right, 13-label arg-max (majority), "
          "six-way arg-max (majority)")
    print(f"{'reference':<22}{'n':>4}{'emitted':>9}{'right':>9}{'arg-max':>9}  {'majority':<21}{'six-way':>9}  majority")
    scored("reader 1", r1, rec.emitted, pred)
    scored("reader 2", r2, rec.emitted, pred)
    both = [k for k in range(len(ids)) if r1[k] == r2[k]]
    scored("both agree", [r1[k] for k in both], [rec.emitted[k] for k in both], [pred[k] for k in both])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
