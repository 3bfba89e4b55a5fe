"""Record-level emotion: the aggregation over a record's units and its thresholds (`record_min_confidence`), from
the record gold, by the rules in experiments/README.md ("Record-level emotion thresholds", "The record's
aggregation over its units", "Record aggregation that treats thanks as ritual").

The shipped emotion card's records are built as a run builds them (SMILECHAT reader, per_record stages, tag
stage: `curate.models.record_eval`). Each candidate aggregation combines the tag stage's turn probabilities with
the tag stage's own `record_scores`: A0 the mean of the seeker turns' probabilities, A1 weighted by each turn's
length in characters, A2 by its square root (`--rule length`, select part); A1, B1 (length x (1 - p_grateful)),
B2 (length x (1 - p_positive)), B3 (A1 with the grateful mass removed, renormalised) (`--rule ritual`, the
default). Per candidate, the 13-label and six-way arg-max accuracy, the majority label's share and the share of
grateful arg-max; the rule's choice (or the one `--aggregation` names); then for it, per threshold of the grid,
the share emitted and the accuracy of the emitted arg-max labels, the threshold rule's choice, and a 5-fold
out-of-fold estimate of that rule. `--all` reads the first record gold file's select and test parts (the test
part, read twice, is selection data since the ritual rule). `--gate FILE ...` applies the out-of-sample threshold
rule ("Record thresholds that hold out of sample") to every row of the files named (the selection files only).

    python experiments/record_thresholds.py [--rule ritual|length] [--all] [--aggregation NAME]
    python experiments/record_thresholds.py --gate classifiers/annotations/emotion-record-labels.jsonl \
        classifiers/annotations/emotion-record-labels-2.jsonl
"""

from __future__ import annotations

import argparse
from collections import Counter
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
from curate.models.record_eval import tag_gold_records, wilson
from curate.schema import label_map, label_set
from curate.stages.tag import RITUAL_FLOOR, SEEKER, record_scores, seeker_units, text_chars, unit_weights

GOLD = "emotion-record-labels.jsonl"
MIN_EMITTED = 8  # per label: fewer record predictions than this say nothing about its precision (the rule)
MIN_SHARE = 0.20  # a single threshold must emit at least this share of the select records (the rule)
FOLDS, FOLD_SEED = 5, 0  # the out-of-fold estimate of the threshold rule (reported, not a gate)
GATE_SEEDS = (0, 1, 2)  # the gate's fold seeds: each record held out once per seed (the out-of-sample rule)


def _length(chars: np.ndarray, probs: np.ndarray) -> np.ndarray:  # noqa: ARG001 - one signature for all
    return unit_weights(chars)


def _not_grateful(chars: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """B1: max(chars, 1) x (1 - the unit's grateful probability), at least the tag stage's RITUAL_FLOOR of it."""
    grateful = label_set("emotion").index("grateful")
    return unit_weights(chars) * np.maximum(1.0 - probs[:, grateful], RITUAL_FLOOR)


def _without_grateful(scores: np.ndarray) -> np.ndarray:
    """A record distribution with its grateful mass removed and the rest renormalised."""
    out = scores.copy()
    out[:, label_set("emotion").index("grateful")] = 0.0
    return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12)


# name -> (a unit's weight from its length and emotion probabilities, the record scores' transform)
CANDIDATES = {"A0": (lambda chars, probs: np.ones(len(chars)), None),
              "A1": (_length, None),
              "A2": (lambda chars, probs: np.sqrt(np.maximum(chars, 1).astype(np.float64)), None),
              "B1": (_not_grateful, None),
              "B2": (unit_weights, None),  # what the tag stage ships: length x (1 - positive mass)
              "B3": (_length, _without_grateful)}
# each rule: its candidates in order (ties go to the earlier), its baseline, how many records count as a tie
RULES = {"length": (["A0", "A1", "A2"], "A0", 0), "ritual": (["A1", "B1", "B2", "B3"], "A1", 1)}


