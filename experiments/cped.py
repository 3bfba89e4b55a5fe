"""CPED tagger experiments: feature mode × context turns × fastText settings × oversampling, on valid.

Reads the training config of a model trained on CPED (`classifiers/train/NAME.yaml`: emotion-spoken,
sentiment-spoken, dialogue_act, the persona traits), builds its examples with the config's builder (CPED
read in place from `--data-root`, nothing copied), then for every combination of `--modes`, `--contexts`
and the `--grid` values trains a fastText model through `curate train`'s child-process trainer
(`curate.models.fasttext_train.train_fasttext`: thread 1, the config seed; unquantised, for speed, unless
`--quantize`) and prints valid accuracy, macro-F1 and the majority baseline (`curate.models.metrics.report`,
the card's metrics), with featurise and train seconds (train includes the child process's start).

`--derive-sentiment` (emotion-spoken) also scores the emotion model as a sentiment tagger: emotion
probabilities summed per sentiment group (`cped.SENTIMENT_OF_EMOTION`), against the valid Sentiment labels.

Usage::

    .venv/bin/python experiments/cped.py emotion-spoken --modes chars words --contexts 0 1 2
    .venv/bin/python experiments/cped.py emotion-spoken --grid fasttext.lr=0.1,0.2 data.oversample.alpha=0,0.5
    .venv/bin/python experiments/cped.py emotion-spoken --derive-sentiment
"""

from __future__ import annotations

import argparse
import copy
import importlib
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from curate.models.examples import Example, Splits
from curate.models.fasttext_backend import FastTextClassifier, ft_label, load_fasttext
from curate.models.fasttext_train import train_fasttext
from curate.models.features import featurize_with_context
from curate.models.metrics import report
from curate.models.training_data import cped

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ftcv import set_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FT = {"epoch": 10, "lr": 0.5, "wordNgrams": 2, "dim": 64, "minCount": 1, "loss": "softmax"}


def _clean(cfg: dict) -> dict:
    """`data.oversample.alpha=0` means no oversampling."""
    over = cfg["data"].get("oversample")
    if over and not float(over.get("alpha", 0)):
        cfg["data"].pop("oversample")
    return cfg


def _build(cfg: dict, data_root: Path) -> Splits:
    module = importlib.import_module(f"curate.models.training_data.{cfg.get('builder', cfg['task'])}")
    return module.build({**cfg["data"], "label_values": {}}, data_root)


def _lines(examples: list[Example], mode: str, max_chars: int, context: int) -> list[str]:
    return featurize_with_context([e.text for e in examples], [e.context for e in examples], mode, max_chars, context)


def _predict(path: Path, labels: list[str], lines: list[str]) -> np.ndarray:
    """Valid probabilities; labels the model never saw in train (age_group: CPED's train shows have no
    children, teenager or elderly speakers) get probability 0 instead of failing as the backend does."""
    model = load_fasttext(path)
    known = set(model.get_labels())
    present = [lab for lab in labels if ft_label(lab) in known]
    sub = FastTextClassifier(path, present).predict_proba(lines)
    out = np.zeros((len(lines), len(labels)), dtype=np.float32)
    out[:, [labels.index(lab) for lab in present]] = sub
    return out


def train_eval(cfg: dict, splits: Splits, mode: str, context: int, cache: dict) -> tuple[dict, np.ndarray, float, float]:
    """Train one model; its valid report, valid probabilities, featurise and train seconds."""
    max_chars = int(cfg.get("features", {}).get("max_chars", 2000))
    t0 = time.perf_counter()
    key = (id(splits), mode, context)
    if key not in cache:
        cache[key] = (_lines(splits.train, mode, max_chars, context), _lines(splits.valid, mode, max_chars, context))
    xtr, xva = cache[key]
    t_feat = time.perf_counter() - t0
    params = {**DEFAULT_FT, **(cfg.get("fasttext") or {})}
    with tempfile.TemporaryDirectory(prefix="cped-exp-") as tmp:
        path = Path(tmp) / "train.txt"
        with path.open("w", encoding="utf-8") as f:
            for ex, line in zip(splits.train, xtr, strict=True):
                f.write(" ".join(ft_label(lab) for lab in ex.labels) + " " + line + "\n")
        t1 = time.perf_counter()
        train_fasttext(path, Path(tmp) / "m.bin", seed=int(cfg.get("seed", 1)), params=params,
                       quantize=cfg["quantize"] if cfg.get("_quantize") else None)
        t_train = time.perf_counter() - t1
        proba = _predict(Path(tmp) / "m.bin", cfg["labels"], xva)
    rep = report(cfg["labels"], [e.labels for e in splits.valid], proba)
    return rep, proba, t_feat, t_train


