"""ESC-relevance experiments: build the task's data, train fastText, report valid metrics per source.

Reads `classifiers/train/esc_relevance.yaml`, builds train/valid with
`curate.models.training_data.esc_relevance.build_units` (data read in place from `--data-root`, nothing copied),
featurises with `curate.models.features.featurize` in each `--modes` mode, trains fastText with the
config's `fasttext:` settings through `curate train`'s child-process trainer (thread=1, the config seed,
unquantised), and prints per mode: featurise and train time (train includes the child process's start),
accuracy, macro-F1, P/R/F1 of `esc`, the majority-class baseline, and per source/kind the error rate and
count of errors. The web samples are evaluation-only (split `eval`, never trained on, not part of the valid
metrics): their errors are printed as a separate "web (eval only)" table. With `--model CARD` nothing is
trained: the card's model (e.g. one written by `curate train esc_relevance` or `train_task(...,
out_dir=...)`) is scored with its calibration and threshold.

Usage::

    .venv/bin/python experiments/esc_relevance.py [--modes chars words] [--set fasttext.dim=64 ...]
    .venv/bin/python experiments/esc_relevance.py --model /tmp/esc-helper/esc_relevance.yaml
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from curate.assets import data_root
from curate.models.fasttext_backend import load_fasttext
from curate.models.fasttext_train import train_fasttext
from curate.models.features import featurize
from curate.models.training_data.esc_relevance import EVAL, NEG, POS, Unit, build_units

ROOT = Path(__file__).resolve().parents[1]


def _set(cfg: dict, assignment: str) -> None:
    key, _, value = assignment.partition("=")
    *path, last = key.split(".")
    node = cfg
    for p in path:
        node = node.setdefault(p, {})
    node[last] = yaml.safe_load(value)


def metrics(gold: list[str], pred: list[str]) -> dict[str, float]:
    """Accuracy, macro-F1 over both labels, P/R/F1 of `esc`, majority-class accuracy."""
    out: dict[str, float] = {"accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)}
    f1s = []
    for lab in (POS, NEG):
        tp = sum(g == p == lab for g, p in zip(gold, pred, strict=True))
        fp = sum(p == lab != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == lab != p for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        f1s.append(f1)
        if lab == POS:
            out.update(esc_precision=prec, esc_recall=rec, esc_f1=f1)
    out["macro_f1"] = sum(f1s) / len(f1s)
    out["majority_baseline"] = Counter(gold).most_common(1)[0][1] / len(gold)
    return out


def run(cfg: dict, units: list[Unit], mode: str) -> None:
    """Train and evaluate one feature mode; print the report."""
    train = [u for u in units if u.split == "train"]
    valid = [u for u in units if u.split == "valid"]
    held = [u for u in units if u.split == EVAL]
    max_chars = int(cfg.get("features", {}).get("max_chars", 2000))
    t0 = time.perf_counter()
    xtr = featurize([u.text for u in train], mode, max_chars)
    xva = featurize([u.text for u in valid], mode, max_chars)
    t_feat = time.perf_counter() - t0
    nchars = sum(len(u.text[:max_chars]) for u in train + valid)
    with tempfile.TemporaryDirectory(prefix="esc-exp-") as tmp:
        path = Path(tmp) / "train.txt"
        with path.open("w", encoding="utf-8") as f:
            for u, x in zip(train, xtr, strict=True):
                f.write(f"__label__{u.label} {x}\n")
        t0 = time.perf_counter()
        train_fasttext(path, Path(tmp) / "m.bin", seed=int(cfg.get("seed", 1)), params=dict(cfg["fasttext"]),
                       quantize=None)
        t_train = time.perf_counter() - t0
        model = load_fasttext(Path(tmp) / "m.bin")
    t0 = time.perf_counter()
    labels, _ = model.predict(xva, k=1)
    t_pred = time.perf_counter() - t0
    pred = [lab[0].removeprefix("__label__") for lab in labels]
    labels_e, _ = model.predict(featurize([u.text for u in held], mode, max_chars), k=1) if held else ([], [])
    print(f"\n== mode={mode}  featurise {t_feat:.1f}s ({nchars / t_feat / 1e6:.2f} Mchar/s), "
          f"train {t_train:.1f}s, predict {t_pred:.2f}s ({len(valid)} texts)")
    report_errors(valid, pred, held, [lab[0].removeprefix("__label__") for lab in labels_e])


def report_errors(valid: list[Unit], pred: list[str], held: list[Unit], pred_held: list[str]) -> None:
    """Valid metrics, per-source errors on valid, and the eval-only (web) errors as a separate table."""
    m = metrics([u.label for u in valid], pred)
    print("  valid: " + "  ".join(f"{k}={v:.4f}" for k, v in m.items()))
    for title, units, preds in (("valid", valid, pred), ("web (eval only)", held, pred_held)):
        if not units:
            continue
        errs: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for u, p in zip(units, preds, strict=True):
            e = errs[(u.source, u.label)]
            e[0] += p != u.label
            e[1] += 1
        ne_all = sum(e[0] for e in errs.values())
        print(f"  -- {title}: {ne_all} errors / {len(units)} ({100 * ne_all / len(units):.1f}%)")
        print(f"  {'source':24s} {'gold':6s} {'errors':>7s} {'n':>6s} {'err%':>6s}")
        for (src, lab), (ne, n) in sorted(errs.items()):
            print(f"  {src:24s} {lab:6s} {ne:7d} {n:6d} {100 * ne / n:6.1f}")


def score_card(card: Path, units: list[Unit]) -> None:
    """Score a trained model (its card: calibration, threshold) on valid and the eval-only slice."""
    from curate.models.classifier import load_classifier

    clf = load_classifier(card)
    thr = clf.card.threshold if clf.card.threshold is not None else 0.5
    j = clf.card.labels.index(POS)
    valid = [u for u in units if u.split == "valid"]
    held = [u for u in units if u.split == EVAL]
    preds = []
    for us in (valid, held):
        p = clf.predict_proba([u.text for u in us])[:, j] if us else []
        preds.append([POS if x >= thr else NEG for x in p])
    print(f"\n== model {card} (threshold {thr})")
    report_errors(valid, preds[0], held, preds[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "classifiers/train/esc_relevance.yaml")
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--modes", nargs="+", default=["chars", "words"])
    ap.add_argument("--set", action="append", default=[], help="override a config key, e.g. fasttext.dim=64")
    ap.add_argument("--model", type=Path, help="score this trained model's card instead of training")
    args = ap.parse_args()
    cfg = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    for a in args.set:
        _set(cfg, a)
    t0 = time.perf_counter()
    units = build_units(cfg["data"], args.data_root)
    counts = Counter((u.split, u.label) for u in units)
    print(f"built {len(units)} units in {time.perf_counter() - t0:.1f}s: {dict(sorted(counts.items()))}")
    if args.model:
        score_card(args.model, units)
        return
    for mode in args.modes:
        run(cfg, units, mode)


if __name__ == "__main__":
    main()
