"""PII detection measured: precision and recall per type on planted PII, survival of numbers that are not PII,
and what the detectors find in untouched real text.

Runs curate's pii stage detection (`curate.stages.pii.detect_batch`, the shipped rules/pii/pii.yaml, every
type on) over the texts `evals/pii_plant.py` builds, each text a web record:

- **planted** (per type): a planted value is *found* when a finding of its type overlaps it, *exact* when
  one has its span, *covered* when findings of any type cover every character of it (nothing leaks).
  Precision counts the type's findings in planted texts that overlap a planted value of that type; findings
  the host text already had before planting are left out (they are real text, counted in the third table).
- **not PII** (dates, times, prices, counts, years, hotlines, ID numbers with a wrong check character, card
  numbers failing Luhn, order numbers): planted the same way; *survived* = no finding touches it.
- **untouched** real texts of the same split (disjoint from the hosts): every finding there is a false
  positive or PII that the real data already holds; they are written with context to
  ``out/pii/untouched-SPLIT.jsonl`` and ``--show`` prints some, to read and judge.

Usage::

    python evals/pii.py --split test --per-type 300 --untouched 20000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pii_plant import DATA, Host, Planted, load_hosts, plant  # noqa: E402

from curate.pii.config import pii_types  # noqa: E402
from curate.pii.detect import Finding  # noqa: E402
from curate.pii.spec import PiiSpec  # noqa: E402
from curate.schema import conform, record_schema  # noqa: E402
from curate.stages.pii import detect_batch  # noqa: E402


def findings_per_text(texts: list[str], batch: int = 5000) -> list[list[Finding]]:
    """The pii stage's findings in each text, each text a web record (batched as the pipeline batches)."""
    schema = record_schema()
    fields = [schema.arrow.field(k) for k in ("id", "kind", "source", "source_file", "source_line", "text",
                                              "schema_version", "pipeline_version")]
    out: list[list[Finding]] = [[] for _ in texts]
    for lo in range(0, len(texts), batch):
        chunk = texts[lo: lo + batch]
        rows = [{"id": str(lo + i), "kind": "web", "source": "eval", "source_file": "eval", "source_line": i,
                 "text": t, "schema_version": schema.version, "pipeline_version": "eval"}
                for i, t in enumerate(chunk)]
        found = detect_batch(conform(pa.Table.from_pylist(rows, schema=pa.schema(fields))), PiiSpec())
        for f in found.findings:  # web records: text unit i is row i
            out[lo + f.unit].append(f)
    return out


def _overlaps(f: Finding, start: int, end: int) -> bool:
    return f.start < end and f.end > start


def planted_tables(planted: list[Planted]) -> tuple[list[tuple], list[tuple], list[tuple[Planted, str]]]:
    """Per PII type (planted, found, exact, covered, precision, recall) and per kind of non-PII number
    (planted, survived, what the rest were taken for); and every miss and false positive for reading."""
    found_in = findings_per_text([p.text for p in planted])
    before = findings_per_text([p.host for p in planted])
    notes: list[tuple[Planted, str]] = []
    stats: dict[str, Counter] = defaultdict(Counter)
    for p, fs, host_fs in zip(planted, found_in, before, strict=True):
        pre = Counter((f.type, p.host[f.start: f.end]) for f in host_fs)
        for f in fs:
            surface = p.text[f.start: f.end]
            if pre[f.type, surface] > 0 and not _overlaps(f, p.start, p.end):
                pre[f.type, surface] -= 1
                continue  # the host had it before planting
            stats[f.type]["findings"] += 1
            if f.type == p.type and _overlaps(f, p.start, p.end):
                stats[f.type]["tp"] += 1
            else:
                notes.append((p, f"false {f.type}: {surface!r} ({f.detector}: {f.why})"))
        if p.type.startswith("not:"):
            hit = [f for f in fs if _overlaps(f, p.start, p.end)]
            stats[p.type]["planted"] += 1
            stats[p.type]["survived"] += not hit
            for f in hit:
                stats[p.type][f"as {f.type}"] += 1
            continue
        same = [f for f in fs if f.type == p.type and _overlaps(f, p.start, p.end)]
        covered = set()
        for f in fs:
            covered.update(range(f.start, f.end))
        s = stats[p.type]
        s["planted"] += 1
        s["found"] += bool(same)
        s["exact"] += any(f.start == p.start and f.end == p.end for f in same)
        s["covered"] += all(i in covered for i in range(p.start, p.end))
        if not same:
            notes.append((p, "missed"))
    pii_rows = []
    for t in pii_types():
        s = stats[t]
        precision = s["tp"] / s["findings"] if s["findings"] else float("nan")
        pii_rows.append((t, s["planted"], s["found"], s["exact"], s["covered"], s["findings"], precision,
                         s["found"] / s["planted"] if s["planted"] else float("nan")))
    neg_rows = []
    for kind in sorted(k for k in stats if k.startswith("not:")):
        s = stats[kind]
        taken = ", ".join(f"{k[3:]} {v}" for k, v in sorted(s.items()) if k.startswith("as "))
        neg_rows.append((kind[4:], s["planted"], s["survived"], s["survived"] / s["planted"], taken or "-"))
    return pii_rows, neg_rows, notes