def derived_sentiment(labels: list[str], proba: np.ndarray, valid_sentiment: list[str]) -> dict:
    """The emotion model's probabilities summed per sentiment group, scored against gold sentiment."""
    groups = ["positive", "neutral", "negative"]
    m = np.zeros((len(labels), 3))
    for i, lab in enumerate(labels):
        m[i, groups.index(cped.SENTIMENT_OF_EMOTION[lab])] = 1
    return report(groups, [(s,) for s in valid_sentiment], proba @ m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("task", help="a training config's name: classifiers/train/TASK.yaml (e.g. emotion-spoken)")
    ap.add_argument("--config", help="default classifiers/train/TASK.yaml")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--modes", nargs="+", help="default: the config's features.mode")
    ap.add_argument("--contexts", nargs="+", type=int, help="default: the config's features.context")
    ap.add_argument("--grid", nargs="*", default=[], help="KEY=V1,V2,... (e.g. fasttext.lr=0.1,0.2 data.oversample.alpha=0,0.5)")
    ap.add_argument("--quantize", action="store_true", help="quantise as the config says (as `curate train` does)")
    ap.add_argument("--derive-sentiment", action="store_true", help="emotion only: also score emotion → sentiment")
    ap.add_argument("--per-label", action="store_true", help="print per-label F1 of each run")
    args = ap.parse_args()
    base = yaml.safe_load(Path(args.config or ROOT / "classifiers" / "train" / f"{args.task}.yaml").read_text(encoding="utf-8"))
    base["_quantize"] = args.quantize
    feats = base.get("features") or {}
    modes = args.modes or [feats.get("mode", "chars")]
    contexts = args.contexts if args.contexts is not None else [int(feats.get("context", 0))]
    keys, values = [], []
    for g in args.grid:
        k, _, v = g.partition("=")
        keys.append(k)
        values.append([yaml.safe_load(x) for x in v.split(",")])
    data_root = Path(args.data_root)
    splits_cache: dict[str, object] = {}
    line_cache: dict = {}
    valid_sent = None
    if args.derive_sentiment:
        valid_sent = [e.labels[0] for e in cped.turn_examples(cped.read_dialogues(data_root / base["data"]["valid"]),
                                                              lambda t: t.labels["Sentiment"])]
    print(f"{'run':<70}{'acc':>8}{'macroF1':>9}{'base_acc':>9}{'base_F1':>8}{'feat_s':>8}{'train_s':>8}"
          + (f"{'sent_acc':>9}{'sent_F1':>8}" if valid_sent else ""))
    for combo in itertools.product(*values):
        cfg = copy.deepcopy(base)
        for k, v in zip(keys, combo, strict=True):
            set_key(cfg, k, v)
        cfg = _clean(cfg)
        skey = yaml.safe_dump(cfg["data"], sort_keys=True)
        if skey not in splits_cache:
            splits_cache[skey] = _build(cfg, data_root)
        splits = splits_cache[skey]
        for mode, ctx in itertools.product(modes, contexts):
            rep, proba, t_feat, t_train = train_eval(cfg, splits, mode, ctx, line_cache)
            name = f"{mode} ctx={ctx} " + " ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, combo, strict=True))
            b = rep["baseline"]
            line = (f"{name:<70}{rep['accuracy']:>8.4f}{rep['macro_f1']:>9.4f}{b['accuracy']:>9.4f}{b['macro_f1']:>8.4f}"
                    f"{t_feat:>8.1f}{t_train:>8.1f}")
            if valid_sent:
                s = derived_sentiment(cfg["labels"], proba, valid_sent)
                line += f"{s['accuracy']:>9.4f}{s['macro_f1']:>8.4f}"
            print(line, flush=True)
            if args.per_label:
                print("   " + " ".join(f"{lab}={m['f1']:.2f}" for lab, m in rep["per_label"].items()))


if __name__ == "__main__":
    main()
