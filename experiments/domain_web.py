"""Domain model selection on real web text: cross-validation by document over the web gold set's select part.

    .venv/bin/python experiments/domain_web.py                                  # the config as it is
    .venv/bin/python experiments/domain_web.py --set pseudo.per_label=0 --set gold.repeat=8 --name nopseudo

The training data is what `curate train domain` builds from `classifiers/train/domain.yaml` (with `--set`
overrides of its `data:`), except that the gold select part is split into `--folds` folds by document: each
fold's model is trained on everything else and scores the held-out fold's documents. The pooled out-of-fold
predictions give top-1 accuracy (arg-max among the document's domains), accuracy against the primary domain,
macro-F1 at 0.5 and the share of documents that are not conversations or Q&A threads whose arg-max is
`dialogue`. A model trained on the whole select part also scores the selection half of ChineseWebText 2.0's
domain test file (`web/cwt2-domain-test.txt`, lines whose hash falls in half A); half B and the gold `test`
part are never read here. Models are unquantised (selection only); the committed model is quantised.

`--dump FILE.npz` keeps the pooled out-of-fold probabilities, the half-A probabilities (also of half A with
the spaces between CJK characters removed: the file is jieba-segmented, a pipeline record never is) and the
training lines' label counts, so that decision rules over the probabilities can be compared without retraining.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from curate.models.examples import Example
from curate.models.features import featurize
from curate.models.training_data import domain, web_gold
from curate.models.training_data.domain import load_seeds, stop_view

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ftcv import config_args, feature_settings, labelled_lines, load_config, train_lines  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GOLD = "web-hand-labels.jsonl"
CWT_TEST = "web/cwt2-domain-test.txt"
# a space between two CJK ideographs: jieba's word boundary in the segmented test file, absent from raw text
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) +(?=[\u3400-\u9fff\uf900-\ufaff])")


def unsegment(text: str) -> str:
    """`text` without the spaces jieba put between CJK words (spaces next to Latin words and digits stay)."""
    return _CJK_SPACE.sub("", text)


def cwt_half(line_no: int) -> str:
    """`A` (selection) or `B` (kept for the report) for a line of the CWT test file, by a hash of its number."""
    return "A" if int(hashlib.sha1(f"cwt2-domain-test:{line_no}".encode()).hexdigest()[:8], 16) % 2 == 0 else "B"


def read_cwt(path: Path, half: str) -> list[Example]:
    """The CWT test file's lines in `half`: labels and space-joined tokens."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if cwt_half(n) != half:
            continue
        toks = line.split()
        out.append(Example(tuple(t[9:] for t in toks if t.startswith("__label__")),
                           " ".join(t for t in toks if not t.startswith("__label__"))))
    return out


def tally_misses(path: Path, root: Path) -> dict:
    """Counts of a reading of half-A misses (`cwt2-half-a-misses.jsonl`: line, sha1, the model's arg-max, `kind`,
    the domains web-guide.md gives) by kind, within the file's label groups (general alone, dialogue alone, other)."""
    raw = (root / CWT_TEST).read_text(encoding="utf-8").splitlines()
    out: dict[str, Counter] = {}
    for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
        text = raw[row["line"]]
        if hashlib.sha1(text.encode()).hexdigest()[:12] != row["sha1"] or cwt_half(row["line"]) != "A":
            raise ValueError(f"{path}: line {row['line']} is not the half-A line it names")
        labs = [t[9:] for t in text.split() if t.startswith("__label__")]
        group = f"{labs[0]} alone" if labs in (["general"], ["dialogue"]) else "other"
        out.setdefault(group, Counter())[row["kind"]] += 1
        out.setdefault("all", Counter())[row["kind"]] += 1
    return {g: dict(c.most_common()) for g, c in out.items()}


def predict(model: Any, texts: list[str], labels: list[str], mode: str, max_chars: int) -> np.ndarray:
    """Probabilities (n × labels)."""
    out = np.zeros((len(texts), len(labels)))
    for i, ft in enumerate(featurize(texts, mode, max_chars)):
        labs, probs = model.predict(ft, k=-1, threshold=0.0)
        for lab, p in zip(labs, probs, strict=True):
            out[i, labels.index(lab[9:])] = p
    return out


