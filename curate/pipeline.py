"""The run as a Ray Data plan: read → normalise → rules → exact hash → write shards → manifest.

This is the only module that talks to Ray. With no address Ray starts locally on this machine;
`--address` / `RAY_ADDRESS` runs the same plan on an existing cluster.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curate.io.manifest import MANIFEST, build_manifest, write_manifest
from curate.io.readers import check_input
from curate.io.writer import DATA, REJECTS, STATS
from curate.job import Job, JobError
from curate.stages.rules import load_rule_sets

log = logging.getLogger("curate")


@dataclass
class RunResult:
    """What `run_job` returns: the output folder and its manifest."""

    out: Path
    manifest: dict[str, Any]


def init_ray(address: str | None = None, num_cpus: int | None = None) -> dict[str, Any]:
    """Join the cluster at `address` (or RAY_ADDRESS), else start a quiet local Ray sized to this machine."""
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": logging.ERROR if not log.isEnabledFor(logging.INFO) else logging.INFO, "configure_logging": True}
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)
    if not log.isEnabledFor(logging.INFO):  # Ray Data's own progress chatter; our summary follows the run
        logging.getLogger("ray.data").setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = sys.stderr.isatty()
    ctx.print_on_execution_start = False
    res = ray.cluster_resources()
    return {"address": address or "local", "nodes": len(ray.nodes()), "cpus": res.get("CPU", 0)}


def prepare_output(out: Path, overwrite: bool) -> None:
    """Make OUT ready: a previous curate run there is replaced; any other non-empty folder needs --overwrite."""
    if out.exists() and any(out.iterdir()):
        ours = (out / MANIFEST).exists() or (out / DATA).exists()
        if not ours and not overwrite:
            raise JobError(f"output folder {out} is not empty and holds no curate run; pass --overwrite to use it")
        for sub in (DATA, REJECTS, STATS):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / MANIFEST).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise JobError(f"output folder {out} is not writable")


def _file_table(job: Job) -> list[tuple[str, Any]]:
    return [(path, spec) for spec in job.inputs for path in spec.files]


def _rel_name(path: str, spec: Any) -> str:
    base = os.path.commonpath([os.path.dirname(p) for p in spec.files]) if spec.files else ""
    return os.path.relpath(path, base) if base else os.path.basename(path)


def run_job(job: Job, *, overwrite: bool = False, limit: int | None = None) -> RunResult:
    """Run a validated job end to end and return its manifest."""
    import ray

    from curate.io.datasource import CurateInputs, InputFile
    from curate.io.writer import ShardSink
    from curate.stages.phase_a import phase_a_batch

    limit = limit or job.limit
    out = Path(job.output)
    files = _file_table(job)
    for path, spec in files:  # configuration errors surface before any work starts
        check_input(path, spec)
    load_rule_sets(job.rules)
    prepare_output(out, overwrite)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    ray_info = init_ray(job.ray_address, job.num_cpus)
    log.info("ray: %s", ray_info)
    inputs = [InputFile(p, s, _rel_name(p, s), job.max_record_bytes, job.shard_rows) for p, s in files]
    ds = ray.data.read_datasource(CurateInputs(inputs))
    if limit:
        ds = ds.limit(limit)
    ds = ds.map_batches(phase_a_batch, fn_kwargs={"rule_files": job.rules, "norm": job.normalize},
                        batch_format="pyarrow", batch_size=None)
    sink = ShardSink(str(out.resolve()), {p: i for i, (p, _) in enumerate(files)}, job.shard_rows)
    ds.write_datasink(sink)
    seconds = time.perf_counter() - t0
    manifest = build_manifest(job, sink.summaries, started=started.isoformat(timespec="seconds"),
                              finished=datetime.now(UTC).isoformat(timespec="seconds"), seconds=seconds,
                              ray_info=ray_info, limit=limit)
    write_manifest(out, manifest)
    return RunResult(out, manifest)
