"""Rule-stage throughput on one core: curate's vectorised stage against per-document Python.

Loads real Chinese text from ``../shared/data`` (read in place, never copied): SMILECHAT dialogues (turn
contents joined by newlines), CPED train utterances grouped by ``Dialogue_ID``, the ChineseWebText
CommonCrawl sample (``raw_content``) and EmoLLM supporter replies (each conversation's ``output``s joined
by newlines), all treated as web documents. Every text is normalised once up front with curate's
``normalize`` (not timed), so both sides see the same input. Then, in one process and one run:

* ours: ``curate.stages.rules.apply_rules`` over batches of ``--batch-size`` documents (tables built with
  ``curate.schema.conform``), warmed up once, best of ``--repeat``;
* baseline: ``bench/baseline_rules.py``, a straightforward per-document pure-Python implementation of the
  same signals and rules, once (``--baseline-repeat``). Its sensitive-word matcher is whichever is faster
  on this data of CWT's ``for word in words: if word in text`` loop and one Aho-Corasick pass.

Polars, Arrow, NumPy and BLAS are held to one thread, so both sides run on one core (the CPU-time/wall
ratio of our runs is printed as a check). It prints MB (UTF-8 bytes of the normalised text), seconds,
MB/s and docs/s per dataset and overall, the ratio ours/baseline, and how far the two agree: the share
of documents with the same drop reason and the largest difference per signal.

Usage::

    python bench/rules.py [--limit-mb 16] [--batch-size 1000] [--repeat 3] [--profile 15]
"""

from __future__ import annotations

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import cProfile  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline_rules import SIGNALS, BaselineRules, aho_corasick_matcher, loop_matcher  # noqa: E402

from curate.job import NormalizeSpec  # noqa: E402
from curate.schema import conform  # noqa: E402
from curate.stages.normalize import normalize  # noqa: E402
from curate.stages.rules import RuleSet, apply_rules, load_rule_sets  # noqa: E402
from curate.stages.signals import REGISTRY, SignalInput  # noqa: E402

pa.set_cpu_count(1)
pa.set_io_thread_count(1)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RULE_FILES = ["default.yaml", "dialogue.yaml"]


# ---------------------------------------------------------------- data


def _smilechat() -> Iterator[str]:
    with open(SHARED / "smilechat" / "dialogues.jsonl", encoding="utf-8") as f:
        for line in f:
            yield "\n".join(t["content"] for t in json.loads(line)["turns"])


