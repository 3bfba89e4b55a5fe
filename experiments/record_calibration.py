"""Record-level emotion for help-seekers: the label-shift correction softmax(log q + b) of the record scores, by
the rules in experiments/README.md ("A record-level label-shift correction for help-seekers"; with `--files all`,
"The correction and its gate on every record file read so far").

The record scores are the tag stage's own (`curate.models.record_eval`) with the card's `record_bias` left out.
Per candidate (C0: none; C(λ): b fitted with L2 weight λ), out of fold (b fitted on four fifths, applied to the
held-out fifth; 5 folds x fold seeds 0-2, pooled): 13-label and six-way arg-max accuracy, mean log-loss and the
share predicted per label; the rule's choice; the out-of-sample threshold gate (record_thresholds.py) on the
choice's cross-fitted scores (seed 0); and b fitted on every record at the chosen λ, for the training config.

    PYTHONPATH=.:experiments python experiments/record_calibration.py
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from record_thresholds import FOLDS, GATE_SEEDS, gated_rule, threshold_rule

from curate.annotations import gold_file, read_rows
from curate.assets import data_root
from curate.models.abstention import DEFAULT, describe, label_floors, withheld
from curate.models.card import ModelCard, read_card, write_card
from curate.models.evaluate import default_card
from curate.models.label_shift import FLOOR, apply_log_bias, fit_log_bias
from curate.models.record_eval import tag_gold_records, wilson
from curate.schema import label_map, label_set

FILES = {"first": ("emotion-record-labels.jsonl", "emotion-record-labels-2.jsonl", "emotion-record-labels-3.jsonl")}
FILES["all"] = (*FILES["first"], "emotion-record-labels-4.jsonl", "emotion-record-labels-emollm.jsonl")
LAMBDAS = (0.001, 0.01, 0.1)
TIE, MIN_GAIN, SIX_WAY_SLACK = 0.005, 0.02, 0.01  # the rule's tie, required gain and six-way allowance


def uncorrected(card: ModelCard, folder: Path) -> ModelCard:
    """The card as a file in `folder` without `record_bias` (the tag stage reads cards from files)."""
    bare = dataclasses.replace(card, record_bias=None, model=str(card.model_path), path=None)
    write_card(bare, folder / "emotion.yaml")
    return read_card(folder / "emotion.yaml")


def ids_of(name: str) -> list[str]:
    """A gold file's dialogue ids, in file order (the order `tag_gold_records` keeps)."""
    return [r["dialogue_id"] for r in read_rows(gold_file(name))]


def cross_fitted(scores: np.ndarray, gold: np.ndarray, l2: float | None, seed: int) -> np.ndarray:
    """Each record's scores corrected by a b fitted on the other folds (`l2` None: uncorrected)."""
    if l2 is None:
        return scores.astype(np.float32)
    fold = np.random.default_rng(seed).permutation(len(gold)) % FOLDS
    out = np.zeros(scores.shape, dtype=np.float32)
    for k in range(FOLDS):
        b = fit_log_bias(scores[fold != k], gold[fold != k], l2)
        out[fold == k] = apply_log_bias(scores[fold == k], b)
    return out


def figures(scores: np.ndarray, gold: np.ndarray, labels: list[str]) -> tuple[float, float, float]:
    """13-label and six-way arg-max accuracy and mean log-loss."""
    groups = label_map("emotion_coarse")
    top = scores.argmax(axis=1)
    six = np.array([groups[labels[p]] == groups[labels[g]] for p, g in zip(top, gold, strict=True)])
    loss = -np.log(np.maximum(scores[np.arange(len(gold)), gold].astype(np.float64), FLOOR)).mean()
    return float((top == gold).mean()), float(six.mean()), float(loss)


