"""Speed of the pii stage against phase A on the same records.

Reads SMILECHAT and CPED dialogues with curate's own readers (in place from ``../shared/data``), in batches of
``--batch`` records, and times per batch, best of ``--repeat``:

- the per_record phase (phase A) as the run does it: ``curate.run.per_record`` (conform, normalise, rules,
  exact hash, MinHash signatures with dedup's default parameters, line hashes) with the shipped rule sets,
  and the same without MinHash;
- the pii stage (``curate.stages.pii.pii_stage``, shipped settings, every type on) in ``redact`` and
  ``flag`` mode, on the batch after normalisation (where it runs: after normalise, before the rules).

Seconds per MB of utterance text (UTF-8), CPU time of the process and wall time. One core: Polars, Arrow
and BLAS pools are pinned to one thread before they load, as in bench/rules.py, so the ratio does not depend
on how many cores are free. The settings and the word dictionary are loaded before timing (once per process
in a run). Usage::

    python bench/pii.py --batch 2000 --batches 3 --repeat 5
"""

from __future__ import annotations

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from curate.io.readers import read_file  # noqa: E402
from curate.job import STYLE_DEFAULTS, DedupSpec, DialogueSpec, InputSpec, NormalizeSpec  # noqa: E402
from curate.pii.config import load_pii_rules  # noqa: E402
from curate.pii.spec import PiiSpec  # noqa: E402
from curate.pii.words import common_words  # noqa: E402
from curate.run import per_record  # noqa: E402
from curate.stages.base import Settings  # noqa: E402
from curate.stages.dedup import minhash_params  # noqa: E402
from curate.stages.normalize import normalize  # noqa: E402
from curate.stages.pii import pii_stage  # noqa: E402

pa.set_cpu_count(1)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RULES = ("default.yaml", "dialogue.yaml")
SOURCES = {"smilechat": ("smilechat/dialogues.jsonl", "turns"), "cped": ("cped/train.csv", "csv")}


def batches(name: str, size: int, count: int) -> list[pa.Table]:
    """The first `count` batches of `size` records of a source, as its reader yields them."""
    rel, style = SOURCES[name]
    path = str(DATA / rel)
    spec = InputSpec(path=path, kind="dialogue", name=name,
                     dialogue=DialogueSpec(style=style, **STYLE_DEFAULTS[style]))
    out = []
    for table in read_file(path, spec, rel_name=rel, max_record_bytes=8_000_000, chunk_rows=size):
        out.append(table)
        if len(out) == count:
            break
    return out


def text_mb(table: pa.Table) -> float:
    """MB of utterance text (UTF-8) in a batch of dialogues."""
    texts = pc.list_flatten(table.column("turns")).combine_chunks().field("text")
    return pc.sum(pc.binary_length(texts)).as_py() / 1e6


def best(f: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best CPU and best wall seconds of `f` over `repeat` runs."""
    cpu, wall = float("inf"), float("inf")
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        f()
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rules = load_pii_rules()
    common_words(*rules.common_words)
    norm = NormalizeSpec()
    with_minhash = Settings(rule_files=RULES, normalize=norm, dedup=DedupSpec(), minhash=minhash_params(DedupSpec()))
    without = Settings(rule_files=RULES, normalize=norm, dedup=DedupSpec(near=False), minhash=None)
    steps: dict[str, Callable[[pa.Table, pa.Table], object]] = {
        "phase A (with MinHash)": lambda raw, _: per_record(raw, with_minhash),
        "phase A (no MinHash)": lambda raw, _: per_record(raw, without),
        "pii redact": lambda _, normed: pii_stage(normed, PiiSpec(mode="redact")),
        "pii flag": lambda _, normed: pii_stage(normed, PiiSpec(mode="flag")),
    }
    print("| source | MB | step | CPU s/MB | wall s/MB | CPU vs phase A (MinHash) | vs phase A (no MinHash) |")
    print("|---|---|---|---|---|---|---|")
    for name in SOURCES:
        tables = batches(name, args.batch, args.batches)
        normed = [normalize(t, norm) for t in tables]
        mb = sum(text_mb(t) for t in tables)
        for t, n in zip(tables, normed, strict=True):  # warm up: caches, compiled patterns
            for f in steps.values():
                f(t.slice(0, 50), n.slice(0, 50))
        totals = {}
        for step, f in steps.items():
            cpu = wall = 0.0
            for t, n in zip(tables, normed, strict=True):
                c, w = best(lambda t=t, n=n, f=f: f(t, n), args.repeat)
                cpu, wall = cpu + c, wall + w
            totals[step] = (cpu, wall)
        base, base0 = totals["phase A (with MinHash)"][0], totals["phase A (no MinHash)"][0]
        for step, (cpu, wall) in totals.items():
            ratio = f"{cpu / base:.1%} | {cpu / base0:.1%}" if step.startswith("pii") else "| "
            print(f"| {name} | {mb:.2f} | {step} | {cpu / mb:.4f} | {wall / mb:.4f} | {ratio} |")


if __name__ == "__main__":
    main()