def _cped() -> Iterator[str]:
    dialogues: dict[str, list[str]] = {}
    with open(SHARED / "cped" / "train.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            dialogues.setdefault(row["Dialogue_ID"], []).append(row["Utterance"])
    yield from ("\n".join(u) for u in dialogues.values())


def _commoncrawl() -> Iterator[str]:
    with open(SHARED / "web" / "cwt-commoncrawl-sample.jsonl", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)["raw_content"]


def _emollm() -> Iterator[str]:
    with open(SHARED / "emollm" / "data.json", encoding="utf-8") as f:
        for item in json.load(f):
            yield "\n".join(turn["output"] for turn in item["conversation"])


DATASETS: dict[str, Callable[[], Iterator[str]]] = {
    "smilechat": _smilechat,
    "cped-train": _cped,
    "cwt-commoncrawl": _commoncrawl,
    "emollm-outputs": _emollm,
}


def load_texts(reader: Callable[[], Iterator[str]], limit_bytes: float) -> list[str]:
    """Raw texts in file order, up to `limit_bytes` of UTF-8."""
    texts: list[str] = []
    size = 0
    for text in reader():
        if size >= limit_bytes:
            break
        texts.append(text)
        size += len(text.encode("utf-8"))
    return texts


def normalised_table(texts: list[str]) -> pa.Table:
    """A conformed record table of web documents, normalised by curate (NFKC, invisibles, whitespace)."""
    table = conform(pa.table({"kind": pa.array(["web"] * len(texts)), "text": pa.array(texts, pa.string())}))
    return normalize(table, NormalizeSpec()).combine_chunks()


# ---------------------------------------------------------------- timing


@dataclass
class Dataset:
    """One dataset's normalised input and both sides' timings and results."""

    name: str
    table: pa.Table
    texts: list[str]
    mb: float
    ours_s: float = float("inf")
    ours_cpu_s: float = 0.0
    base_s: float = 0.0
    base_cpu_s: float = 0.0
    ours_out: pa.Table | None = None
    base_out: list[tuple[str | None, dict[str, float]]] = field(default_factory=list)

    @property
    def docs(self) -> int:
        """Number of documents."""
        return len(self.texts)


def time_ours(ds: Dataset, rule_sets: tuple[RuleSet, ...], batch_size: int, repeat: int) -> None:
    """Best of `repeat` runs of apply_rules over the dataset in batches (after one warm-up batch)."""
    batches = [ds.table.slice(i, batch_size) for i in range(0, ds.table.num_rows, batch_size)]
    apply_rules(batches[0], rule_sets)  # warm-up: imports, regex compilation, word automaton
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        outs = [apply_rules(b, rule_sets) for b in batches]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < ds.ours_s:
            ds.ours_s, ds.ours_cpu_s = wall, cpu
    ds.ours_out = pa.concat_tables(outs)


def time_baseline(ds: Dataset, base: BaselineRules, repeat: int) -> None:
    """Best of `repeat` passes of the per-document baseline (after warming up on a few documents)."""
    for text in ds.texts[:20]:
        base(text)
    ds.base_s = float("inf")
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = [base(text) for text in ds.texts]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < ds.base_s:
            ds.base_s, ds.base_cpu_s = wall, cpu
    ds.base_out = out


def pick_matcher(datasets: list[Dataset], words: list[str]) -> tuple[str, dict[str, float]]:
    """Time both sensitive-word matchers (lower-casing included) over all texts; return the faster."""
    mb = sum(ds.mb for ds in datasets)
    speed: dict[str, float] = {}
    for name, make in (("loop", loop_matcher), ("aho-corasick", aho_corasick_matcher)):
        count = make(words)
        t0 = time.perf_counter()
        for ds in datasets:
            for text in ds.texts:
                count(text.lower())
        speed[name] = mb / (time.perf_counter() - t0)
    return max(speed, key=speed.__getitem__), speed


# ---------------------------------------------------------------- agreement


@dataclass
class Agreement:
    """How far ours and the baseline agree over all documents."""

    docs: int = 0
    same_reason: int = 0
    max_diff: dict[str, float] = field(default_factory=dict)
    n_diff: Counter = field(default_factory=Counter)
    reason_pairs: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


def compare(datasets: list[Dataset], tol: float = 1e-6) -> Agreement:
    """Compare drop reasons and every signal (the baseline's floats rounded to the schema's float32)."""
    ag = Agreement()
    for ds in datasets:
        assert ds.ours_out is not None
        ours_reason = ds.ours_out.column("drop_reason").to_pylist()
        base_reason = [r for r, _ in ds.base_out]
        ag.docs += ds.docs
        for i, (a, b) in enumerate(zip(ours_reason, base_reason, strict=True)):
            if a == b:
                ag.same_reason += 1
            else:
                ag.reason_pairs[(a, b)] += 1
                if len(ag.examples) < 5:
                    ag.examples.append(f"{ds.name}[{i}] ours={a} baseline={b}: {ds.texts[i][:60]!r}")
        for sig in SIGNALS:
            col = ds.ours_out.column(sig)
            ours = col.to_numpy().astype(np.float64)
            base = np.array([s[sig] for _, s in ds.base_out], dtype=np.float64)
            base = base.astype(col.type.to_pandas_dtype()).astype(np.float64)
            diff = np.abs(ours - base)
            ag.max_diff[sig] = max(ag.max_diff.get(sig, 0.0), float(diff.max(initial=0.0)))
            ag.n_diff[sig] += int((diff > tol).sum())
            for i in np.flatnonzero(diff > tol)[: max(0, 2 - len([e for e in ag.examples if sig in e]))]:
                ag.examples.append(f"{ds.name}[{i}] {sig}: ours={ours[i]:.6g} baseline={base[i]:.6g}: "
                                   f"{ds.texts[i][:60]!r}")
    return ag


# ---------------------------------------------------------------- report


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths, strict=True)))


