"""Model selection for the written emotion and sentiment taggers: `min_confidence` from out-of-fold predictions.

The written taggers train on the `select` part of the hand-labelled seeker turns, so their own predictions
on it are optimistic. This trains the shipped config 4 times, each time without one fold of the select
dialogues (folds by a hash of the dialogue id), collects the held-out folds' probabilities and prints, per
threshold, the share of labels emitted and their accuracy. The card's `min_confidence` is the smallest
threshold whose emitted labels are right at least 70 % of the time, or, per label, the smallest threshold at
which that label's predictions are right at least 70 % of the time. The `test` part is never read. The
dialogue-act and strategy models never train on their valid split, so for them the shipped model is scored
on it directly.

    python experiments/affect.py confidence emotion
    python experiments/affect.py confidence sentiment [--config VARIANT.yaml]
    python experiments/affect.py confidence strategy
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import yaml

from curate.annotations import gold_file, read_gold_turns, read_rows
from curate.assets import data_root
from curate.models.abstention import choose_per_label, label_floors, withheld
from curate.models.classifier import load_classifier
from curate.models.evaluate import default_card
from curate.models.train import build_splits, load_train_config, train_task
from curate.models.training_data.cped import SENTIMENT_OF_EMOTION
from curate.schema import label_map

FOLDS = 4
TARGET = 0.70
GRID = [*np.round(np.arange(0.0, 0.96, 0.05), 2), 0.97, 0.98, 0.99]
MIN_EMITTED = 10  # per-label thresholds: fewer predictions than this say nothing about a label's precision


def fold_of(dialogue_id: str) -> int:
    """The cross-validation fold of a dialogue."""
    return int(hashlib.sha1(f"affect-cv:{dialogue_id}".encode()).hexdigest()[:8], 16) % FOLDS


def out_of_fold(task: str, data_root: Path, config: Path | None = None,
                train_gold: Path | None = None) -> tuple[list[str], list[str], np.ndarray]:
    """Labels, gold labels and out-of-fold probabilities of the select part (trained on `train_gold`'s rows
    instead of the gold file's, when given: an older or smaller gold file scored on the same turns)."""
    cfg = load_train_config(task, config)
    gold_name = cfg.doc["data"]["gold"]["file"]
    turns = [t for t in read_gold_turns(gold_name, data_root) if t.part == "select"]  # every select turn is scored
    pinned = cfg.doc["data"]["gold"].get("rows")  # the config trains on the file's first rows only
    relabel = (lambda x: x) if task == "emotion" else SENTIMENT_OF_EMOTION.__getitem__
    labels: list[str] = list(cfg.doc["labels"])
    proba = np.zeros((len(turns), len(labels)))
    with tempfile.TemporaryDirectory(prefix="curate-affect-cv-") as tmp:
        for k in range(FOLDS):
            held = [i for i, t in enumerate(turns) if fold_of(t.dialogue_id) == k]
            exclude = Path(tmp) / f"gold-{k}.jsonl"
            # the fold's gold file: every row but the held-out fold's select turns
            rows = read_rows(train_gold) if train_gold else read_rows(gold_file(gold_name))[:pinned]
            keep = [r for r in rows if not (r["part"] == "select" and fold_of(r["dialogue_id"]) == k)]
            exclude.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), encoding="utf-8")
            gold_spec = {key: v for key, v in cfg.doc["data"]["gold"].items() if key != "rows"}
            doc = {**cfg.doc, "data": {**cfg.doc["data"], "gold": {**gold_spec, "file": str(exclude)}}}
            conf = Path(tmp) / f"{task}-{k}.yaml"
            conf.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
            card = train_task(task, config=conf, data_root=data_root, out_dir=Path(tmp) / f"m{k}")
            proba[held] = load_classifier(card).predict_proba([turns[i].text for i in held])
    return labels, [relabel(t.label) for t in turns], proba


def on_valid(task: str, data_root: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Labels, gold labels and the shipped model's probabilities on the valid split its config builds
    (the strategy hand labels; CPED valid for dialogue acts)."""
    valid = build_splits(load_train_config(task), data_root).valid
    clf = load_classifier(default_card(task))
    return clf.labels, [ex.labels[0] for ex in valid], clf.predict_examples(valid)


def print_confidence(labels: list[str], gold: list[str], proba: np.ndarray, groups: dict[str, str], where: str) -> None:
    """Per threshold, the share of labels emitted and their accuracy (labels, and the coarse `groups`), and the
    smallest threshold whose emitted labels are right at least TARGET of the time."""
    top = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    right = np.array([labels[t] == g for t, g in zip(top, gold, strict=True)])
    right6 = np.array([groups[labels[t]] == groups[g] for t, g in zip(top, gold, strict=True)])
    print(f"accuracy {where}: {right.mean():.3f}, coarse {right6.mean():.3f} (n={len(gold)})")
    print(f"{'min_confidence':>15}{'emitted':>10}{'accuracy':>10}{'coarse':>10}")
    chosen: dict[str, float | None] = {"label": None, "coarse": None}
    for t in GRID:
        m = conf >= t
        acc, acc6 = (right[m].mean(), right6[m].mean()) if m.any() else (float("nan"), float("nan"))
        print(f"{t:>15.2f}{m.mean():>10.1%}{acc:>10.3f}{acc6:>10.3f}")
        for key, a in (("label", acc), ("coarse", acc6)):
            if chosen[key] is None and m.any() and a >= TARGET:
                chosen[key] = float(t)
    print(f"smallest threshold with emitted accuracy >= {TARGET:.2f}: labels {chosen['label']}, coarse {chosen['coarse']}")
    per_label = choose_per_label(labels, gold, proba, GRID, TARGET, MIN_EMITTED)
    emitted = ~withheld(proba, label_floors(per_label, labels))
    print(f"per label (the smallest threshold at which that label's predictions, at least {MIN_EMITTED}, are right "
          f">= {TARGET:.2f}; 1 = never emitted): {per_label}")
    print(f"  labels emitted {emitted.mean():.1%}, right {right[emitted].mean() if emitted.any() else float('nan'):.3f}, "
          f"coarse {right6[emitted].mean() if emitted.any() else float('nan'):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["confidence"])
    ap.add_argument("task", choices=["emotion", "sentiment", "dialogue_act", "strategy"])
    ap.add_argument("--data-root", default=str(data_root()))
    ap.add_argument("--config", type=Path, help="a training config other than the shipped one (a variant)")
    ap.add_argument("--save", type=Path, help="also write the labels, gold labels and probabilities here (.npz)")
    ap.add_argument("--load", type=Path, help="read them from a --save file instead of training")
    ap.add_argument("--train-gold", type=Path, help="train on this gold file's rows (score the config's select part)")
    args = ap.parse_args(argv)
    if args.load:
        saved = np.load(args.load)
        labels, gold, proba = [str(x) for x in saved["labels"]], [str(x) for x in saved["gold"]], saved["proba"]
    elif args.task in ("emotion", "sentiment"):
        labels, gold, proba = out_of_fold(args.task, Path(args.data_root).resolve(), args.config, args.train_gold)
    else:  # trained without their valid split: the shipped model on it is already out of sample
        labels, gold, proba = on_valid(args.task, Path(args.data_root).resolve())
    if args.save:
        np.savez_compressed(args.save, labels=np.array(labels), gold=np.array(gold), proba=proba)
    where = "out of fold on the gold select part" if args.task in ("emotion", "sentiment") else "on the valid split"
    print_confidence(labels, gold, proba, label_map(f"{args.task}_coarse") or {lab: lab for lab in labels}, where)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