def aggregate(tagged: pa.Table, candidate: str) -> np.ndarray:
    """The records' scores (one row per record of `tagged`) from their turns' emotion probabilities as the tag
    stage stored them, combined by the tag stage's `record_scores` with the candidate's weights."""
    weights_of, transform = CANDIDATES[candidate]
    turns = tagged.column("turns").combine_chunks()
    flat = pc.list_flatten(turns)
    rows = pc.list_parent_indices(turns).to_numpy(zero_copy_only=False).astype(np.int64)
    seeker = pc.equal(flat.field("role"), SEEKER).fill_null(False).to_numpy(zero_copy_only=False)
    use = seeker_units(rows, seeker, tagged.num_rows)
    probs = np.array(flat.field("emotion_scores").to_pylist(), dtype=np.float64)[use]
    chars = text_chars(flat.field("text"))[use]
    got, scores = record_scores(rows[use], probs, weights_of(chars, probs), tagged.num_rows)
    if len(got) != tagged.num_rows:
        raise ValueError("a gold record has no units")
    scores = scores.astype(np.float64)
    return transform(scores) if transform else scores


def accuracies(scores: np.ndarray, gold: list[str], labels: list[str]) -> tuple[float, float, float, float]:
    """13-label and six-way arg-max accuracy, the share of records whose arg-max is the majority gold label, and
    the share whose arg-max is grateful."""
    groups = label_map("emotion_coarse")
    pred = np.array(labels)[scores.argmax(axis=1)]
    right6 = np.array([groups[p] == groups[g] for p, g in zip(pred, gold, strict=True)])
    majority = max(set(gold), key=gold.count)
    return (float((pred == np.array(gold)).mean()), float(right6.mean()), float((pred == majority).mean()),
            float((pred == "grateful").mean()))


def choose_aggregation(table: dict[str, tuple[float, ...]], rule: str, n: int) -> str:
    """The aggregation rule: the highest 13-label arg-max accuracy (candidates within `tie` records of it count
    as tied; ties to the earlier), taken only if both its 13-label and six-way accuracy beat the baseline's."""
    names, base, tie = RULES[rule]
    top = max(table[c][0] for c in names)
    best = next(c for c in names if table[c][0] >= top - tie / n - 1e-12)
    beats = table[best][0] > table[base][0] and table[best][1] > table[base][1]
    return best if best == base or (beats if rule == "ritual" else table[best][1] > table[base][1]) else base


def threshold_rule(scores: np.ndarray, gold: list[str], labels: list[str]) -> float | dict[str, float] | None:
    """The threshold rule: the smallest single grid threshold emitting >= MIN_SHARE right >= TARGET, else per
    label (>= MIN_EMITTED predictions right >= TARGET), else None."""
    top, conf = scores.argmax(axis=1), scores.max(axis=1)
    right = np.array(labels)[top] == np.array(gold)
    for t in GRID:
        m = conf >= t
        if m.any() and m.mean() >= MIN_SHARE and right[m].mean() >= TARGET:
            return float(t)
    named = {lab: t for lab, t in choose_per_label(labels, gold, scores, GRID, TARGET, MIN_EMITTED).items() if t < 1.0}
    return {DEFAULT: 1.0, **named} if named else None


