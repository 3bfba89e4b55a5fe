"""A real `curate run` over web text, read against the web gold set: domain table, quality by reader grade, toxicity.

    PYTHONPATH=. python evals/web_run.py --work /tmp/web-run                  # the cards in classifiers/
    PYTHONPATH=. python evals/web_run.py --work /tmp/web-run-old --cards-rev 309c9b6   # the cards of a commit

Inputs (written under WORK, never into the repo: these files have no redistribution licence): all 1,500
CLUECorpusSmall documents (`web/cluecorpussmall-a.txt`, one JSON line each with id `clue-LINE`) and the
100 CommonCrawl pages as they are (`web/cwt-commoncrawl-sample.jsonl`, raw CCNet). One job runs them through
the whole pipeline (rules, dedup, pii, scores; no affect tags) with the quality, domain and toxicity cards
of `--cards DIR` or of commit `--cards-rev` (extracted with `git show`). Then, from OUT's data and rejects:

* per gold part (the fresh batch 2, all `test`, first; then the first sample's `test` part): documents kept and
  rejected by the pipeline;
* domain, kept gold documents: gold primary domain (rows) against the run's `domain` (the arg-max), top-1
  (the arg-max is one of the document's domains), primary accuracy, and the share of documents that are not
  conversations or Q&A threads (`dialogue` not among their domains) given `dialogue`; the majority baseline;
* quality: the run's `quality` score by reader grade (n, median, shares below 0.3 / 0.6, counts per tenth);
* toxicity: the share of kept CLUECorpusSmall documents with `toxic` true, all and outside the gold select part
  (the select part is trained on as safe by toxicity >= 1.2.0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

from curate.annotations import QUALITY_LEVELS, read_gold_documents, read_lines
from curate.assets import data_root
from curate.schema import label_set

REPO = Path(__file__).resolve().parents[1]
CLUE, CC = "web/cluecorpussmall-a.txt", "web/cwt-commoncrawl-sample.jsonl"
TASKS = ("quality", "domain", "toxicity")
FRESH = "web-hand-labels-2.jsonl"  # the fresh, all-test batch 2 (its first reader; the second differs on 3 domains)


def extract_cards(rev: str, dest: Path) -> Path:
    """The quality, domain and toxicity cards and models of commit `rev`, written to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for task in TASKS:
        card = subprocess.run(["git", "show", f"{rev}:classifiers/{task}.yaml"], cwd=REPO, check=True,
                              capture_output=True).stdout
        (dest / f"{task}.yaml").write_bytes(card)
        (dest / f"{task}.ftz").write_bytes(subprocess.run(["git", "show", f"{rev}:classifiers/{task}.ftz"], cwd=REPO,
                                                          check=True, capture_output=True).stdout)
    return dest


def write_job(work: Path, root: Path, cards: Path) -> Path:
    """The CLUECorpusSmall documents as JSONL with their line as id, and the job file."""
    inp = work / "in"
    inp.mkdir(parents=True, exist_ok=True)
    with (inp / "clue.jsonl").open("w", encoding="utf-8") as f:
        for i, text in enumerate(read_lines(root / CLUE)):
            f.write(json.dumps({"id": f"clue-{i}", "text": text}, ensure_ascii=False) + "\n")
    job = {
        "name": "web-gold-run",
        "output": str(work / "out"),
        "inputs": [
            {"name": "clue", "path": str(inp / "clue.jsonl"), "kind": "web", "text_field": "text", "id_field": "id",
             "license": "research use, no redistribution"},
            {"name": "commoncrawl", "path": str(root / CC), "kind": "web", "text_field": "raw_content",
             "url_field": "url", "license": "no license file upstream: evaluation only"},
        ],
        "rules": ["default.yaml"],
        "scores": {task: str(cards / f"{task}.yaml") for task in TASKS},
        "tags": False,
        "risk": False,
    }
    path = work / "job.json"
    path.write_text(json.dumps(job, indent=1), encoding="utf-8")
    return path


def read_out(out: Path) -> list[dict]:
    """Every record of the run (data and rejects) with the columns read here."""
    want = ["id", "source", "source_line", "drop_reason", "domain", "quality", "toxic"]
    rows: list[dict] = []
    for sub in ("data", "rejects"):
        for f in sorted((out / sub).rglob("*.parquet")):
            t = pq.read_table(f)
            cols = {c: t[c].to_pylist() if c in t.column_names else [None] * t.num_rows for c in want}
            rows += [dict(zip(want, vals, strict=True)) | {"kept": sub == "data"} for vals in zip(*cols.values(), strict=True)]
    return rows


def gold_key(row: dict) -> tuple[str, int]:
    """(data file, 0-based line) of a run record."""
    if row["source"] == "clue":
        return CLUE, int(str(row["id"]).removeprefix("clue-"))
    return CC, int(row["source_line"]) - 1


def domain_table(gold: list, pred: list[str]) -> list[str]:
    """Rows gold primary, columns the run's domain; top-1, primary accuracy, dialogue misfires, baselines."""
    labels = [lab for lab in label_set("domain") if any(g.domain == lab for g in gold) or lab in pred]
    pairs = Counter((g.domain, p) for g, p in zip(gold, pred, strict=True))
    lines = ["| gold \\ run | " + " | ".join(lab[:5] for lab in labels) + " | n |",
             "|---|" + "--:|" * (len(labels) + 1)]
    for g in labels:
        n = sum(pairs[(g, p)] for p in labels)
        if n:
            lines.append(f"| {g} | " + " | ".join(str(pairs[(g, p)] or "") for p in labels) + f" | {n} |")
    n = len(gold)
    top1 = sum(p in g.domains for g, p in zip(gold, pred, strict=True)) / n
    prim = sum(p == g.domain for g, p in zip(gold, pred, strict=True)) / n
    maj = Counter(g.domain for g in gold).most_common(1)[0][0]
    base_top1 = sum(maj in g.domains for g in gold) / n
    non = [p for g, p in zip(gold, pred, strict=True) if "dialogue" not in g.domains]
    mis = sum(p == "dialogue" for p in non)
    lines += ["", f"top-1 (run's domain among the gold domains) {top1:.3f}, majority baseline ({maj}) {base_top1:.3f}; "
              f"primary {prim:.3f}, baseline {sum(g.domain == maj for g in gold) / n:.3f}; not conversations or "
              f"Q&A given `dialogue`: {mis} of {len(non)} ({mis / max(len(non), 1):.1%})"]
    return lines


