"""The annotation tool for web documents: sample, show, record labels as references, check, count.

A task (`DocumentTask`) names the data files and how many documents of each are sampled, the gold file
the labels go to, the seed, and how a document's part is fixed. `web_sample.py` is its task (domain and
quality of CLUECorpusSmall documents and CommonCrawl pages, `classifiers/annotations/web-guide.md`).

The sample is deterministic: from each file, `count` line indices drawn with `random.Random(f"{seed}:{file}")`
(all lines, in file order, when `count` is None), the files one after the other. References are resolved and
checked by `curate.annotations` (file, line, sha1 of the line; never the text).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curate.annotations import (
    QUALITY_LEVELS,
    append_rows,
    document_problems,
    document_text,
    gold_file,
    read_lines,
    read_rows,
    sha12,
)
from curate.assets import asset_dir, data_root
from curate.schema import label_set

USAGE = """
    python annotate/{tool} show --start 0 --count 20   # sampled documents (long ones: head and tail)
    python annotate/{tool} record < labels.tsv         # "INDEX<TAB>DOMAIN<TAB>DOMAINS<TAB>QUALITY<TAB>NOTE" → gold file
    python annotate/{tool} check                       # every line resolves, sha1 matches, labels and parts valid
    python annotate/{tool} stats                       # label distribution per part
    python annotate/{tool} agree --batch 2 --second F  # two readings of a batch: how far they agree
