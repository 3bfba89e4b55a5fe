"""Record-level emotion thresholds (`record_min_confidence`) from the record gold's select part, by the rule in
experiments/README.md ("Record-level emotion thresholds").

The shipped emotion card's records are built as a run builds them (SMILECHAT reader, per_record stages, tag
stage: `curate.models.record_eval`), and their `emotion_scores` (the mean of the seeker turns' probabilities)
are compared with the select part's labels: per threshold of the grid, the share emitted and the accuracy of
the emitted arg-max labels; then the rule's choice. The test part is never read here.

    python experiments/record_thresholds.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from affect import GRID, TARGET

from curate.annotations import gold_file
from curate.assets import data_root
from curate.models.abstention import DEFAULT, choose_per_label, describe, label_floors, withheld
from curate.models.card import read_card
from curate.models.evaluate import default_card
from curate.models.record_eval import tag_gold_records
from curate.schema import label_map, label_set

GOLD = "emotion-record-labels.jsonl"
MIN_EMITTED = 8  # per label: fewer record predictions than this say nothing about its precision (the rule)
MIN_SHARE = 0.20  # a single threshold must emit at least this share of the select records (the rule)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=data_root())
    args = ap.parse_args(argv)
    card = read_card(default_card("emotion"))
    # score with no record thresholds: every record's arg-max is then visible (its scores do not depend on them)
    rec = tag_gold_records(card, gold_file(GOLD), args.data_root.resolve(), "select",
                           record_min_confidence={DEFAULT: 0.0})
    labels = list(label_set("emotion"))
    top = rec.scores.argmax(axis=1)
    conf = rec.scores.max(axis=1)
    pred = np.array(labels)[top]
    right = pred == np.array(rec.gold)
    groups = label_map("emotion_coarse")
    right6 = np.array([groups[p] == groups[g] for p, g in zip(pred, rec.gold, strict=True)])
    print(f"select part: {len(rec.gold)} records; arg-max accuracy {right.mean():.3f}, six-way {right6.mean():.3f}")
    print("predicted:", dict(zip(*np.unique(pred, return_counts=True), strict=True)))
    print(f"{'threshold':>10}{'emitted':>10}{'n':>5}{'accuracy':>10}{'six-way':>9}")
    single = None
    for t in GRID:
        m = conf >= t
        acc = right[m].mean() if m.any() else float("nan")
        print(f"{t:>10.2f}{m.mean():>10.1%}{m.sum():>5}{acc:>10.3f}{right6[m].mean() if m.any() else float('nan'):>9.3f}")
        if single is None and m.any() and m.mean() >= MIN_SHARE and acc >= TARGET:
            single = float(t)
    print("per label, emitted/right at each threshold where predicted at least once:")
    for j, lab in enumerate(labels):
        if (top == j).any():
            row = "  ".join(f"{t:.2f}:{int(((top == j) & (conf >= t)).sum())}/{int((right & (top == j) & (conf >= t)).sum())}"
                            for t in GRID if ((top == j) & (conf >= t)).any())
            print(f"  {lab:<15}{row}")
    if single is not None:
        chosen: float | dict[str, float] | None = single
        print(f"rule step 2: a single threshold, {single}")
    else:
        per_label = choose_per_label(labels, rec.gold, rec.scores, GRID, TARGET, MIN_EMITTED)
        named = {lab: t for lab, t in per_label.items() if t < 1.0}
        chosen = {DEFAULT: 1.0, **named} if named else None
        print(f"rule step 3 (per label, at least {MIN_EMITTED} predictions right >= {TARGET}): "
              f"{describe(chosen) if chosen else 'none qualifies (step 4: no record_min_confidence)'}")
    if chosen is not None:
        emitted = ~withheld(rec.scores, label_floors(chosen, labels))
        print(f"on select with it: {emitted.mean():.1%} emitted ({int(emitted.sum())}), right "
              f"{right[emitted].mean() if emitted.any() else float('nan'):.3f}, six-way "
              f"{right6[emitted].mean() if emitted.any() else float('nan'):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