def print_table(datasets: list[Dataset]) -> tuple[float, float]:
    """Print the throughput table; return overall MB/s of ours and of the baseline."""
    header = ["dataset", "docs", "MB", "ours s", "ours MB/s", "ours docs/s",
              "base s", "base MB/s", "base docs/s", "ratio", "dropped"]
    rows = []
    total = Dataset("overall", pa.table({}), [], 0.0, ours_s=0.0)
    total_dropped = 0
    for ds in datasets:
        assert ds.ours_out is not None
        dropped = ds.ours_out.column("drop_reason").null_count
        dropped = ds.docs - dropped
        rows.append((ds, dropped))
        total.texts += ds.texts
        total.mb += ds.mb
        total.ours_s += ds.ours_s
        total.base_s += ds.base_s
        total_dropped += dropped
    rows.append((total, total_dropped))
    cells = []
    for ds, dropped in rows:
        ours_mbs, base_mbs = ds.mb / ds.ours_s, ds.mb / ds.base_s
        cells.append([ds.name, f"{ds.docs:,}", f"{ds.mb:.2f}", f"{ds.ours_s:.3f}", f"{ours_mbs:.2f}",
                      f"{ds.docs / ds.ours_s:,.0f}", f"{ds.base_s:.2f}", f"{base_mbs:.2f}",
                      f"{ds.docs / ds.base_s:,.0f}", f"{ours_mbs / base_mbs:.1f}x",
                      f"{100 * dropped / ds.docs:.1f}%"])
    widths = [max(len(c[j]) for c in [header, *cells]) for j in range(len(header))]
    print(_row(header, widths))
    print(_row(["-" * w for w in widths], widths))
    for c in cells[:-1]:
        print(_row(c, widths))
    print(_row(["-" * w for w in widths], widths))
    print(_row(cells[-1], widths))
    return total.mb / total.ours_s, total.mb / total.base_s


def print_agreement(ag: Agreement) -> None:
    """Print the drop-reason agreement and the per-signal differences."""
    print(f"\nagreement: same drop reason for {ag.same_reason:,} of {ag.docs:,} documents "
          f"({100 * ag.same_reason / ag.docs:.3f}%)")
    for (a, b), n in ag.reason_pairs.most_common(10):
        print(f"  ours={a}  baseline={b}: {n}")
    print(f"\n{'signal':<26}{'max |ours - baseline|':>22}{'docs > 1e-6':>13}")
    for sig in SIGNALS:
        print(f"{sig:<26}{ag.max_diff[sig]:>22.3g}{ag.n_diff[sig]:>13,}")
    if ag.examples:
        print("\nexamples of disagreement:")
        for e in ag.examples:
            print("  " + e)


