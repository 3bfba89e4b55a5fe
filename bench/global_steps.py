"""What each dedup_global step costs, over a run's per_record checkpoints, in one driver with the run's engine.

A run keeps its checkpoints under OUT/_work/per_record until it finishes; stop one after dedup_global with
``CURATE_FAULTS='[{"at": "after_dedup_global", "action": "raise"}]'`` (curate/faults.py) and move that
folder aside. This starts a local Ray as `curate run` does (`--cpus`), then runs the job's active steps
(`curate.run.DEDUP_GLOBAL`) in order, each seeing the files of the ones before, as `run_global_steps` does.
Per step: wall seconds, the driver's CPU seconds, the CPU seconds of the driver's whole process tree (Ray's
daemons and workers too, each process's last reading kept when it exits) and the peak RSS of that tree
(sampled every `--interval` s; Ray's idle processes are part of it: the "before" column shows them)::

    python bench/global_steps.py JOB CHECKPOINT_DIR [--work DIR] [--cpus 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import psutil

from curate.engine.plans import RayEngine
from curate.engine.session import init_ray
from curate.job import load_job
from curate.run import DEDUP_GLOBAL, settings_of


class Tree(threading.Thread):
    """Samples this process's tree: CPU seconds per process (kept after it exits) and the peak total RSS."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.me, self.interval = psutil.Process(), interval
        self.cpu: dict[int, float] = {}
        self.peak = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def sample(self) -> tuple[float, int]:
        """(CPU seconds of every process seen so far, current RSS of the tree)."""
        rss = 0
        for p in [self.me, *self.me.children(recursive=True)]:
            try:
                t, r = p.cpu_times(), p.memory_info().rss
            except psutil.Error:
                continue
            with self.lock:
                self.cpu[p.pid] = max(self.cpu.get(p.pid, 0.0), t.user + t.system)
            rss += r
        with self.lock:
            return sum(self.cpu.values()), rss

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.sample()[1])
            time.sleep(self.interval)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("job", type=Path)
    ap.add_argument("checkpoints", type=Path, help="a run's OUT/_work/per_record folder (its *.parquet)")
    ap.add_argument("--work", type=Path, help="where the steps write their files (default: a temporary folder)")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.05)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="global-steps-"))
    work.mkdir(parents=True, exist_ok=True)
    checkpoints = sorted(str(p) for p in args.checkpoints.glob("*.parquet"))
    settings = settings_of(load_job(args.job))
    engine = RayEngine(init_ray(None, args.cpus)["cpus"])
    time.sleep(3)  # Ray's start-up settles before the first reading
    rows = []
    for step in DEDUP_GLOBAL:
        if not step.active(settings):
            continue
        tree = Tree(args.interval)
        cpu0, before = tree.sample()
        tree.peak = before
        tree.start()
        w0, p0 = time.perf_counter(), time.process_time()
        result = step.run(checkpoints, str(work), settings, engine)
        wall, driver = time.perf_counter() - w0, time.process_time() - p0
        cpu1 = tree.sample()[0]
        tree.stop.set()
        tree.join()
        settings = replace(settings, **{step.output: result.path})
        report = {k: v for k, v in result.report.items() if not isinstance(v, dict)}
        print(f"{step.name}: {json.dumps(report)}", flush=True)
        rows.append((step.name, wall, driver, cpu1 - cpu0, before / 2**20, tree.peak / 2**20))
    print("\n| step | wall s | driver CPU s | process-tree CPU s | tree RSS before, MiB | peak tree RSS, MiB |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, wall, driver, cpu, before, peak in rows:
        print(f"| {name} | {wall:.2f} | {driver:.2f} | {cpu:.2f} | {before:.0f} | {peak:.0f} |")
    print(f"| **dedup_global** | {sum(r[1] for r in rows):.2f} | {sum(r[2] for r in rows):.2f} | "
          f"{sum(r[3] for r in rows):.2f} | | {max(r[5] for r in rows):.0f} |")


if __name__ == "__main__":
    main()