def quality_table(levels: list[str], scores: np.ndarray) -> list[str]:
    """Per reader grade: n, median, shares below 0.3 / 0.6, counts per tenth of 0-1."""
    lines = ["| grade | n | median | < 0.3 | < 0.6 | " + " | ".join(f"{i / 10:.1f}" for i in range(10)) + " |",
             "|---|--:|--:|--:|--:|" + "--:|" * 10]
    lv = np.array(levels)
    for lev in reversed(QUALITY_LEVELS):
        s = scores[lv == lev]
        if len(s):
            hist = np.histogram(s, bins=10, range=(0.0, 1.0))[0]
            lines.append(f"| {lev} | {len(s)} | {np.median(s):.2f} | {(s < 0.3).mean():.1%} | {(s < 0.6).mean():.1%} | "
                         + " | ".join(str(v or "") for v in hist) + " |")
    return lines


def report_part(part: str, docs: list, by_key: dict[tuple[str, int], dict]) -> None:
    """What the run did with one part's gold documents: kept and rejected, the domain table and the quality
    histogram of the kept ones."""
    kept = [d for d in docs if by_key[(d.file, d.line)]["kept"]]
    reasons = Counter(by_key[(d.file, d.line)]["drop_reason"] for d in docs if not by_key[(d.file, d.line)]["kept"])
    print(f"## gold part `{part}`: {len(docs)} documents, {len(kept)} kept, rejected {dict(reasons) or 0}")
    rej_q = Counter(d.quality for d in docs if not by_key[(d.file, d.line)]["kept"])
    print(f"rejected by reader grade: {dict(rej_q) or 0}\n")
    print(f"### domain, kept `{part}` documents\n")
    print("\n".join(domain_table(kept, [by_key[(d.file, d.line)]["domain"] for d in kept])) + "\n")
    print(f"### quality, kept `{part}` documents\n")
    q = np.array([by_key[(d.file, d.line)]["quality"] for d in kept], dtype=float)
    print("\n".join(quality_table([d.quality for d in kept], q)) + "\n")


def main() -> None:
    """Run the job (unless --no-run) and print the tables."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="folder for the inputs, the job and the run's output")
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--cards", type=Path, default=REPO / "classifiers", help="folder of the three cards")
    ap.add_argument("--cards-rev", help="take the cards and models of this commit instead (git show)")
    ap.add_argument("--no-run", action="store_true", help="read WORK/out as an earlier call left it")
    args = ap.parse_args()
    work, root = args.work.resolve(), args.data_root.resolve()
    cards = extract_cards(args.cards_rev, work / "cards") if args.cards_rev else args.cards.resolve()
    if not args.no_run:
        job = write_job(work, root, cards)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-c", "from curate.cli import main; main()", "run", str(job)], check=True,
                       env=env, cwd=work)
    rows = read_out(work / "out")
    gold = {(d.file, d.line): d for d in read_gold_documents("web-hand-labels.jsonl", root)}
    by_key = {gold_key(r): r for r in rows}
    versions = ", ".join(f"{t} {yaml.safe_load((cards / f'{t}.yaml').read_text(encoding='utf-8'))['version']}"
                         for t in TASKS)
    print(f"# curate run over CLUECorpusSmall (1,500) and the 100 CommonCrawl pages; cards: {versions}\n")
    fresh = read_gold_documents(FRESH, root)
    for part, docs in (("fresh batch 2, reader 1", fresh), ("test", [d for d in gold.values() if d.part == "test"]),
                       ("select", [d for d in gold.values() if d.part == "select"])):
        if part == "select":
            print("(the select part below is trained on by domain, quality and toxicity >= 1.2.0: not a measurement)\n")
        report_part(part, docs, by_key)
    cc = [gold[(CC, i)] for i in range(len(read_lines(root / CC)))]
    for part in ("test", "select"):
        kept = [d for d in cc if d.part == part and by_key[(d.file, d.line)]["kept"]]
        print(f"## CommonCrawl pages of the `{part}` part: {sum(d.part == part for d in cc)}, {len(kept)} kept\n")
        print("\n".join(domain_table(kept, [by_key[(d.file, d.line)]["domain"] for d in kept])) + "\n")
        q = np.array([by_key[(d.file, d.line)]["quality"] for d in kept], dtype=float)
        print("\n".join(quality_table([d.quality for d in kept], q)) + "\n")
    select = {(d.file, d.line) for d in gold.values() if d.part == "select"}
    clue = [r for r in rows if r["source"] == "clue" and r["kept"]]
    out_sel = [r for r in clue if gold_key(r) not in select]
    flag = sum(bool(r["toxic"]) for r in clue)
    flag_out = sum(bool(r["toxic"]) for r in out_sel)
    print(f"## toxicity: kept CLUECorpusSmall documents flagged `toxic`: {flag} of {len(clue)} ({flag / len(clue):.2%}); "
          f"outside the gold select part {flag_out} of {len(out_sel)} ({flag_out / len(out_sel):.2%})")


if __name__ == "__main__":
    main()