def untouched_table(hosts: list[Host], n: int, out: Path) -> list[tuple]:
    """Findings per type on `n` untouched texts (half SMILECHAT, half CPED where there are enough); every
    finding written with its context to `out`."""
    by_source: dict[str, list[Host]] = defaultdict(list)
    for h in hosts:
        by_source[h.source].append(h)
    chosen = [h for src in sorted(by_source) for h in by_source[src][: n // len(by_source)]]
    found = findings_per_text([h.text for h in chosen])
    counts: dict[str, Counter] = defaultdict(Counter)
    texts = Counter(h.source for h in chosen)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for h, fs in zip(chosen, found, strict=True):
            for x in fs:
                counts[h.source][x.type] += 1
                f.write(json.dumps({"source": h.source, "id": h.id, "type": x.type, "value": h.text[x.start: x.end],
                                    "context": h.text[max(0, x.start - 20): x.end + 20], "detector": x.detector,
                                    "why": x.why}, ensure_ascii=False) + "\n")
    rows = []
    for t in pii_types():
        row = [t]
        for src in sorted(texts):
            row += [counts[src][t], 10_000 * counts[src][t] / texts[src]]
        rows.append(tuple(row))
    return [("texts", *[v for src in sorted(texts) for v in (texts[src], float("nan"))])] + rows


def _print_table(header: list[str], rows: list[tuple]) -> None:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "-" if v != v else f"{v:.3f}"
        return str(v)
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(cell(v) for v in r) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=["dev", "test"], default="test")
    ap.add_argument("--per-type", type=int, default=300)
    ap.add_argument("--untouched", type=int, default=20000, help="untouched texts for the false-positive table")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--show", type=int, default=0, help="print this many misses/false positives and untouched findings")
    args = ap.parse_args()

    planted, untouched = plant(load_hosts(args.split, args.data), args.per_type, args.seed)
    pii_rows, neg_rows, notes = planted_tables(planted)
    print(f"## planted PII ({args.split} split, seed {args.seed}: SMILECHAT turns and CPED utterances)\n")
    _print_table(["type", "planted", "found", "exact span", "covered", "findings", "precision", "recall"], pii_rows)
    print("\n## numbers that are not PII (planted the same way)\n")
    _print_table(["kind", "planted", "survived", "rate", "taken for"], neg_rows)
    out = Path("out/pii") / f"untouched-{args.split}.jsonl"
    rows = untouched_table(untouched, args.untouched, out)
    sources = sorted({h.source for h in untouched})
    print(f"\n## findings on untouched real text (each a false positive or real PII; listed in {out})\n")
    _print_table(["type", *[c for s in sources for c in (s, f"{s} per 10k")]], rows)
    if args.show:
        rng = random.Random(args.seed)
        print("\n## misses and false positives (sample)\n")
        for p, what in rng.sample(notes, min(args.show, len(notes))):
            print(f"- [{p.type}] {what}: …{p.text[max(0, p.start - 15): p.end + 15]}… (value {p.value!r})")
        lines = out.read_text(encoding="utf-8").splitlines()
        print("\n## untouched findings (sample)\n")
        for line in rng.sample(lines, min(args.show, len(lines))):
            d = json.loads(line)
            print(f"- [{d['type']}] {d['value']!r} in …{d['context']}… ({d['detector']}: {d['why']})")


if __name__ == "__main__":
    main()
