"""Record-level sentiment of help-seekers' dialogues: how their seeker turns are combined, a label-shift
correction and the record thresholds, by the rule in experiments/README.md ("Record-level sentiment of
help-seekers' dialogues").

Gold: the record emotion gold files, each dialogue's sentiment being that of its gold emotion
(`SENTIMENT_OF_EMOTION`, as CPED pairs them). The dialogues go through the reader, the per_record stages and the
tag stage with the shipped emotion and sentiment cards (`curate.models.record_eval.gold_table`); each seeker turn's
sentiment probabilities are the written sentiment card's on its text (the card reads no context, as in the stage),
its emotion probabilities those the stage stored. Candidates S0-S3 as the rule names them, out of fold (5 folds x
seeds 0-2 pooled): accuracy, macro-F1 and the share called positive; the rule's choice; the threshold gate on its
cross-fitted scores; with S3, b fitted on every record.

    PYTHONPATH=.:experiments python experiments/record_sentiment.py [--files select|fresh] [--candidates S0 S1]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from record_calibration import cross_fitted
from record_thresholds import GATE_SEEDS, gated_rule, threshold_rule

from curate.annotations import gold_file
from curate.assets import data_root
from curate.models.abstention import DEFAULT, describe, label_floors, withheld
from curate.models.classifier import load_classifier
from curate.models.evaluate import default_card
from curate.models.label_shift import fit_log_bias
from curate.models.metrics import report
from curate.models.record_eval import gold_rows, gold_table, wilson
from curate.models.training_data.cped import SENTIMENT_OF_EMOTION
from curate.record_gold import read_gold_records
from curate.schema import label_set
from curate.stages.tag import RITUAL_FLOOR, SEEKER, Taggers, record_scores, unit_weights

FILES = {"select": ("emotion-record-labels.jsonl", "emotion-record-labels-2.jsonl", "emotion-record-labels-3.jsonl",
                    "emotion-record-labels-4.jsonl", "emotion-record-labels-emollm.jsonl"),
         "fresh": ("emotion-record-labels-5.jsonl", "emotion-record-labels-emollm-2.jsonl"),
         "fresh-smilechat": ("emotion-record-labels-5.jsonl",), "fresh-emollm": ("emotion-record-labels-emollm-2.jsonl",)}
ORDER = ("S0", "S1", "S2", "S3")
L2, TIE, MIN_GAIN = 0.01, 0.005, 0.02


def units(name: str, root: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, pa.Table]:
    """One gold file: gold sentiments, and per seeker turn its record (gold order), length, sentiment and emotion
    probabilities (label-set order), and the tagged records (gold order: the stage's own record sentiment)."""
    gold = read_gold_records(gold_file(name), root, label_set("emotion"))
    table, specs = gold_table(gold, root, {"emotion": {}, "sentiment": {}})
    tagged = Taggers(specs)(table)
    tagged = tagged.take(pa.array(gold_rows(tagged, gold, gold_file(name)), type=pa.int64()))
    turns = tagged.column("turns").combine_chunks()
    flat = pc.list_flatten(turns)
    rows = pc.list_parent_indices(turns).to_numpy(zero_copy_only=False).astype(np.int64)
    seeker = pc.equal(flat.field("role"), SEEKER).fill_null(False).to_numpy(zero_copy_only=False)
    texts = [t or "" for t in np.array(flat.field("text").to_pylist(), dtype=object)[seeker]]
    card = load_classifier(default_card("sentiment"))
    order = [card.labels.index(lab) for lab in label_set("sentiment")]
    sentiment = card.predict_proba(texts)[:, order].astype(np.float64)
    emotion = np.array(flat.field("emotion_scores").to_pylist(), dtype=np.float64)[seeker]
    chars = np.array([len(t) for t in texts], dtype=np.int64)
    return [SENTIMENT_OF_EMOTION[g.label] for g in gold], rows[seeker], chars, sentiment, emotion, tagged


def weights(candidate: str, chars: np.ndarray, sentiment: np.ndarray, emotion: np.ndarray) -> np.ndarray:
    """A seeker turn's weight in its record's sentiment under a candidate."""
    if candidate == "S0":
        return unit_weights(chars)
    if candidate == "S2":
        return unit_weights(chars, emotion)
    positive = label_set("sentiment").index("positive")  # S1, and S3 before its correction
    return unit_weights(chars) * np.maximum(1.0 - sentiment[:, positive], RITUAL_FLOOR)


def out_of_fold(scores: np.ndarray, gold: np.ndarray, candidate: str, seed: int) -> np.ndarray:
    """The candidate's record scores, S3's corrected by a b fitted on the other folds."""
    return cross_fitted(scores, gold, L2 if candidate == "S3" else None, seed).astype(np.float64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--files", choices=list(FILES), default="select")
    ap.add_argument("--candidates", nargs="+", choices=ORDER, default=list(ORDER))
    args = ap.parse_args(argv)
    root = args.data_root.resolve()
    labels = list(label_set("sentiment"))
    gold_l: list[str] = []
    parts: dict[str, list[np.ndarray]] = {c: [] for c in args.candidates}
    shipped_conf: list[np.ndarray] = []
    stage: list[str | None] = []
    for name in FILES[args.files]:
        g, rows, chars, sentiment, emotion, tagged = units(name, root)
        conf = np.array(tagged.column("sentiment_confidence").to_pylist(), dtype=np.float64)
        stage += tagged.column("sentiment").to_pylist()
        for c in args.candidates:
            got, sc = record_scores(rows, sentiment, weights(c, chars, sentiment, emotion), len(g))
            if len(got) != len(g):
                raise ValueError(f"{name}: a gold record has no seeker turns")
            parts[c].append(sc.astype(np.float64))
        gold_l += g
        shipped_conf.append(conf)
        print(f"{name}: {len(g)} records")
    gold = np.array([labels.index(x) for x in gold_l])
    counts = Counter(gold_l)
    print(f"{len(gold)} records; gold {dict(counts.most_common())}; majority {counts.most_common(1)[0][0]} "
          f"{counts.most_common(1)[0][1] / len(gold):.3f}")
    scores = {c: np.concatenate(p) for c, p in parts.items()}
    for c in (c for c in scores if c != "S3"):  # which the tag stage ships: the one whose confidences it gives
        if np.allclose(scores[c].max(axis=1), np.concatenate(shipped_conf), atol=1e-5):
            print(f"the tag stage's record sentiment is {c}")
    emitted = [(e, g) for e, g in zip(stage, gold_l, strict=True) if e is not None]
    k = sum(e == g for e, g in emitted)
    low, high = wilson(k, len(emitted))
    print(f"the stage emits {len(emitted) / len(gold_l):.1%} ({len(emitted)}), right {k / max(len(emitted), 1):.3f} "
          f"({k}; Wilson 95 % {low:.3f}-{high:.3f}); emitted {dict(Counter(e for e, _ in emitted))}")
    table = {}
    print(f"{'candidate':>10}{'accuracy':>10}{'macro-F1':>10}{'positive':>10}")
    for c in args.candidates:
        pooled = np.concatenate([out_of_fold(scores[c], gold, c, seed) for seed in GATE_SEEDS])
        rep = report(labels, [(labels[i],) for i in np.tile(gold, len(GATE_SEEDS))], pooled)
        table[c] = rep["accuracy"]
        print(f"{c:>10}{rep['accuracy']:>10.3f}{rep['macro_f1']:>10.3f}"
              f"{(pooled.argmax(axis=1) == labels.index('positive')).mean():>10.1%}")
    if args.files.startswith("fresh"):
        return 0
    best = max(table.values())
    pick = next(c for c in ORDER if c in table and table[c] >= best - TIE - 1e-12)
    chosen = pick if pick == "S0" or table[pick] >= table.get("S0", 0.0) + MIN_GAIN - 1e-12 else "S0"
    print(f"the rule chooses {chosen}")
    cf = out_of_fold(scores[chosen], gold, chosen, 0)
    note: list[str] = []
    rule = gated_rule(cf, gold_l, labels, note)
    print(f"the gate on its cross-fitted scores (seed 0); R on all: {describe(threshold_rule(cf, gold_l, labels))}")
    print("\n".join(note) or "  no label emitted out of fold")
    print(f"gated rule: {describe(rule) if rule is not None else 'none passes (no record sentiment)'}")
    em = ~withheld(cf, label_floors(rule if rule is not None else {DEFAULT: 1.0}, labels))
    right = cf.argmax(axis=1) == gold
    k, n = int(right[em].sum()), int(em.sum())
    low, high = wilson(k, n)
    print(f"cross-fitted: {em.mean():.1%} emitted ({n}), right {k / max(n, 1):.3f} (Wilson 95 % {low:.3f}-{high:.3f}); "
          f"emitted {dict(Counter(np.array(labels)[cf.argmax(axis=1)][em].tolist()))}")
    if chosen == "S3":
        print("record_bias (fitted on all records):")
        for lab, v in zip(labels, fit_log_bias(scores["S3"], gold, L2), strict=True):
            print(f"  {lab}: {v:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
