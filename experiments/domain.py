"""Domain classifier experiments: build the weak-label data, train fastText (one-vs-all), score on CWT2's test file.

    .venv/bin/python experiments/domain.py                       # config as is, chars and words
    .venv/bin/python experiments/domain.py --set pseudo.per_label=500 --set stopword_view.share=0

Metrics on `web/cwt2-domain-test.txt` (never trained on): top-1 accuracy (top label in gold),
per-label precision/recall/F1 at threshold 0.5, macro-F1. The test line's tokens are joined by single
spaces and featurised like any text.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any  # fastText's model class has no type hints

from curate.assets import data_root
from curate.models.examples import Example
from curate.models.features import featurize
from curate.models.training_data import domain

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ftcv import labelled_lines, load_config, train_lines  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def read_test(path: Path) -> list[Example]:
    """CWT2 fastText lines → examples (labels, space-joined tokens)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        toks = line.split()
        labs = tuple(t[9:] for t in toks if t.startswith("__label__"))
        out.append(Example(labs, " ".join(t for t in toks if not t.startswith("__label__"))))
    return out


def train(examples: list[Example], mode: str, max_chars: int, params: dict, seed: int) -> Any:
    """fastText one-vs-all model on featurised examples (child-process trainer, unquantised)."""
    return train_lines(labelled_lines(examples, mode, max_chars), params, seed)


def evaluate(model: Any, examples: list[Example], mode: str, max_chars: int,
             labels: list[str], threshold: float = 0.5) -> dict:
    """Top-1 accuracy, per-label P/R/F1 at `threshold`, macro-F1."""
    feats = featurize([e.text for e in examples], mode, max_chars)
    tp = dict.fromkeys(labels, 0)
    fp = dict.fromkeys(labels, 0)
    fn = dict.fromkeys(labels, 0)
    top1 = 0
    tops: dict[str, int] = {}
    for ex, ft in zip(examples, feats, strict=True):
        labs, probs = model.predict(ft, k=-1, threshold=0.0)
        scores = {lab[9:]: float(p) for lab, p in zip(labs, probs, strict=True)}
        top = max(labels, key=lambda x: scores.get(x, 0.0))
        top1 += top in ex.labels
        tops[top] = tops.get(top, 0) + 1
        pred = {x for x in labels if scores.get(x, 0.0) >= threshold}
        for x in labels:
            g = x in ex.labels
            tp[x] += g and x in pred
            fp[x] += (not g) and x in pred
            fn[x] += g and x not in pred
    per = {}
    for x in labels:
        p = tp[x] / (tp[x] + fp[x]) if tp[x] + fp[x] else 0.0
        r = tp[x] / (tp[x] + fn[x]) if tp[x] + fn[x] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per[x] = {"p": round(p, 3), "r": round(r, 3), "f1": round(f, 3), "support": tp[x] + fn[x]}
    return {"top1": round(top1 / len(examples), 3),
            "macro_f1": round(sum(v["f1"] for v in per.values()) / len(labels), 3), "per_label": per,
            "top_counts": dict(sorted(tops.items()))}


def main() -> None:
    """Run one experiment and print a JSON summary and a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "classifiers/train/domain.yaml"))
    ap.add_argument("--data-root", default=str(data_root()))
    ap.add_argument("--modes", default="chars,words")
    ap.add_argument("--set", action="append", default=[], help="data.* override, e.g. pseudo.per_label=500")
    ap.add_argument("--ft", action="append", default=[], help="fasttext param override, e.g. epoch=5")
    args = ap.parse_args()
    conf, data_cfg, params = load_config(args)
    root = Path(args.data_root)
    t0 = time.time()
    splits = domain.build(data_cfg, root)
    print(f"built in {time.time() - t0:.0f}s: {splits.counts()} {json.dumps(splits.notes, ensure_ascii=False)}")
    test = read_test(root / "web/cwt2-domain-test.txt")
    labels = list(conf["labels"])
    max_chars = int(conf["features"].get("max_chars", 2000))
    for mode in args.modes.split(","):
        t0 = time.time()
        model = train(splits.train, mode, max_chars, params, int(conf["seed"]))
        res = evaluate(model, test, mode, max_chars, labels)
        val = evaluate(model, splits.valid, mode, max_chars, labels)
        print(f"\n== {mode}: test top1={res['top1']} macroF1={res['macro_f1']} | weak-valid top1={val['top1']} "
              f"macroF1={val['macro_f1']} ({time.time() - t0:.0f}s)")
        print(f"{'label':<13}{'P':>7}{'R':>7}{'F1':>7}{'supp':>6}")
        for x, v in res["per_label"].items():
            print(f"{x:<13}{v['p']:>7}{v['r']:>7}{v['f1']:>7}{v['support']:>6}")
        print("predicted top labels:", res["top_counts"])


if __name__ == "__main__":
    main()
