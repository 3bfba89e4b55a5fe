"""Domain and quality scores on real web documents: the 100 CommonCrawl pages and the web gold set's test part.

    PYTHONPATH=. python evals/web_scores.py [--data-root DIR (default $CURATE_DATA, else ../shared/data)] [--domain CARD] [--quality CARD]

Scores each document with the shipped cards through `curate.models.classifier` (the code the classify stage
runs: same featurisation, same calibration) and prints, as markdown:

* domain: for the gold test part, gold primary domain (rows) against the arg-max (columns); for the 100
  CommonCrawl pages, the arg-max against the gold primary domain (the select pages, 59 of them, were
  trained on: they are marked apart);
* quality: the score histogram (10 bins over 0–1) per reader grade, for the test part and the CommonCrawl
  pages;
* ChineseWebText 2.0's domain test file: top-1 (arg-max among the line's labels) against the majority
  baseline, for the whole file and its halves A (read for selection by experiments/domain_web.py) and B
  (never read there);
* ChineseWebText's 10 clean + 10 dirty examples: the quality score's AUC clean > dirty, accuracy at 0.5 and
  the medians.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from curate.annotations import QUALITY_LEVELS, read_gold_documents, read_lines
from curate.assets import data_root
from curate.models.classifier import load_classifier
from curate.models.metrics import auc
from curate.schema import label_set

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))
from domain_web import cwt_half  # noqa: E402  (the one definition of the halves)

CC = "web/cwt-commoncrawl-sample.jsonl"
CWT_TEST = "web/cwt2-domain-test.txt"
CWT_CLEAN, CWT_DIRTY = "web/cwt-quality-clean.jsonl", "web/cwt-quality-dirty.jsonl"


def domain_table(gold: list[str], pred: list[str], title: str) -> str:
    """Rows gold primary domain, columns arg-max, with row totals and the diagonal share."""
    labels = [lab for lab in label_set("domain") if lab in gold or lab in pred]
    pairs = Counter(zip(gold, pred, strict=True))
    head = "| gold \\ arg-max | " + " | ".join(lab[:5] for lab in labels) + " | n | right |"
    lines = [f"**{title}** ({len(gold)} documents; right = arg-max is the primary domain)", "", head,
             "|---|" + "--:|" * (len(labels) + 2)]
    for g in labels:
        n = sum(pairs[(g, p)] for p in labels)
        if n:
            lines.append(f"| {g} | " + " | ".join(str(pairs[(g, p)] or "") for p in labels)
                         + f" | {n} | {pairs[(g, g)] / n:.0%} |")
    return "\n".join(lines)


def quality_histogram(levels: list[str], scores: np.ndarray, title: str) -> str:
    """Per reader grade: n, median and the count in each tenth of 0–1."""
    lines = [f"**{title}**", "", "| grade | n | median | " + " | ".join(f"{i / 10:.1f}" for i in range(10)) + " |",
             "|---|--:|--:|" + "--:|" * 10]
    lv = np.array(levels)
    for lev in QUALITY_LEVELS:
        s = scores[lv == lev]
        if len(s):
            hist = np.histogram(s, bins=10, range=(0.0, 1.0))[0]
            lines.append(f"| {lev} | {len(s)} | {np.median(s):.2f} | " + " | ".join(str(v or "") for v in hist) + " |")
    return "\n".join(lines)


def main() -> None:
    """Print the tables."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--domain", default=str(REPO / "classifiers/domain.yaml"))
    ap.add_argument("--quality", default=str(REPO / "classifiers/quality.yaml"))
    args = ap.parse_args()
    docs = read_gold_documents("web-hand-labels.jsonl", args.data_root)
    by_key = {(d.file, d.line): d for d in docs}
    pages = [json.loads(x)["raw_content"] for x in read_lines(args.data_root / CC)]
    cc = [by_key[(CC, i)] for i in range(len(pages))]
    test = [d for d in docs if d.part == "test"]
    dom, qual = load_classifier(args.domain), load_classifier(args.quality)
    dom_labels = list(dom.labels)

    def top(texts: list[str]) -> list[str]:
        return [dom_labels[i] for i in dom.predict_proba(texts).argmax(axis=1)]

    t_top, c_top = top([d.text for d in test]), top(pages)
    t_q, c_q = qual.score([d.text for d in test]), qual.score(pages)
    print(domain_table([d.domain for d in test], t_top, "Domain, gold test part"))
    print()
    sel = [d.part == "select" for d in cc]
    for name, keep in (("not trained on (test part)", [not s for s in sel]), ("trained on (select part)", sel)):
        g = [d.domain for d, k in zip(cc, keep, strict=True) if k]
        p = [x for x, k in zip(c_top, keep, strict=True) if k]
        print(domain_table(g, p, f"Domain, the 100 CommonCrawl pages: {name}"))
        print()
    print(quality_histogram([d.quality for d in test], t_q, "Quality score by reader grade, gold test part"))
    print()
    for name, keep in (("not trained on (test part)", [not s for s in sel]), ("trained on (select part)", sel)):
        lv = [d.quality for d, k in zip(cc, keep, strict=True) if k]
        print(quality_histogram(lv, c_q[np.array(keep)], f"Quality score by reader grade, CommonCrawl pages {name}"))
        print()
    print(cwt_domain(dom, args.data_root))
    print()
    print(cwt_quality(qual, args.data_root))


