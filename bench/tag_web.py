"""The tag stage on web records: the emotion of their sentences read by the web card against the written one.

CLUECorpusSmall's 1,500 documents (``../shared/data/web/cluecorpussmall-a.txt``, evaluation and benchmarks
only) as `kind: web` records, through ``curate.stages.tag.tag_batch`` with the default job's taggers (as a job
parses them; only emotion and sentiment read web records), once as shipped (emotion by `emotion-web`) and
once with ``web: false`` (emotion by the written card, as before the web card), the two alternated in one
process. CPU time (``time.process_time``) on one core (Arrow, Polars, BLAS at one thread); prints the median
and the spread of each over the rounds, and their ratio.

Usage::

    python bench/tag_web.py [--batch-size 500] [--rounds 7]
"""

from __future__ import annotations

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from curate.job import default_tags, parse_models  # noqa: E402
from curate.models import TURN_TASKS  # noqa: E402
from curate.schema import arrow_schema, conform  # noqa: E402
from curate.stages.tag import MAX_UNITS, Taggers, tag_batch  # noqa: E402
from rules import SHARED  # noqa: E402

pa.set_cpu_count(1)


def web_records(batch_size: int) -> list[pa.Table]:
    """CLUECorpusSmall's documents as web records with the schema's columns, in batches."""
    lines = [x for x in (SHARED / "web" / "cluecorpussmall-a.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
    base = {"kind": "web", "source": "clue", "source_file": "clue.txt", "schema_version": "x", "pipeline_version": "x"}
    rows = [{**base, "id": f"w{i}", "source_line": i + 1, "text": t} for i, t in enumerate(lines)]
    return [conform(pa.Table.from_pylist(rows[i:i + batch_size], schema=arrow_schema()))
            for i in range(0, len(rows), batch_size)]


def cpu_seconds(batches: list[pa.Table], taggers: Taggers) -> float:
    """CPU seconds of the tag stage over every batch."""
    t0 = time.process_time()
    for b in batches:
        tag_batch(b, taggers)
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    batches = web_records(args.batch_size)
    tasks = {t: True for t in TURN_TASKS}
    variants = {
        "web card (emotion-web)": Taggers(parse_models(tasks, default_tags(), "tags")),
        "written card (web: false)": Taggers(parse_models({**tasks, "emotion": {"web": False}}, default_tags(), "tags")),
    }
    n_docs = sum(b.num_rows for b in batches)
    print(f"{n_docs:,} web documents, batches of {args.batch_size}, sentences up to {MAX_UNITS} per document")
    for taggers in variants.values():  # warm: numba compiles, caches fill
        cpu_seconds(batches[:1], taggers)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))  # alternate which goes first
        for name in order:
            times[name].append(cpu_seconds(batches, variants[name]))
    print(f"\n{'emotion of web sentences by':<30}{'median CPU s':>14}{'min':>8}{'max':>8}")
    for name, ts in times.items():
        print(f"{name:<30}{statistics.median(ts):>14.3f}{min(ts):>8.3f}{max(ts):>8.3f}")
    web, written = (statistics.median(ts) for ts in times.values())
    print(f"\nratio web / written: {web / written:.3f} over {args.rounds} alternated rounds")


if __name__ == "__main__":
    main()
