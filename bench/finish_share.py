"""Each finish stage's CPU time over a finished run's checkpoints: where the finish phase's time goes.

Reads the per_record checkpoints and the global steps' files a run left in OUT/_work (run it with
``--keep-work``), and runs the finish phase (`curate.run.FINISH`, the job's settings plus the global steps'
files, as `curate.run` hands them to the workers) over each checkpoint one stage at a time in this process,
timing each stage's CPU time; with ``--write`` also the shard writer (Parquet, stats) into a scratch folder.
One core: Polars, Arrow and BLAS pools are pinned to one thread before they load, as in bench/stage_share.py.
Setups (models, the generic clauses) are done before timing, and the first checkpoint is run once untimed
(compiled kernels load), as a worker does them once. To compare two checkouts, run it with each one's
``PYTHONPATH``, alternating::

    python -m curate.cli run JOB -o OUT --keep-work
    PYTHONPATH=. python bench/finish_share.py JOB OUT --repeats 2 --write
"""

from __future__ import annotations

import os

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("job", type=Path, help="the job the run was made with")
    ap.add_argument("out", type=Path, help="the run's output folder, kept with --keep-work")
    ap.add_argument("--repeats", type=int, default=1, help="passes over the checkpoints (one column each)")
    ap.add_argument("--write", action="store_true", help="also time the shard writer (Parquet and stats)")
    ap.add_argument("--json", type=Path, help="write the per-pass CPU seconds here")
    args = ap.parse_args()
    pa.set_cpu_count(1)

    from curate import resume
    from curate.engine.heap import keep_freed_memory
    from curate.io.writer import DATA, REJECTS, STATS, shard_name, write_shard
    from curate.job import load_job
    from curate.run import FINISH, finish_settings, settings_of
    from curate.stages import dedup
    from curate.stages.base import PhaseRunner
    from curate.stages.generic_replies import CLAUSES

    keep_freed_memory()  # as the run's workers do (curate.engine.plans)

    work = str(args.out / "_work")
    state = resume.load_global(work)
    if state is None:
        ap.error(f"{work} holds no finished global steps: run the job with --keep-work")
    from curate.schema import record_schema

    made = json.loads((args.out / "_work" / resume.PLAN).read_text(encoding="utf-8"))["key"]["schema_version"]
    if made != record_schema().version:  # a newer stage reads columns the older per_record did not write
        ap.error(f"{args.out} was run with record schema {made}, this checkout has {record_schema().version}: "
                 "run the job again with --keep-work")
    settings = finish_settings(settings_of(load_job(args.job)), state)
    t0 = time.process_time()
    runner = PhaseRunner(FINISH, FINISH.prepare(settings))
    setup = time.process_time() - t0
    paths = sorted((args.out / "_work" / resume.CHECKPOINTS).glob("*.parquet"))
    columns = [c for c in pq.read_schema(paths[0]).names if c not in (dedup.BANDS, dedup.CHARS, CLAUSES)]
    tables = [pq.read_table(p, columns=columns) for p in paths]
    stages = list(zip(runner.stages, runner.states, strict=True))
    table = tables[0]
    for stage, s in stages:  # untimed: kernels compile or load from their cache
        table = stage.apply(table, s)
    passes: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for sub in (DATA, REJECTS, STATS):
            os.makedirs(os.path.join(scratch, sub))
        for r in range(args.repeats):
            cpu: dict[str, float] = defaultdict(float)
            for i, table in enumerate(tables):
                with runner.shared():  # as PhaseRunner.apply: a batch's pieces segmented once for every model
                    for stage, s in stages:
                        t0 = time.process_time()
                        table = stage.apply(table, s)
                        cpu[stage.name] += time.process_time() - t0
                if args.write:
                    t0 = time.process_time()
                    write_shard(scratch, shard_name(r, i), table)
                    cpu["write_shard"] += time.process_time() - t0
            passes.append(dict(cpu))
    print(f"{sum(t.num_rows for t in tables):,} records in {len(tables)} checkpoints; finish setup "
          f"{setup:.2f} CPU s (untimed below)")
    print(f"{'stage':24}" + "".join(f"{'pass ' + str(r + 1):>9}" for r in range(len(passes))))
    for name in passes[0]:
        print(f"{name:24}" + "".join(f"{p[name]:9.2f}" for p in passes))
    print(f"{'total':24}" + "".join(f"{sum(p.values()):9.2f}" for p in passes))
    if args.json:
        args.json.write_text(json.dumps({"setup": setup, "passes": passes}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
