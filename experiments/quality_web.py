"""Quality model selection on real web text: cross-validation by document over the web gold set's select part.

    .venv/bin/python experiments/quality_web.py                                   # the config as it is
    .venv/bin/python experiments/quality_web.py --set gold.repeat=8 --set gold.medium=low --name med-low

The training data is what `curate train quality` builds from `classifiers/train/quality.yaml` (with `--set`
overrides of its `data:`), except that the gold select part (calibration slice included) is split into
`--folds` folds by document: each fold's model is trained on everything else and scores the held-out fold.
The pooled out-of-fold P(high) gives the AUC of each pair of reader levels (high > low, high > medium,
medium > low) and each level's share below 0.3 and 0.6 after a calibration fitted on those pooled scores
(targets low 0, medium 0.5, high 1): Platt, and Platt with the text's log length (`platt_length`, which
reorders the scores too). A model trained on the whole select part also scores ChineseWebText's
10 clean + 10 dirty examples (AUC, accuracy at 0.5). The gold `test` part is never read here. Models are
unquantised (selection only); the committed model is quantised.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from curate.models.calibration import apply_calibration, fit_platt, log_length
from curate.models.examples import Example
from curate.models.features import featurize
from curate.models.metrics import auc
from curate.models.training_data import quality, web_gold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ftcv import config_args, feature_settings, labelled_lines, load_config, train_lines  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GOLD = "web-hand-labels.jsonl"
TARGET = {"low": 0.0, "medium": 0.5, "high": 1.0}


def p_high(model: Any, texts: list[str], mode: str, max_chars: int) -> np.ndarray:
    """P(high) of each text."""
    out = []
    for ft in featurize(texts, mode, max_chars):
        labs, probs = model.predict(ft, k=-1, threshold=0.0)
        out.append(dict(zip(labs, probs, strict=True)).get("__label__high", 0.0))
    return np.array(out, dtype=float)


def graded(p: np.ndarray, levels: list[str], length: np.ndarray | None = None,
           folds: np.ndarray | None = None) -> dict:
    """AUC per pair of levels and each level's share below 0.3 / 0.6 after a calibration fitted on these
    scores (Platt, or with `length`, Platt with the text's log length: the ranking then changes too). With
    `folds`, each fold's documents are calibrated by a fit on the other folds' scores (no document fits its
    own calibration: the honest figure, since platt_length's length term reorders)."""
    lv = np.array(levels)
    target = np.array([TARGET[x] for x in levels])
    cal = fit_platt(p, target, length)
    q = apply_calibration(p, cal, length)
    if folds is not None:
        for f in np.unique(folds):
            out, held = folds != f, folds == f
            c = fit_platt(p[out], target[out], None if length is None else length[out])
            q[held] = apply_calibration(p[held], c, None if length is None else length[held])
    return {"auc": {f"{a}>{b}": round(auc(q[lv == a], q[lv == b]), 4)
                    for a, b in (("high", "low"), ("high", "medium"), ("medium", "low"))},
            "below": {lev: {"0.3": round(float((q[lv == lev] < 0.3).mean()), 4),
                            "0.6": round(float((q[lv == lev] < 0.6).mean()), 4),
                            "median": round(float(np.median(q[lv == lev])), 3)} for lev in TARGET},
            "calibration": cal}


def main() -> None:
    """Cross-validate one configuration and print a JSON summary line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    config_args(ap, REPO / "classifiers/train/quality.yaml", "gold.repeat=8")
    ap.add_argument("--dump", type=Path, help="write the out-of-fold scores here (JSON)")
    args = ap.parse_args()
    conf, data, params = load_config(args)
    root, seed = Path(args.data_root), int(conf.get("seed", 1))
    mode, max_chars = feature_settings(args, conf)
    spec = data.get("gold") or {}
    repeat, medium = int(spec.get("repeat", 0)), str(spec.get("medium", "both"))
    t0 = time.time()
    base = quality.build({**data, "gold": {}}, root)
    base_lines = labelled_lines(base.train, mode, max_chars)
    docs = web_gold.gold_documents({"path": GOLD, "part": "select"}, root)
    cut = int(data.get("max_chars", 3000))

    def train_with(keep: list) -> Any:
        exs = [Example(k, d.text.strip()[:cut]) for d in keep for _ in range(repeat)
               for k in quality.reader_labels(d.quality, medium)]
        lines = base_lines + labelled_lines(exs, mode, max_chars)
        if data.get("shuffle"):
            random.Random(seed).shuffle(lines)
        return train_lines(lines, params, seed)

    fold = [int(hashlib.sha1(web_gold.doc_key(d).encode()).hexdigest()[:8], 16) % args.folds for d in docs]
    p = np.zeros(len(docs))
    for f in range(args.folds):
        held = [i for i, x in enumerate(fold) if x == f]
        model = train_with([d for d, x in zip(docs, fold, strict=True) if x != f])
        p[held] = p_high(model, [docs[i].text for i in held], mode, max_chars)
    levels = [d.quality for d in docs]
    length = log_length([d.text for d in docs])
    cv = {"platt": graded(p, levels), "platt_length": graded(p, levels, length),
          "platt_length_outfold": graded(p, levels, length, np.array(fold))}
    if args.dump:
        args.dump.write_text(json.dumps({"p": p.tolist(), "levels": levels, "keys": [web_gold.doc_key(d) for d in docs]}))
    full = train_with(docs)
    clean = [json.loads(x)["text"] for x in (root / "web/cwt-quality-clean.jsonl").read_text().splitlines() if x.strip()]
    dirty = [json.loads(x)["text"] for x in (root / "web/cwt-quality-dirty.jsonl").read_text().splitlines() if x.strip()]
    pc, pd = p_high(full, clean, mode, max_chars), p_high(full, dirty, mode, max_chars)
    cwt = {"auc": round(auc(pc, pd), 4), "accuracy_at_0.5": round(float(((pc >= 0.5).sum() + (pd < 0.5).sum()) / 20), 3)}
    print(json.dumps({"name": args.name, "set": args.set, "ft": args.ft, "cv_select": cv, "cwt20": cwt,
                      "train_examples": len(base_lines), "seconds": round(time.time() - t0)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
