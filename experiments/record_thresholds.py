"""Record-level emotion: the aggregation over a record's units and its thresholds (`record_min_confidence`), from
the record gold's select part, by the rules in experiments/README.md ("Record-level emotion thresholds", "The
record's aggregation over its units").

The shipped emotion card's records are built as a run builds them (SMILECHAT reader, per_record stages, tag
stage: `curate.models.record_eval`). Each candidate aggregation (A0 the mean of the seeker turns'
probabilities, A1 weighted by each turn's length in characters, A2 by its square root) combines the tag stage's
turn probabilities with the tag stage's own `record_scores`; per candidate, the 13-label and six-way arg-max
accuracy and the share of grateful arg-max; the aggregation rule's choice (or the one `--aggregation` names);
then for it, per threshold of the grid, the share emitted and the accuracy of the emitted arg-max labels, and
the threshold rule's choice. The test part is never read here.

    python experiments/record_thresholds.py [--aggregation A0|A1|A2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from affect import GRID, TARGET

from curate.annotations import gold_file
from curate.assets import data_root
from curate.models.abstention import DEFAULT, choose_per_label, describe, label_floors, withheld
from curate.models.card import read_card
from curate.models.evaluate import default_card
from curate.models.record_eval import tag_gold_records
from curate.schema import label_map, label_set
from curate.stages.tag import SEEKER, record_scores, seeker_units, text_chars

GOLD = "emotion-record-labels.jsonl"
MIN_EMITTED = 8  # per label: fewer record predictions than this say nothing about its precision (the rule)
MIN_SHARE = 0.20  # a single threshold must emit at least this share of the select records (the rule)
# the candidate weights of a unit from its length in characters (floor 1: an empty unit counts, no 0/0)
CANDIDATES = {"A0": lambda chars: np.ones(len(chars)),
              "A1": lambda chars: np.maximum(chars, 1).astype(np.float64),
              "A2": lambda chars: np.sqrt(np.maximum(chars, 1).astype(np.float64))}


def aggregate(tagged: pa.Table, weights_of) -> np.ndarray:  # noqa: ANN001 - one of CANDIDATES
    """The records' scores (one row per record of `tagged`) from their turns' emotion probabilities as the tag
    stage stored them, combined by the tag stage's `record_scores` with the candidate's weights."""
    turns = tagged.column("turns").combine_chunks()
    flat = pc.list_flatten(turns)
    rows = pc.list_parent_indices(turns).to_numpy(zero_copy_only=False).astype(np.int64)
    seeker = pc.equal(flat.field("role"), SEEKER).fill_null(False).to_numpy(zero_copy_only=False)
    use = seeker_units(rows, seeker, tagged.num_rows)
    probs = np.array(flat.field("emotion_scores").to_pylist(), dtype=np.float64)[use]
    chars = text_chars(flat.field("text"))[use]
    got, scores = record_scores(rows[use], probs, weights_of(chars), tagged.num_rows)
    if len(got) != tagged.num_rows:
        raise ValueError("a gold record has no units")
    return scores.astype(np.float64)


def accuracies(scores: np.ndarray, gold: list[str], labels: list[str]) -> tuple[float, float, float]:
    """13-label and six-way arg-max accuracy, and the share of records whose arg-max is grateful."""
    groups = label_map("emotion_coarse")
    pred = np.array(labels)[scores.argmax(axis=1)]
    right6 = np.array([groups[p] == groups[g] for p, g in zip(pred, gold, strict=True)])
    return float((pred == np.array(gold)).mean()), float(right6.mean()), float((pred == "grateful").mean())


def choose_aggregation(table: dict[str, tuple[float, float, float]]) -> str:
    """The aggregation rule: the highest 13-label arg-max accuracy (ties to the earlier, simpler candidate),
    taken only if its six-way accuracy beats A0's; else A0."""
    best = max(CANDIDATES, key=lambda c: (table[c][0], -list(CANDIDATES).index(c)))
    return best if table[best][1] > table["A0"][1] else "A0"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--aggregation", choices=list(CANDIDATES),
                    help="the aggregation to apply the threshold rule to (default: the aggregation rule's choice)")
    args = ap.parse_args(argv)
    card = read_card(default_card("emotion"))
    # score with no record thresholds: every record's arg-max is then visible (its scores do not depend on them)
    rec = tag_gold_records(card, gold_file(GOLD), args.data_root.resolve(), "select",
                           record_min_confidence={DEFAULT: 0.0})
    assert rec.tagged is not None
    labels = list(label_set("emotion"))
    candidates = {name: aggregate(rec.tagged, weights_of) for name, weights_of in CANDIDATES.items()}
    # which candidate the tag stage ships: the one its record scores equal (turn scores are stored as float32)
    shipped = [name for name, s in candidates.items() if np.allclose(s, rec.scores, atol=1e-5)]
    print(f"select part: {len(rec.gold)} records; the tag stage's record scores are {shipped or 'none of them'}")
    table = {name: accuracies(s, rec.gold, labels) for name, s in candidates.items()}
    print(f"{'candidate':>10}{'arg-max':>9}{'six-way':>9}{'grateful':>10}")
    for name, (acc, acc6, grateful) in table.items():
        print(f"{name:>10}{acc:>9.3f}{acc6:>9.3f}{grateful:>10.1%}")
    chosen_agg = choose_aggregation(table)
    print(f"aggregation rule: {chosen_agg}")
    agg = args.aggregation or chosen_agg
    scores = candidates[agg]
    top = scores.argmax(axis=1)
    conf = scores.max(axis=1)
    pred = np.array(labels)[top]
    right = pred == np.array(rec.gold)
    groups = label_map("emotion_coarse")
    right6 = np.array([groups[p] == groups[g] for p, g in zip(pred, rec.gold, strict=True)])
    print(f"{agg}: arg-max accuracy {right.mean():.3f}, six-way {right6.mean():.3f}")
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
        per_label = choose_per_label(labels, rec.gold, scores, GRID, TARGET, MIN_EMITTED)
        named = {lab: t for lab, t in per_label.items() if t < 1.0}
        chosen = {DEFAULT: 1.0, **named} if named else None
        print(f"rule step 3 (per label, at least {MIN_EMITTED} predictions right >= {TARGET}): "
              f"{describe(chosen) if chosen else 'none qualifies (step 4: no record_min_confidence)'}")
    if chosen is not None:
        emitted = ~withheld(scores, label_floors(chosen, labels))
        print(f"on select with it: {emitted.mean():.1%} emitted ({int(emitted.sum())}), right "
              f"{right[emitted].mean() if emitted.any() else float('nan'):.3f}, six-way "
              f"{right6[emitted].mean() if emitted.any() else float('nan'):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