def scores(proba: np.ndarray, gold: list[tuple[str, ...]], labels: list[str]) -> dict:
    """Top-1 (any gold domain), primary accuracy, macro-F1 at 0.5, non-dialogue documents whose top is dialogue."""
    top = [labels[i] for i in proba.argmax(1)]
    f1 = []
    for j, lab in enumerate(labels):
        pred, g = proba[:, j] >= 0.5, np.array([lab in x for x in gold])
        tp, fp, fn = (pred & g).sum(), (pred & ~g).sum(), (~pred & g).sum()
        if g.any() or pred.any():
            f1.append(2 * tp / (2 * tp + fp + fn))
    non = [t for t, g in zip(top, gold, strict=True) if "dialogue" not in g]
    threads = [t for t, g in zip(top, gold, strict=True) if g[0] == "dialogue"]
    return {"n": len(gold), "top1": round(float(np.mean([t in g for t, g in zip(top, gold, strict=True)])), 4),
            "primary": round(float(np.mean([t == g[0] for t, g in zip(top, gold, strict=True)])), 4),
            "macro_f1": round(float(np.mean(f1)), 4),
            "dialogue_on_non_dialogue": round(sum(t == "dialogue" for t in non) / max(len(non), 1), 4),
            "dialogue_on_threads": round(sum(t == "dialogue" for t in threads) / max(len(threads), 1), 4),
            "top": dict(Counter(top).most_common())}


def main() -> None:
    """Cross-validate one configuration and print a JSON summary line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    config_args(ap, REPO / "classifiers/train/domain.yaml", "pseudo.per_label=500")
    ap.add_argument("--save", type=Path, help="keep the model trained on the whole select part here")
    ap.add_argument("--misses", type=Path, help="only print the tally of this reading of half-A misses")
    ap.add_argument("--dump", type=Path, help="keep the probabilities (out-of-fold, half A) and label counts here")
    ap.add_argument("--seed", type=int, help="the config's seed and data.seed both (fastText's and the builder's)")
    args = ap.parse_args()
    conf, data, params = load_config(args)
    if args.seed is not None:
        conf["seed"], data["seed"] = args.seed, args.seed
    if args.misses:
        print(json.dumps(tally_misses(args.misses, Path(args.data_root))))
        return
    root, seed = Path(args.data_root), int(conf.get("seed", 1))
    mode, max_chars = feature_settings(args, conf)
    labels = list(conf["labels"])
    gold_spec = {**(data.get("gold") or {}), "path": GOLD, "part": "select"}
    repeat = int(gold_spec.get("repeat", 1)) if data.get("gold") else 0
    t0 = time.time()
    base = domain.build({**data, "gold": {}}, root)  # everything but the gold documents
    base_lines = labelled_lines(base.train, mode, max_chars)
    docs = web_gold.gold_documents(gold_spec, root)
    stop = frozenset(str(w) for w in load_seeds(data).get("stopwords", []))
    share = float((data.get("stopword_view") or {}).get("share", 0.0))
    rng = random.Random(seed)
    labels_of = domain.gold_labels(data.get("gold") or {})

    def gold_lines(keep: list) -> list[str]:
        exs = []
        for d in keep:
            for _ in range(repeat):
                text = d.text.strip()[: int(data.get("max_chars", 1500))]
                exs.append(Example(labels_of(d), stop_view(text, stop) if rng.random() < share else text))
        return labelled_lines(exs, mode, max_chars)

    def train_with(keep: list, save: Path | None = None) -> Any:
        lines = base_lines + gold_lines(keep)
        if data.get("shuffle"):
            random.Random(seed).shuffle(lines)
        return train_lines(lines, params, seed, save)

    fold = {web_gold.doc_key(d): int(hashlib.sha1(web_gold.doc_key(d).encode()).hexdigest()[:8], 16) % args.folds
            for d in docs}
    proba = np.zeros((len(docs), len(labels)))
    for f in range(args.folds):
        held = [i for i, d in enumerate(docs) if fold[web_gold.doc_key(d)] == f]
        model = train_with([d for d in docs if fold[web_gold.doc_key(d)] != f])
        proba[held] = predict(model, [docs[i].text for i in held], labels, mode, max_chars)
    cv = scores(proba, [d.domains for d in docs], labels)
    full = train_with(docs, args.save)
    cwt = read_cwt(root / CWT_TEST, "A")
    cwt_gold = [e.labels for e in cwt]
    cwt_proba = predict(full, [e.text for e in cwt], labels, mode, max_chars)
    joined_proba = predict(full, [unsegment(e.text) for e in cwt], labels, mode, max_chars)
    if args.dump:
        counts = Counter(tok[9:] for line in base_lines for tok in line.split() if tok.startswith("__label__"))
        counts.update(lab for d in docs for lab in labels_of(d) for _ in range(repeat))
        np.savez(args.dump, labels=labels, cv=proba, cv_gold=np.array([",".join(d.domains) for d in docs]),
                 cwt_A=cwt_proba, cwt_A_joined=joined_proba, cwt_A_gold=np.array([",".join(g) for g in cwt_gold]),
                 train_counts=np.array([counts[lab] for lab in labels]))
    print(json.dumps({"name": args.name, "set": args.set, "ft": args.ft, "cv_select": cv,
                      "cwt_A": scores(cwt_proba, cwt_gold, labels),
                      "cwt_A_unsegmented": {k: v for k, v in scores(joined_proba, cwt_gold, labels).items() if k != "top"},
                      "train_examples": len(base_lines), "seconds": round(time.time() - t0)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