def choose(table: dict[float | None, tuple[float, float, float]]) -> float | None:
    """The rule: the best pooled 13-label accuracy among the C(λ) (a tie within TIE goes to the larger λ); it
    replaces C0 only if it gains >= MIN_GAIN on 13 labels and loses <= SIX_WAY_SLACK six-way."""
    best = max(table[lam][0] for lam in LAMBDAS)
    pick = max(lam for lam in LAMBDAS if table[lam][0] >= best - TIE - 1e-12)
    ok = table[pick][0] >= table[None][0] + MIN_GAIN - 1e-12 and table[pick][1] >= table[None][1] - SIX_WAY_SLACK
    return pick if ok else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--files", choices=list(FILES), default="first",
                    help="first: the three SMILECHAT files the correction was first fitted on; all: every file read")
    args = ap.parse_args(argv)
    card = uncorrected(read_card(default_card("emotion")), Path(tempfile.mkdtemp(prefix="curate-record-cal-")))
    labels = list(label_set("emotion"))
    gold_labels: list[str] = []
    parts = []
    for name in FILES[args.files]:
        rec = tag_gold_records(card, gold_file(name), args.data_root.resolve(), None,
                               record_min_confidence={DEFAULT: 0.0})
        gold_labels += rec.gold
        parts.append(rec.scores)
        print(f"{name}: {len(rec.gold)} records")
    scores = np.concatenate(parts)
    gold = np.array([labels.index(g) for g in gold_labels])
    corpus = np.array([i.split("-", 1)[0] for f in FILES[args.files] for i in ids_of(f)])
    corpora = sorted(set(corpus.tolist()))
    counts = Counter(gold_labels)
    print(f"{len(gold)} records; gold: {dict(counts.most_common())}")
    print(f"majority {counts.most_common(1)[0][0]} {counts.most_common(1)[0][1] / len(gold):.3f}")
    table: dict[float | None, tuple[float, float, float]] = {}
    print(f"{'candidate':>12}{'13-label':>10}{'six-way':>9}{'log-loss':>10}  predicted (pooled over seeds {GATE_SEEDS})")
    for lam in (None, *LAMBDAS):
        pooled = np.concatenate([cross_fitted(scores, gold, lam, seed) for seed in GATE_SEEDS])
        table[lam] = figures(pooled, np.tile(gold, len(GATE_SEEDS)), labels)
        share = Counter(np.array(labels)[pooled.argmax(axis=1)].tolist())
        top = ", ".join(f"{lab} {c / len(pooled):.1%}" for lab, c in share.most_common(5))
        name = "C0" if lam is None else f"C({lam:g})"
        print(f"{name:>12}{table[lam][0]:>10.3f}{table[lam][1]:>9.3f}{table[lam][2]:>10.3f}  {top}")
        if len(corpora) > 1:  # reported beside the pooled figures, not a gate
            tiled = np.tile(corpus, len(GATE_SEEDS))
            for c in corpora:
                acc, acc6, loss = figures(pooled[tiled == c], np.tile(gold, len(GATE_SEEDS))[tiled == c], labels)
                print(f"{c:>12}{acc:>10.3f}{acc6:>9.3f}{loss:>10.3f}")
    gold_share = ", ".join(f"{lab} {c / len(gold):.1%}" for lab, c in counts.most_common(5))
    print(f"{'gold':>41}  {gold_share}")
    lam = choose(table)
    print(f"the rule chooses: {'C0 (no correction)' if lam is None else f'C({lam:g})'}")
    cf = cross_fitted(scores, gold, lam, 0)
    report: list[str] = []
    rule = gated_rule(cf, gold_labels, labels, report)
    print(f"the gate on its cross-fitted scores (seed 0); R on all: {describe(threshold_rule(cf, gold_labels, labels))}")
    print("\n".join(report) or "  no label emitted out of fold")
    print(f"gated rule: {describe(rule) if rule is not None else 'none passes (no record_min_confidence)'}")
    # --files all: when no label passes, no record label at all (the per-turn thresholds were not chosen for
    # corrected record scores); the first rule fell back to them
    fallback = {DEFAULT: 1.0} if args.files == "all" else card.min_confidence
    floors = label_floors(rule if rule is not None else fallback, labels)
    em = ~withheld(cf, floors)
    right = cf.argmax(axis=1) == gold
    k, n = int(right[em].sum()), int(em.sum())
    low, high = wilson(k, n)
    print(f"cross-fitted, at {'the gated' if rule is not None else 'the fallback'} thresholds: {em.mean():.1%} "
          f"emitted ({n}), right {k / max(n, 1):.3f} (Wilson 95 % {low:.3f}-{high:.3f})")
    if lam is not None:
        b = fit_log_bias(scores, gold, lam)
        print("record_bias (fitted on all records):")
        for lab, v in zip(labels, b, strict=True):
            print(f"  {lab}: {v:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
