"""Each per_record stage's share of the phase on a job's inputs: where phase A's time goes.

Reads every input of a job with curate's own readers, in batches of the run's size, and runs the per_record
phase (`curate.run.PER_RECORD`, the job's settings) over each batch one stage at a time, timing each stage's
CPU time. One core: Polars, Arrow and BLAS pools are pinned to one thread before they load, as in
bench/rules.py, so shares do not depend on how many cores are free. Setups (rule sets, the PII word list)
are done before timing, as a worker does them once. By default the job is the one `bench/e2e.py` writes for
its corpus (built here if missing, same parameters), so the figure is the stage's share on the e2e corpus::

    python bench/stage_share.py --mb 100              # the e2e corpus at 100 MB
    python bench/stage_share.py --job jobs/demo.yaml  # any job
    python bench/stage_share.py --mb 100 --against eval.jsonl   # with decontamination against eval.jsonl
"""

from __future__ import annotations

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402
import yaml  # noqa: E402

from curate.engine.heap import keep_freed_memory  # noqa: E402
from curate.io.readers import read_file  # noqa: E402
from curate.job import load_job  # noqa: E402
from curate.run import PER_RECORD, settings_of  # noqa: E402
from curate.stages.base import PhaseRunner  # noqa: E402

pa.set_cpu_count(1)
keep_freed_memory()  # as the run's workers do (curate.engine.plans)
sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402


def e2e_job(mb: float) -> Path:
    """The job file of bench/e2e.py's corpus at `mb` (its default parameters otherwise), built if missing."""
    params = e2e.corpus_params(e2e.parser().parse_args(["--mb", str(mb)]))
    corpus = e2e.default_work(params) / "corpus"
    e2e.ensure_corpus(corpus, params)
    return corpus / "job.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", type=Path, help="a job file (default: bench/e2e.py's corpus job at --mb)")
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--against", action="append", default=[],
                    help="an evaluation file or glob for a decontaminate step in flag mode (repeatable)")
    ap.add_argument("--batch", type=int, default=None, help="records per batch (default: the job's shard_rows, as a run reads)")
    args = ap.parse_args()
    path = args.job or e2e_job(args.mb)
    if args.against:  # the same job with a decontaminate block; flag mode, so later stages see the same records
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["decontaminate"] = {"against": [str(Path(a).resolve()) for a in args.against], "mode": "flag"}
        path = Path(tempfile.mkdtemp()) / "job.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    job = load_job(path)
    settings = settings_of(job)
    t0 = time.perf_counter()
    runner = PhaseRunner(PER_RECORD, PER_RECORD.prepare(settings))  # built once in the driver, as a run does
    prepared = time.perf_counter() - t0
    rows = args.batch or job.shard_rows
    seconds: dict[str, float] = defaultdict(float)
    by_input: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    mb_of: dict[str, float] = defaultdict(float)
    n_records = n_bytes = 0
    for spec in job.inputs:
        for file in spec.files:
            n_bytes += Path(file).stat().st_size
            mb_of[spec.name] += Path(file).stat().st_size / 1e6
            for table in read_file(file, spec, rel_name=Path(file).name, max_record_bytes=job.max_record_bytes,
                                   chunk_rows=rows):
                n_records += table.num_rows
                for stage, state in zip(runner.stages, runner.states, strict=True):
                    t0 = time.process_time()
                    table = stage.apply(table, state)
                    seconds[stage.name] += time.process_time() - t0
                    by_input[spec.name][stage.name] += time.process_time() - t0
    total = sum(seconds.values())
    print(f"job {path}: {len(job.inputs)} inputs, {n_bytes / 1e6:.1f} MB, {n_records:,} records, "
          f"batches of {rows} rows, one core; setup and prepare (once per run or worker, not in the table): "
          f"{prepared:.1f} s\n")
    print("| stage | CPU s | share of per_record | MB/s |")
    print("|---|---|---|---|")
    for stage in runner.stages:
        s = seconds[stage.name]
        print(f"| {stage.name} | {s:.2f} | {s / total:.1%} | {n_bytes / 1e6 / s if s else float('inf'):.1f} |")
    print(f"| **per_record** | {total:.2f} | 100.0% | {n_bytes / 1e6 / total:.2f} |")
    names = [s.name for s in runner.stages]
    print("\nshare of each input's per_record time:\n")
    print("| input | MB | " + " | ".join(names) + " | per_record MB/s |")
    print("|---|---|" + "---|" * len(names) + "---|")
    for name, secs in by_input.items():
        t = sum(secs.values())
        cells = " | ".join(f"{secs[n] / t:.1%}" for n in names)
        print(f"| {name} | {mb_of[name]:.1f} | {cells} | {mb_of[name] / t:.2f} |")


if __name__ == "__main__":
    main()