def main(argv: list[str] | None = None) -> None:
    """Load, normalise, time both sides, compare, print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit-mb", type=float, default=16.0,
                    help="read at most this many MB of raw UTF-8 text per dataset (default 16: SMILECHAT is cut "
                         "to 16 of its 31 MB, the others are whole; 0 = all, about 34 MB)")
    ap.add_argument("--batch-size", type=int, default=1000, help="documents per apply_rules batch (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of ours, best kept (default 3)")
    ap.add_argument("--baseline-repeat", type=int, default=1, help="timed runs of the baseline (default 1)")
    ap.add_argument("--matcher", choices=["auto", "loop", "aho-corasick"], default="auto",
                    help="baseline sensitive-word matcher (default: the faster on this data)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="after the run, cProfile one pass of ours and print the top N functions by own time")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    rule_sets = load_rule_sets(RULE_FILES)
    datasets = []
    for name, reader in DATASETS.items():
        limit = args.limit_mb * 1e6 if args.limit_mb > 0 else float("inf")
        table = normalised_table(load_texts(reader, limit))
        texts = table.column("text").to_pylist()
        datasets.append(Dataset(name, table, texts, sum(len(t.encode("utf-8")) for t in texts) / 1e6))
    print(f"rules: {', '.join(RULE_FILES)} (web documents: {sum(len(rs.active) for rs in rule_sets if 'web' in rs.applies_to)} "
          f"enabled rules); batch size {args.batch_size}; threads: polars {pl.thread_pool_size()}, "
          f"arrow {pa.cpu_count()}")

    words = next(rs.words.words for rs in rule_sets if "web" in rs.applies_to and rs.words is not None)
    if args.matcher == "auto":
        matcher, speed = pick_matcher(datasets, words)
        print(f"baseline sensitive words ({len(words)}): `word in text` loop {speed['loop']:.2f} MB/s, "
              f"Aho-Corasick {speed['aho-corasick']:.2f} MB/s -> baseline uses {matcher}")
    else:
        matcher = args.matcher
        print(f"baseline sensitive words ({len(words)}): {matcher}")
    base = BaselineRules.from_rule_sets(rule_sets, matcher)

    for ds in datasets:
        time_ours(ds, rule_sets, args.batch_size, args.repeat)
        time_baseline(ds, base, args.baseline_repeat)
    ours_cpu, base_cpu = sum(ds.ours_cpu_s for ds in datasets), sum(ds.base_cpu_s for ds in datasets)
    print(f"ours: best of {args.repeat}, CPU time / wall time {ours_cpu / sum(ds.ours_s for ds in datasets):.2f}; "
          f"baseline: best of {args.baseline_repeat}, CPU time / wall time "
          f"{base_cpu / sum(ds.base_s for ds in datasets):.2f}  (1.00 = one core, all the time; "
          f"below 1 = the machine was busy)\n")

    ours_mbs, base_mbs = print_table(datasets)
    print_agreement(compare(datasets))
    print(f"\nrule stage: ours {ours_mbs:.2f} MB/s vs per-document Python {base_mbs:.2f} MB/s on one core "
          f"-> {ours_mbs / base_mbs:.1f}x   (whole script {time.perf_counter() - t_start:.0f} s)")
    mb = sum(ds.mb for ds in datasets)
    print(f"same by CPU time (robust to a busy machine): ours {mb / ours_cpu:.2f} MB/s vs {mb / base_cpu:.2f} MB/s "
          f"-> {base_cpu / ours_cpu:.1f}x")
    busy = min(ours_cpu / sum(ds.ours_s for ds in datasets), base_cpu / sum(ds.base_s for ds in datasets))
    if busy < 0.9:
        print(f"warning: other processes took this core (CPU/wall down to {busy:.2f}); the wall-clock figures are "
              "pessimistic and their ratio unreliable, the CPU-time line is the one to quote")
    if args.profile:
        profile_ours(datasets, rule_sets, args.batch_size, args.profile)


def profile_ours(datasets: list[Dataset], rule_sets: tuple[RuleSet, ...], batch_size: int, top: int) -> None:
    """cProfile one pass of apply_rules over every dataset; print the top functions by own time."""
    batches = [ds.table.slice(i, batch_size) for ds in datasets for i in range(0, ds.table.num_rows, batch_size)]
    profiler = cProfile.Profile()
    profiler.enable()
    for b in batches:
        apply_rules(b, rule_sets)
    profiler.disable()
    print(f"\nprofile of one pass of ours (cProfile, top {top} by own time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)

    # the same pass split by signal producer, shared views (compact text, n-gram profile) timed on their own
    web = next(rs for rs in rule_sets if "web" in rs.applies_to)
    spent: Counter = Counter()
    for b in batches:
        t0 = time.process_time()
        apply_rules(b, rule_sets)
        spent["apply_rules, whole"] += time.process_time() - t0
        x = SignalInput(pl.from_arrow(b.column("text").combine_chunks()).cast(pl.String), None, web.words)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("view: compact text -> code points", lambda x=x: x.compact),
            ("view: n-gram repetition profile (2..10, 13)", lambda x=x: x.repetition),
            ("view: char_len, n_lines", lambda x=x: (x.char_len, x.n_lines)),
        ]
        producers = {REGISTRY[r.signal].name: REGISTRY[r.signal] for r in web.active}
        steps += [(f"signal {name}", lambda x=x, sig=sig: sig.fn(x)) for name, sig in producers.items()]
        for label, step in steps:
            t0 = time.process_time()
            step()
            spent[label] += time.process_time() - t0
    whole = spent.pop("apply_rules, whole")
    print(f"\nthe same pass by step (CPU seconds, share of apply_rules {whole:.2f} s; "
          "each step timed on its own after the whole call):")
    for label, sec in spent.most_common():
        print(f"  {sec:7.3f}  {100 * sec / whole:5.1f}%  {label}")
    rest = whole - sum(spent.values())
    print(f"  {rest:7.3f}  {100 * rest / whole:5.1f}%  rest: rule verdicts, rule_flags / drop_detail, casts, batch setup")


if __name__ == "__main__":
    main()
