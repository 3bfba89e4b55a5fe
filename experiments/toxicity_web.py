"""Toxicity model on web text: the share of CLUECorpusSmall documents flagged (score >= the card's threshold)
outside the web gold set's select part, next to COLD dev accuracy and the counselling flag rates.

    PYTHONPATH=. python experiments/toxicity_web.py                                   # the committed card
    PYTHONPATH=. python experiments/toxicity_web.py --variant web.headlines.per_class=300 --variant ...
    PYTHONPATH=. python experiments/toxicity_web.py --top 40                          # the flagged documents

A variant is a comma-separated list of `data.*` overrides of classifiers/train/toxicity.yaml (`KEY=VALUE`,
dotted keys); it is trained with `curate train`'s trainer into a temporary folder. The web documents measured
are CLUECorpusSmall's sample less the gold select documents (which a variant may train on as safe), and the
CommonCrawl pages outside the select part; `--top N` prints the N highest-scoring of them for reading.
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from curate.annotations import read_lines
from curate.assets import data_root as default_data_root
from curate.models.classifier import load_classifier
from curate.models.train import load_train_config, train_task
from curate.models.training_data.web_gold import doc_key, gold_documents

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ftcv import set_dotted  # noqa: E402
from toxicity_counselling import cold_dev_set, load_sets, measure, print_header  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CLUE, CC = "web/cluecorpussmall-a.txt", "web/cwt-commoncrawl-sample.jsonl"


def web_sets(data_root: Path) -> dict[str, list[str]]:
    """CLUECorpusSmall documents and CommonCrawl pages outside the web gold set's select part."""
    import json

    select = {doc_key(d) for d in gold_documents({"path": "web-hand-labels.jsonl", "part": "select"}, data_root)}
    clue = [t for i, t in enumerate(read_lines(data_root / CLUE)) if f"{CLUE}:{i}" not in select and t.strip()]
    cc = [json.loads(t)["raw_content"] for i, t in enumerate(read_lines(data_root / CC)) if f"{CC}:{i}" not in select]
    return {"clue_docs": clue, "cc_pages": cc}


def train_variant(spec: str, data_root: Path, tmp: Path, n: int) -> Path:
    doc = copy.deepcopy(load_train_config("toxicity").doc)
    for s in re.split(r",(?=[\w.]+=)", spec):  # a comma starts a new KEY=VALUE, not one inside a value
        set_dotted(doc["data"], s)
    out = tmp / f"v{n}"
    out.mkdir()
    path = out / "train.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return train_task("toxicity", config=path, data_root=data_root, out_dir=out).path


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--card", default=str(REPO / "classifiers/toxicity.yaml"), help="card to measure (without --variant)")
    ap.add_argument("--variant", action="append", default=[], metavar="K=V[,K=V]")
    ap.add_argument("--data-root", default=str(default_data_root()))
    ap.add_argument("--top", type=int, default=0, help="print the N highest-scoring web documents (for reading)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data_root = Path(args.data_root).resolve()
    cfg = load_train_config("toxicity").doc
    sets = {**web_sets(data_root), **load_sets(data_root, cfg["data"].get("counselling") or {})}
    cold_dev = cold_dev_set(data_root, cfg)
    cols = print_header(sets, cold_dev, 10)
    with tempfile.TemporaryDirectory(prefix="tox-web-") as tmp:
        cards = [(f"v{i}", train_variant(v, data_root, Path(tmp), i)) for i, v in enumerate(args.variant)] \
            or [(Path(args.card).stem, Path(args.card))]
        for (name, card), spec in zip(cards, args.variant or ["committed"], strict=True):
            clf = load_classifier(card)
            row = measure(clf, cold_dev, sets)
            print(f"{name:<10}" + "".join(f"{row[c]:>18.4f}" if c == "cold_dev_acc" else f"{row[c]:>17.2%} " for c in cols)
                  + f"   {spec}", flush=True)
            if args.top:
                xs = sets["clue_docs"] + sets["cc_pages"]
                s = clf.score(xs)
                for i in np.argsort(-s)[: args.top]:
                    print(f"  {s[i]:.3f}  {' '.join(xs[i].split())[:160]}")


if __name__ == "__main__":
    main()
