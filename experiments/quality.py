"""Reproducible experiments for the quality model (classifiers/train/quality.yaml, curate/models/training_data/quality.py).

Builds the task's splits, trains fastText (unquantised, through `curate train`'s child-process trainer)
on `chars` and `words` features, and reports valid-split accuracy / F1 (positive = high), accuracy on
ChineseWebText's 10 clean + 10 dirty examples (the check) with per-example P(high), accuracy on the
recipe-labelled CommonCrawl slice (pages, prose bodies, chrome), and the top / bottom pages of the
CommonCrawl sample by P(high). The `web/` files are evaluation only (no licence to redistribute): they are
read here, never by the builder.

Mode `chars_nl` is an experiment outside the pipeline's featurizer: chars with each newline kept as a
`↵` token (`curate.models.features` strips all whitespace), to measure what line structure is worth.

    .venv/bin/python experiments/quality.py [--modes chars words chars_nl] [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

from curate.assets import data_root
from curate.models.examples import Example
from curate.models.fasttext_backend import load_fasttext
from curate.models.fasttext_train import train_fasttext
from curate.models.features import featurize
from curate.models.training_data import quality

ROOT = Path(__file__).resolve().parents[1]


def _featurize(texts: list[str], mode: str, max_chars: int) -> list[str]:
    if mode == "chars_nl":  # experiment: newlines visible as a token
        return featurize([t[:max_chars].replace("\n", "↵") for t in texts], "chars", max_chars)
    return featurize(texts, mode, max_chars)


def _train(train: list[Example], mode: str, cfg: dict):  # noqa: ANN202 (fasttext has no types)
    """An unquantised model trained by `curate train`'s child-process trainer, loaded here."""
    feats = _featurize([ex.text for ex in train], mode, cfg["features"].get("max_chars", 2000))
    with tempfile.TemporaryDirectory(prefix="quality-exp-") as tmp:
        path = Path(tmp) / "train.txt"
        with path.open("w", encoding="utf-8") as f:
            for ex, line in zip(train, feats, strict=True):
                f.write(" ".join(f"__label__{lab}" for lab in ex.labels) + " " + line + "\n")
        train_fasttext(path, Path(tmp) / "m.bin", seed=int(cfg.get("seed", 1)), params=dict(cfg["fasttext"]),
                       quantize=None)
        return load_fasttext(Path(tmp) / "m.bin")


def _p_high(model, texts: list[str], mode: str, max_chars: int) -> list[float]:  # noqa: ANN001
    out = []
    for line in _featurize(texts, mode, max_chars):
        labels, probs = model.predict(line, k=-1)
        out.append(float(dict(zip(labels, probs, strict=True)).get("__label__high", 0.0)))
    return out


def _metrics(y: list[bool], p: list[float]) -> dict[str, float]:
    pred = [x >= 0.5 for x in p]
    tp = sum(a and b for a, b in zip(y, pred, strict=True))
    fp = sum(b and not a for a, b in zip(y, pred, strict=True))
    fn = sum(a and not b for a, b in zip(y, pred, strict=True))
    acc = sum(a == b for a, b in zip(y, pred, strict=True)) / max(len(y), 1)
    prec, rec = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"acc": round(acc, 4), "f1_high": round(2 * prec * rec / max(prec + rec, 1e-9), 4),
            "precision": round(prec, 4), "recall": round(rec, 4), "n": len(y)}


def main() -> None:
    """Run the comparison and print a JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "classifiers/train/quality.yaml"))
    ap.add_argument("--data-root", default=str(data_root()))
    ap.add_argument("--modes", nargs="+", default=["chars", "words", "chars_nl"])
    ap.add_argument("--show", type=int, default=10, help="CommonCrawl pages to list at each end")
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    root = Path(args.data_root)

    t0 = time.time()
    splits = quality.build(cfg["data"], root)
    print(json.dumps({"build_s": round(time.time() - t0, 1), "counts": splits.counts(),
                      "sources": splits.notes["sources"]}, ensure_ascii=False, indent=1))
    ev = cfg["evaluation"]
    check = [(json.loads(line)["text"], name == "clean") for name in ("clean", "dirty")
             for line in (root / ev[f"check_{name}"]).read_text(encoding="utf-8").splitlines()]
    cc = [json.loads(line) for line in (root / ev["commoncrawl"]).read_text(encoding="utf-8").splitlines()]
    cc_slice = [(variant, ex) for _, variant, ex in quality.commoncrawl_eval(root / ev["commoncrawl"]) if ex.labels]
    max_chars = cfg["features"].get("max_chars", 2000)

    for mode in args.modes:
        t0 = time.time()
        model = _train(splits.train, mode, cfg)
        train_s = time.time() - t0
        vp = _p_high(model, [ex.text for ex in splits.valid], mode, max_chars)
        cp = _p_high(model, [t for t, _ in check], mode, max_chars)
        report = {"mode": mode, "train_s": round(train_s, 1),
                  "valid": _metrics(["high" in ex.labels for ex in splits.valid], vp),
                  "check": _metrics([y for _, y in check], cp),
                  "commoncrawl_slice": {v: _metrics(["high" in ex.labels for w, ex in cc_slice if w == v],
                                                    _p_high(model, [ex.text for w, ex in cc_slice if w == v], mode, max_chars))
                                        for v in ("page", "body", "chrome")},
                  "check_p_high": {"clean": [round(p, 3) for p in cp[:10]], "dirty": [round(p, 3) for p in cp[10:]]}}
        print(json.dumps(report, ensure_ascii=False))
        ccp = _p_high(model, [d["raw_content"] for d in cc], mode, max_chars)
        order = sorted(range(len(cc)), key=lambda i: -ccp[i])
        for tag, idx in (("top", order[: args.show]), ("bottom", order[len(order) - args.show:])):
            print(f"-- CommonCrawl {tag} ({mode})")
            for i in idx:
                head = " ".join(cc[i]["raw_content"].split())[:40]
                print(f"  {ccp[i]:.3f}  #{i:<3d} {cc[i]['title'].strip()[:28]!s:30s} | {head}")
        print(f"-- CommonCrawl ({mode}): {sum(p >= 0.5 for p in ccp)} of {len(ccp)} pages high at 0.5")


if __name__ == "__main__":
    main()