def out_of_fold(scores: np.ndarray, gold: list[str], labels: list[str], seed: int = FOLD_SEED, choose=None,  # noqa: ANN001
                fallback: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Which records a threshold chooser (default `threshold_rule`; a chooser like it), fitted on the other
    FOLDS - 1 folds (by `seed`), emits when each fold is held out, and the rule each fold chose; a fold whose
    chooser chooses none uses `fallback` floors (the card's turn thresholds), or emits nothing without them."""
    choose = choose or threshold_rule
    fold = np.random.default_rng(seed).permutation(len(gold)) % FOLDS
    emitted = np.zeros(len(gold), dtype=bool)
    chosen = []
    gold_arr = np.array(gold)
    for k in range(FOLDS):
        train, held = fold != k, fold == k
        rule = choose(scores[train], gold_arr[train].tolist(), labels)
        chosen.append(describe(rule) if rule is not None else "none")
        floors = label_floors(rule, labels) if rule is not None else fallback
        if floors is not None:
            emitted[held] = ~withheld(scores[held], floors)
    return emitted, chosen


def gated_rule(scores: np.ndarray, gold: list[str], labels: list[str], report: list[str] | None = None
               ) -> dict[str, float] | None:
    """The out-of-sample rule: `threshold_rule`'s thresholds on all the records, kept only for the labels whose
    held-out emissions (`threshold_rule` fitted on four fifths; FOLDS folds x GATE_SEEDS, pooled) number at least
    MIN_EMITTED per seed and are right >= TARGET; the others never emitted; None when no label passes. `report`
    gets one line per label that was emitted out of fold."""
    top = scores.argmax(axis=1)
    right = np.array(labels)[top] == np.array(gold)
    emitted_n, right_n = np.zeros(len(labels), np.int64), np.zeros(len(labels), np.int64)
    for seed in GATE_SEEDS:
        em, _ = out_of_fold(scores, gold, labels, seed)
        emitted_n += np.bincount(top[em], minlength=len(labels))
        right_n += np.bincount(top[em & right], minlength=len(labels))
    passed = (emitted_n >= MIN_EMITTED * len(GATE_SEEDS)) & (right_n >= TARGET * np.maximum(emitted_n, 1))
    for j in np.flatnonzero(emitted_n):
        if report is not None:
            report.append(f"  {labels[j]:<15} held out: {right_n[j]}/{emitted_n[j]} right "
                          f"({right_n[j] / emitted_n[j]:.3f}) {'passes' if passed[j] else 'fails'}")
    full = threshold_rule(scores, gold, labels)
    if full is None:
        return None
    floors = label_floors(full, labels)
    named = {lab: float(floors[j]) for j, lab in enumerate(labels) if passed[j] and np.isfinite(floors[j])}
    return {DEFAULT: 1.0, **named} if named else None


def gate_main(card, files: list[Path], data_root_: Path) -> int:  # noqa: ANN001 - a ModelCard
    """The out-of-sample rule on every row of `files`, with the tag stage's own record scores."""
    labels = list(label_set("emotion"))
    gold: list[str] = []
    parts = []
    for f in files:
        rec = tag_gold_records(card, f, data_root_, None, record_min_confidence={DEFAULT: 0.0})
        gold += rec.gold
        parts.append(rec.scores)
        print(f"{f}: {len(rec.gold)} records")
    scores = np.concatenate(parts)
    right = np.array(labels)[scores.argmax(axis=1)] == np.array(gold)
    counts = Counter(gold)
    print(f"{len(gold)} records; arg-max accuracy {right.mean():.3f}; majority {counts.most_common(1)[0][0]} "
          f"{counts.most_common(1)[0][1] / len(gold):.3f}")
    print(f"R on all: {describe(threshold_rule(scores, gold, labels))}")
    report: list[str] = []
    rule = gated_rule(scores, gold, labels, report)
    print(f"the gate ({FOLDS} folds x seeds {GATE_SEEDS}, pooled; >= {MIN_EMITTED * len(GATE_SEEDS)} held-out "
          f"emissions right >= {TARGET}):")
    print("\n".join(report) or "  no label emitted out of fold")
    print(f"gated rule: {describe(rule) if rule is not None else 'none passes (no record_min_confidence)'}")
    if rule is not None:
        em = ~withheld(scores, label_floors(rule, labels))
        print(f"in sample with it: {em.mean():.1%} emitted ({int(em.sum())}), right "
              f"{right[em].mean() if em.any() else float('nan'):.3f}")
    oof, _ = out_of_fold(scores, gold, labels, FOLD_SEED, gated_rule)
    k = int(right[oof].sum())
    low, high = wilson(k, int(oof.sum()))
    print(f"the gated procedure out of fold (seed {FOLD_SEED}): {oof.mean():.1%} emitted ({int(oof.sum())}), right "
          f"{right[oof].mean() if oof.any() else float('nan'):.3f} ({k}; Wilson 95 % {low:.3f}-{high:.3f})")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--rule", choices=list(RULES), default="ritual",
                    help="which aggregation rule: ritual (A1, B1-B3; the default) or length (A0-A2)")
    ap.add_argument("--all", action="store_true",
                    help="read both parts of the first record gold file (select and the twice-read test part)")
    ap.add_argument("--gate", nargs="+", type=Path, metavar="GOLD_FILE",
                    help="the out-of-sample threshold rule on every row of these record gold files (the tag "
                         "stage's aggregation; no candidates)")
    ap.add_argument("--aggregation", choices=list(CANDIDATES),
                    help="the aggregation to apply the threshold rule to (default: the aggregation rule's choice)")
    args = ap.parse_args(argv)
    card = read_card(default_card("emotion"))
    if args.gate:
        return gate_main(card, args.gate, args.data_root.resolve())
    # score with no record thresholds: every record's arg-max is then visible (its scores do not depend on them)
    rec = tag_gold_records(card, gold_file(GOLD), args.data_root.resolve(), None if args.all else "select",
                           record_min_confidence={DEFAULT: 0.0})
    assert rec.tagged is not None
    labels = list(label_set("emotion"))
    names = RULES[args.rule][0]
    candidates = {name: aggregate(rec.tagged, name) for name in dict.fromkeys([*names, args.aggregation or names[0]])}
    # which candidate the tag stage ships: the one its record scores equal (turn scores are stored as float32)
    shipped = [name for name, s in candidates.items() if np.allclose(s, rec.scores, atol=1e-5)]
    part = "select and test parts" if args.all else "select part"
    print(f"{part}: {len(rec.gold)} records; the tag stage's record scores are {shipped or 'none of them'}")
    groups = label_map("emotion_coarse")
    counts, counts6 = Counter(rec.gold), Counter(groups[g] for g in rec.gold)
    print("gold:", dict(counts.most_common()))
    print(f"majority label {counts.most_common(1)[0][0]} {counts.most_common(1)[0][1] / len(rec.gold):.3f}, six-way "
          f"{counts6.most_common(1)[0][0]} {counts6.most_common(1)[0][1] / len(rec.gold):.3f}")
    table = {name: accuracies(s, rec.gold, labels) for name, s in candidates.items()}
    print(f"{'candidate':>10}{'arg-max':>9}{'six-way':>9}{'as majority':>13}{'grateful':>10}")
    for name, (acc, acc6, majority, grateful) in table.items():
        print(f"{name:>10}{acc:>9.3f}{acc6:>9.3f}{majority:>13.1%}{grateful:>10.1%}")
    chosen_agg = choose_aggregation(table, args.rule, len(rec.gold))
    print(f"aggregation rule ({args.rule}): {chosen_agg}")
    agg = args.aggregation or chosen_agg
    scores = candidates[agg]
    top = scores.argmax(axis=1)
    conf = scores.max(axis=1)
    pred = np.array(labels)[top]
    right = pred == np.array(rec.gold)
    right6 = np.array([groups[p] == groups[g] for p, g in zip(pred, rec.gold, strict=True)])
    print(f"{agg}: arg-max accuracy {right.mean():.3f}, six-way {right6.mean():.3f}")
    print("predicted:", dict(Counter(pred.tolist()).most_common()))
    print(f"{'threshold':>10}{'emitted':>10}{'n':>5}{'accuracy':>10}{'six-way':>9}")
    for t in GRID:
        m = conf >= t
        acc = right[m].mean() if m.any() else float("nan")
        print(f"{t:>10.2f}{m.mean():>10.1%}{m.sum():>5}{acc:>10.3f}{right6[m].mean() if m.any() else float('nan'):>9.3f}")
    print("per label, emitted/right at each threshold where predicted at least once:")
    for j, lab in enumerate(labels):
        if (top == j).any():
            row = "  ".join(f"{t:.2f}:{int(((top == j) & (conf >= t)).sum())}/{int((right & (top == j) & (conf >= t)).sum())}"
                            for t in GRID if ((top == j) & (conf >= t)).any())
            print(f"  {lab:<15}{row}")
    chosen = threshold_rule(scores, rec.gold, labels)
    print(f"threshold rule: {describe(chosen) if chosen is not None else 'none qualifies (no record_min_confidence)'}")
    if chosen is not None:
        emitted = ~withheld(scores, label_floors(chosen, labels))
        print(f"in sample with it: {emitted.mean():.1%} emitted ({int(emitted.sum())}), right "
              f"{right[emitted].mean() if emitted.any() else float('nan'):.3f}, six-way "
              f"{right6[emitted].mean() if emitted.any() else float('nan'):.3f}")
    oof, rules = out_of_fold(scores, rec.gold, labels, fallback=label_floors(card.min_confidence, labels))
    k = int(right[oof].sum())
    low, high = wilson(k, int(oof.sum()))
    print(f"{FOLDS}-fold out of fold (seed {FOLD_SEED}; rules per fold: {rules}): {oof.mean():.1%} emitted "
          f"({int(oof.sum())}), right {right[oof].mean() if oof.any() else float('nan'):.3f} ({k}; Wilson 95 % "
          f"{low:.3f}-{high:.3f}), six-way {right6[oof].mean() if oof.any() else float('nan'):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