def cwt_domain(dom: object, root: Path) -> str:
    """Top-1 on CWT 2.0's domain test file, whole and per half, against the majority baseline."""
    lines = (root / CWT_TEST).read_text(encoding="utf-8").splitlines()
    gold = [tuple(t[9:] for t in x.split() if t.startswith("__label__")) for x in lines]
    texts = [" ".join(t for t in x.split() if not t.startswith("__label__")) for x in lines]
    labels = list(dom.labels)  # type: ignore[attr-defined]
    top = [labels[i] for i in dom.predict_proba(texts).argmax(axis=1)]  # type: ignore[attr-defined]
    maj = Counter(lab for g in gold for lab in g).most_common(1)[0][0]
    out = [f"**ChineseWebText 2.0 domain test file** (top-1: the arg-max is one of the line's labels; majority "
           f"baseline: always `{maj}`)", "", "| lines | n | top-1 | baseline |", "|---|--:|--:|--:|"]
    for name, keep in (("all", lambda n: True), ("half A (selection)", lambda n: cwt_half(n) == "A"),
                       ("half B (never read in selection)", lambda n: cwt_half(n) == "B")):
        idx = [n for n in range(len(lines)) if keep(n)]
        acc = np.mean([top[n] in gold[n] for n in idx])
        base = np.mean([maj in gold[n] for n in idx])
        out.append(f"| {name} | {len(idx)} | {acc:.3f} | {base:.3f} |")
    return "\n".join(out)


def cwt_quality(qual: object, root: Path) -> str:
    """CWT's 10 clean and 10 dirty examples: AUC clean > dirty, accuracy at 0.5, medians."""
    def texts(name: str) -> list[str]:
        return [json.loads(x)["text"] for x in read_lines(root / name) if x.strip()]

    pc = qual.score(texts(CWT_CLEAN))  # type: ignore[attr-defined]
    pd = qual.score(texts(CWT_DIRTY))  # type: ignore[attr-defined]
    acc = ((pc >= 0.5).sum() + (pd < 0.5).sum()) / (len(pc) + len(pd))
    return (f"**ChineseWebText's {len(pc)} clean + {len(pd)} dirty examples**: AUC clean > dirty {auc(pc, pd):.2f}, "
            f"accuracy at 0.5 {acc:.2f}, median clean {np.median(pc):.2f}, dirty {np.median(pd):.2f}")


if __name__ == "__main__":
    main()