"""
HEAD, TAIL = 900, 200  # characters shown of a long document: its head and its tail


@dataclass(frozen=True)
class DocumentTask:
    """One annotation task over web documents: (data file, how many lines or None for all) in sample order."""

    files: tuple[tuple[str, int | None], ...]
    gold: str
    seed: str
    part_of: Callable[[str, int], str]
    after: DocumentTask | None = None  # a later batch draws only documents this earlier task did not take


def sample(task: DocumentTask, lines_of: Callable[[str], list[str]]) -> list[tuple[str, int]]:
    """(file, line index) of the sampled documents, in sample order."""
    taken = set(sample(task.after, lines_of)) if task.after is not None else set()
    refs: list[tuple[str, int]] = []
    for file, count in task.files:
        free = [i for i in range(len(lines_of(file))) if (file, i) not in taken]
        idx = free if count is None else random.Random(f"{task.seed}:{file}").sample(free, count)
        refs += [(file, i) for i in idx]
    return refs


def view(file: str, line: str) -> str:
    """The document as shown to the annotator: one line (a page's lines joined by ⏎), cut to head and tail."""
    if file.endswith(".jsonl"):
        d = json.loads(line)
        text = " ⏎ ".join(x.strip() for x in str(d["raw_content"]).split("\n") if x.strip())
        head = f"[title] {d.get('title', '')} [site] {d.get('source_domain', '')} [lines] {d.get('nlines')}\n    "
    else:
        text, head = " ".join(line.split()), ""
    if len(text) > HEAD + TAIL + 50:
        text = f"{text[:HEAD]} …[{len(text) - HEAD - TAIL} chars]… {text[-TAIL:]}"
    return head + text


def show(refs: list[tuple[str, int]], lines_of: Callable[[str], list[str]], start: int, count: int) -> None:
    """Print sampled documents `start` .. `start + count - 1`."""
    for i in range(start, min(len(refs), start + count)):
        file, n = refs[i]
        line = lines_of(file)[n]
        print(f"=== [{i}] {Path(file).name}:{n} ({len(document_text(file, line))} chars)")
        print(f"    {view(file, line)}")
    print(f"--- {len(refs)} sampled documents in all", file=sys.stderr)


def parse_label_line(line: str) -> tuple[int, str, list[str], str, str]:
    """"INDEX<TAB>DOMAIN<TAB>DOMAINS<TAB>QUALITY[<TAB>NOTE]" → (index, primary, all domains, quality, note);
    DOMAINS is comma-separated other domains or `-` (the primary is put first either way)."""
    parts = [p.strip() for p in line.rstrip("\n").split("\t")]
    idx, primary, others, quality = int(parts[0]), parts[1], parts[2], parts[3]
    note = parts[4] if len(parts) > 4 else ""
    rest = [d.strip() for d in others.split(",") if d.strip() and d.strip() not in ("-", primary)]
    return idx, primary, [primary, *dict.fromkeys(rest)], quality, note


def record(task: DocumentTask, lines: list[str], gold: Path, refs: list[tuple[str, int]],
           lines_of: Callable[[str], list[str]]) -> int:
    """Append label lines to the gold file (skipping documents it holds); the count added."""
    domains = set(label_set("domain"))

    def row(line: str) -> dict:
        idx, primary, doms, quality, note = parse_label_line(line)
        if any(d not in domains for d in doms) or quality not in QUALITY_LEVELS:
            raise SystemExit(f"bad label(s) for sample {idx}: {doms} {quality}")
        file, n = refs[idx]
        r = {"file": file, "line": n, "sha1": sha12(lines_of(file)[n]), "domain": primary, "domains": doms,
             "quality": quality, "part": task.part_of(file, n)}
        if note:
            r["note"] = note
        return r

    return append_rows(lines, gold, lambda r: (r["file"], r["line"]), row)


def stats(rows: list[dict]) -> None:
    """Primary domain and quality distribution, per part."""
    for part in ("select", "test"):
        sub = [r for r in rows if r.get("part") == part]
        if not sub:
            continue
        files = Counter(Path(r["file"]).name for r in sub)
        print(f"{part}: {len(sub)} documents ({', '.join(f'{f} {c}' for f, c in files.items())})")
        print("  quality: " + ", ".join(f"{q} {sum(r['quality'] == q for r in sub)}" for q in QUALITY_LEVELS))
        print(f"  {'domain':<14}{'primary':>8}{'any':>6}" + "".join(f"{q:>8}" for q in QUALITY_LEVELS))
        for d in label_set("domain"):
            prim = [r for r in sub if r["domain"] == d]
            print(f"  {d:<14}{len(prim):>8}{sum(d in r['domains'] for r in sub):>6}"
                  + "".join(f"{sum(r['quality'] == q for r in prim):>8}" for q in QUALITY_LEVELS))


def agree(first: list[dict], second: list[dict]) -> None:
    """Two readings of the same documents: primary domain exact and kappa, any domain shared, quality exact
    and kappa, and the two readers' quality levels crossed."""
    from curate.models.metrics import cohen_kappa

    key = {(r["file"], r["line"]): r for r in first}
    pairs = [(key[(r["file"], r["line"])], r) for r in second if (r["file"], r["line"]) in key]
    if len(pairs) != len(first) or len(pairs) != len(second):
        raise SystemExit(f"the two files do not hold the same documents ({len(first)}, {len(second)}, {len(pairs)} shared)")
    n = len(pairs)

    def line(name: str, a: list[str], b: list[str]) -> None:
        same = sum(x == y for x, y in zip(a, b, strict=True))
        print(f"{name:<16}{same / n:>8.3f}{cohen_kappa(a, b):>8.3f}   ({same} of {n})")

    print(f"{n} documents\n{'':<16}{'exact':>8}{'kappa':>8}")
    line("primary domain", [a["domain"] for a, _ in pairs], [b["domain"] for _, b in pairs])
    shared = sum(bool(set(a["domains"]) & set(b["domains"])) for a, b in pairs)
    print(f"{'any domain':<16}{shared / n:>8.3f}{'':>8}   ({shared} of {n} share one)")
    line("quality", [a["quality"] for a, _ in pairs], [b["quality"] for _, b in pairs])
    print("quality, reader 1 (rows) x reader 2 (columns): " + " ".join(QUALITY_LEVELS))
    for q in QUALITY_LEVELS:
        print(f"  {q:<8}" + "".join(f"{sum(a['quality'] == q and b['quality'] == p for a, b in pairs):>7}"
                                     for p in QUALITY_LEVELS))


def main(tasks: dict[int, DocumentTask], doc: str, tool: str, argv: list[str] | None = None) -> int:
    """The command line of one task's batches (`--batch N` picks one; 1 is the first sample)."""
    ap = argparse.ArgumentParser(description=doc + USAGE.format(tool=tool),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["show", "record", "check", "stats", "agree"])
    ap.add_argument("--batch", type=int, choices=sorted(tasks), default=1, help="which sample (default 1)")
    ap.add_argument("--data-root", default=str(data_root()))
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--gold", type=Path, default=None, help="gold file (default the batch's in classifiers/annotations/: "
                    + ", ".join(f"{b}: {t.gold}" for b, t in sorted(tasks.items())) + ")")
    ap.add_argument("--second", type=Path, default=None, help="agree: the second reader's file")
    args = ap.parse_args(argv)
    task = tasks[args.batch]
    default = asset_dir("classifiers") / "annotations" / task.gold  # before the first record, it does not exist
    gold = args.gold or (gold_file(task.gold) if default.exists() else default)
    root = Path(args.data_root)
    cache: dict[str, list[str]] = {}

    def lines_of(file: str) -> list[str]:
        if file not in cache:
            cache[file] = read_lines(root / file)
        return cache[file]

    if args.command == "stats":
        stats(read_rows(gold))
        return 0
    if args.command == "agree":
        if args.second is None:
            raise SystemExit("agree needs --second FILE: the other reading of the batch")
        agree(read_rows(gold), read_rows(args.second))
        return 0
    if args.command == "check":
        found = document_problems(read_rows(gold), lines_of, set(label_set("domain")), task.part_of)
        print("\n".join(found) or f"{gold}: {len(read_rows(gold))} lines, all resolve and match")
        return 1 if found else 0
    refs = sample(task, lines_of)
    if args.command == "show":
        show(refs, lines_of, args.start, args.count)
        return 0
    added = record(task, sys.stdin.readlines(), gold, refs, lines_of)
    print(f"appended {added} lines to {gold}", file=sys.stderr)
    return 0
