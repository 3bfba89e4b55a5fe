"""The run as Ray Data plans: read → normalise → rules → hashes (phase A) → global dedup (B) → write (C).

This is the only module that talks to Ray. With no address Ray starts locally on this machine;
`--address` / `RAY_ADDRESS` runs the same plan on an existing cluster.
"""

from __future__ import annotations

import dataclasses
import json
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
from curate.io.writer import DATA, REJECTS, STATS, rows_on_disk
from curate.job import DEFAULT_SHARD_ROWS, DedupSpec, Job, JobError, RunError
from curate.stages.rules import global_rule_kinds, load_rule_sets

log = logging.getLogger("curate")
WORK = "_work"


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
            _check_reachable(address)
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:  # unreachable, refused, malformed
                raise JobError(f"cannot join the Ray cluster at {address}: {e}") from None
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)
    if not log.isEnabledFor(logging.INFO):  # Ray Data's own progress chatter; our summary follows the run
        # CRITICAL: a failed task's traceback comes back as our exception; curate reports it once, clearly
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = sys.stderr.isatty()
    ctx.print_on_execution_start = False
    res = ray.cluster_resources()
    return {"address": address or "local", "nodes": len(ray.nodes()), "cpus": res.get("CPU", 0)}


def _check_reachable(address: str) -> None:
    """Fail fast on a HOST:PORT that nothing listens on (ray.init would retry for minutes)."""
    import socket

    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # "auto", ray:// and the like: Ray resolves and reports them itself
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as e:
        raise JobError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from None


def prepare_output(out: Path, overwrite: bool, resume_key: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Make OUT ready and return the plan of the unfinished run there that has `resume_key`, if any.

    That run is resumed: its finished units stay. Otherwise a previous curate run in OUT is replaced; any
    other non-empty folder needs --overwrite.
    """
    from curate import resume

    if out.exists() and not out.is_dir():
        raise JobError(f"output {out} exists and is not a folder")
    plan = resume.load_plan(out / WORK, resume_key) if resume_key is not None and out.is_dir() else None
    if plan is not None:
        resume.remove_temporaries(out)
    elif out.exists() and any(out.iterdir()):
        ours = (out / MANIFEST).exists() or (out / DATA).exists() or (out / WORK).exists()
        if not ours and not overwrite:
            raise JobError(f"output folder {out} is not empty and holds no curate run; pass --overwrite to use it")
        for sub in (DATA, REJECTS, STATS, WORK):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / MANIFEST).unlink(missing_ok=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise JobError(f"cannot create output folder {out}: {e.strerror}") from None
    if not os.access(out, os.W_OK):
        raise JobError(f"output folder {out} is not writable")
    return plan


def check_free_space(out: Path, input_bytes: int) -> None:
    """Fail up front when OUT's file system has less free space than the inputs take.

    A run needs more than that (checkpoints, then the shards), so this only catches the hopeless case early;
    a disk that fills later fails at the write, with the file named (`storage_error`).
    """
    free = shutil.disk_usage(out).free
    if free < input_bytes:
        raise JobError(f"output folder {out} has {free / 1e6:,.1f} MB free; this run needs at least "
                       f"{input_bytes / 1e6:,.1f} MB (the size of its inputs), and more for checkpoints")


def storage_error(e: BaseException) -> RunError | None:
    """A clear error for a failed write under OUT (disk full, read-only, permission denied), found in the
    chain of causes that Ray wraps around a task's exception; None for any other error."""
    from curate.io.writer import StorageError

    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if type(e) is StorageError:  # Ray's wrapper subclasses it: the original is further down the chain
            return RunError(f"could not write {e.filename}: {e.strerror} (errno {e.errno}). Nothing was left "
                            "half-written under a final name; free space (or fix permissions) and run the same "
                            "job into the same output folder again to resume.")
        e = getattr(e, "cause", None) or e.__cause__ or e.__context__
    return None


def _file_table(job: Job) -> list[tuple[str, Any]]:
    return [(path, spec) for spec in job.inputs for path in spec.files]


def _rel_name(path: str, spec: Any) -> str:
    base = os.path.commonpath([os.path.dirname(p) for p in spec.files]) if spec.files else ""
    return os.path.relpath(path, base) if base else os.path.basename(path)


# Below this many rows, grouping rows by key (LSH buckets, lines) uses one block: Ray's repartition(1)
# combines blocks without a shuffle, while its key-based hash shuffle starts aggregator actors that cost
# seconds even for a handful of rows. Above it, the hash shuffle spreads the groups over the cluster.
SINGLE_BLOCK_GROUP_ROWS = 4_000_000


def group_by_key(ds: Any, key: str, n_rows: int) -> Any:
    """Blocks in which every row of a key sits together: one block when small, a Ray hash shuffle when large."""
    if n_rows <= SINGLE_BLOCK_GROUP_ROWS:
        return ds.repartition(1)
    return ds.repartition(max(2, min(256, n_rows // 2_000_000 + 1)), keys=[key])


# Up to this many (band key, node) rows, phase B buckets them in the driver with the same functions
# (`band_rows`, `bucket_edges`): up to 64 MB, which a Ray execution would put in one block for one worker
# anyway (SINGLE_BLOCK_GROUP_ROWS), at the cost of the execution (1.07M rows: 0.45 s on Ray, 0.1 s here).
DRIVER_BUCKET_ROWS = SINGLE_BLOCK_GROUP_ROWS
# band rows per LSH pass: a pass's sort and edges stay a few hundred MB in one worker (measured, 1M records)
BAND_PASS_ROWS = 2_000_000


def band_passes(bands: int, n_records: int) -> list[tuple[int, int]]:
    """Band ranges [lo, hi) bucketed one Ray execution each: as many bands per pass as fit one block.

    Buckets of different bands never share a key, so bands can be grouped in any passes. Passes of
    one block each keep the buckets' working set small (a million records: 6 passes of 2 bands instead
    of one 12-band hash shuffle whose workers held over 1 GB) and avoid the hash shuffle's actor
    start-up; above BAND_PASS_ROWS records a pass is one band (spread by the hash shuffle once a band
    exceeds SINGLE_BLOCK_GROUP_ROWS).
    """
    per_pass = max(1, min(bands, BAND_PASS_ROWS // max(1, n_records)))
    return [(lo, min(bands, lo + per_pass)) for lo in range(0, bands, per_pass)]


def collect(ds: Any, schema: Any) -> Any:
    """All rows of a small Ray dataset as one Arrow table with `schema` (Ray's empty blocks carry no columns)."""
    import pyarrow as pa
    import ray

    tables = [t for t in ray.get(ds.materialize().to_arrow_refs()) if t.num_columns]
    return pa.concat_tables([t.cast(schema) for t in tables]) if tables else schema.empty_table()


def read_source(source: Any, num_cpus: float | None = None) -> Any:
    """A Ray dataset over one of curate's datasources, one block per read task.

    Without `override_num_blocks` Ray asks for ~200 blocks and splits each task's output to get them,
    and a split read cannot fuse with the map and the write after it: every block then travels through
    the object store to a separate task. One block per task keeps read → map → write in one task.
    `num_cpus`: the read tasks' CPU share, the same as the map they should fuse with (Ray fuses only those).
    """
    import ray

    return ray.data.read_datasource(source, override_num_blocks=max(1, source.num_tasks()), num_cpus=num_cpus)


def write_fused(ds: Any, sink: Any) -> None:
    """Run a dataset that fuses into one operator (read → map → write) into `sink`.

    Ray Data's per-operator resource reservation balances CPUs between the operators of a pipeline; with one
    operator it has nothing to balance, yet it still holds every execution to one task at a time for its
    first second or so: the cluster's limits read as zero until Ray Data's autoscaling coordinator answers,
    and they are refreshed once a second. Turning the reservation off for this dataset alone (the DataContext
    switch, on the dataset's own copy of the context) runs a task per CPU from the start: 8 tasks of 0.2 s on
    2 CPUs take 0.9 s instead of 1.7 s, and a 100 MB dedup run 3.3-3.8 s instead of 4.7-5.4 s
    (bench/README.md). Multi-operator executions (the phase-B shuffles, the phase-C actor pool) keep it.
    """
    ds.context.op_resource_reservation_enabled = False
    ds.write_datasink(sink)


# Phase A reads large uncompressed JSONL files in byte-range pieces: about PIECES_PER_CPU read tasks per
# CPU for balance and streaming, each between these sizes (a task has a fixed cost; a piece is one shard
# or a few).
PIECES_PER_CPU = 4
MIN_PIECE_BYTES, MAX_PIECE_BYTES = 4_000_000, 64_000_000


def piece_bytes(total_bytes: int, cpus: float) -> int:
    """Bytes per phase-A read task for `total_bytes` of input on `cpus` CPUs."""
    target = total_bytes // max(1, int(cpus) * PIECES_PER_CPU)
    return int(min(MAX_PIECE_BYTES, max(MIN_PIECE_BYTES, target)))


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.parquet"))


def dedup_global(checkpoints: list[str], spec: DedupSpec, work: Path) -> tuple[Path, dict[str, Any]]:
    """Phase B: clusters across the whole run → OUT/_work/dedup.parquet (written once, all or nothing)."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.io.datasource import ParquetShards
    from curate.io.writer import atomic_write_parquet
    from curate.stages import dedup

    t0 = time.perf_counter()
    live = pl.col("drop_reason").is_null()
    records = (
        pl.scan_parquet(checkpoints)
        .filter(live)
        .select("source_file", "source_line", "id", "exact_hash", chars=pl.col(dedup.CHARS))
        .collect()
    )
    report: dict[str, Any] = {"live_records": records.height, "distinct_texts": records["exact_hash"].n_unique()}
    comps = dedup.components(pl.DataFrame(schema={"a": pl.UInt64, "b": pl.UInt64}))
    if spec.near and records.height:
        bands, rows = spec.bands_rows()
        n_rows = records.height * bands
        edge_schema = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
        parts = []
        passes = band_passes(bands, records.height)
        if n_rows <= DRIVER_BUCKET_ROWS:  # small: the same functions here, without a Ray execution's fixed cost
            passes = [(0, bands)]
            table = pa.concat_tables([pq.read_table(p, columns=["drop_reason", "exact_hash", dedup.BANDS])
                                      for p in checkpoints])
            parts.append(pl.from_arrow(dedup.bucket_edges(dedup.band_rows(table))).unique())
            del table
        else:
            for lo, hi in passes:
                ds = read_source(ParquetShards(checkpoints, ["drop_reason", "exact_hash", dedup.BANDS]))
                ds = ds.map_batches(dedup.band_rows, fn_kwargs={"bands": (lo, hi)}, batch_format="pyarrow",
                                    batch_size=None)
                ds = group_by_key(ds, "key", records.height * (hi - lo))  # every bucket lands whole in one block
                ds = ds.map_batches(dedup.bucket_edges, batch_format="pyarrow", batch_size=None)
                parts.append(pl.from_arrow(collect(ds, edge_schema)).unique())
                del ds  # release this pass's blocks from the object store before the next
        edges = pl.concat(parts).unique()
        del parts
        nodes = pl.concat([edges["a"], edges["b"]]).unique()
        texts = (
            pl.scan_parquet(checkpoints)
            .filter(live & pl.col("exact_hash").is_in(nodes.implode()))
            .select(node=pl.col("exact_hash"), text=pl.col("text"))
            .unique("node", keep="first")
            .collect()
        )
        sets = dedup.ShingleSets(texts["node"], texts["text"], spec.ngram)
        verified = dedup.verify_edges(edges, sets, spec.threshold)
        chars = records.group_by("exact_hash").agg(pl.col("chars").max()).rename({"exact_hash": "node"})
        centres = dedup.assign_centres(dedup.components(verified), verified, sets, chars, spec.threshold)
        comps = centres.rename({"centre": "component"})
        report.update(bands=bands, rows=rows, band_rows=n_rows, band_passes=[list(p) for p in passes],
                      hash_shuffle=records.height * (passes[0][1] - passes[0][0]) > SINGLE_BLOCK_GROUP_ROWS,
                      candidate_edges=edges.height,
                      verified_edges=verified.height, near_clusters=comps["component"].n_unique())
    decisions = dedup.cluster_records(records, comps)
    atomic_write_parquet(work / "components.parquet", comps.to_arrow())
    path = work / "dedup.parquet"
    atomic_write_parquet(path, decisions.to_arrow())
    sizes = decisions.group_by("dup_cluster").len()["len"].value_counts().sort("len")
    report.update(
        clusters=decisions["dup_cluster"].n_unique(),
        duplicates=int(decisions["dup_of"].is_not_null().sum()),
        cluster_size_histogram={str(r["len"]): r["count"] for r in sizes.iter_rows(named=True)},
        seconds=round(time.perf_counter() - t0, 3),
    )
    return path, report


def _duplicates_by(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Duplicates removed per input file and per source, from the manifest's per-file counts."""
    by_file: dict[str, dict[str, int]] = {}
    by_source: dict[str, dict[str, int]] = {}
    for f in inputs:
        counts = {r: f["rejected_by_reason"].get(r, 0) for r in ("exact_duplicate", "near_duplicate")}
        by_file[f["file"]] = counts
        acc = by_source.setdefault(f["input"], {"exact_duplicate": 0, "near_duplicate": 0})
        for r, n in counts.items():
            acc[r] += n
    return {"removed_by_file": by_file, "removed_by_source": by_source}


def duplicated_lines_global(checkpoints: list[str], work: Path) -> tuple[Path, dict[str, Any]]:
    """Phase B, whole-run rules: lines that occur in two or more duplicate clusters → OUT/_work/dup_lines.parquet."""
    import polars as pl
    import pyarrow as pa

    from curate.io.datasource import ParquetShards
    from curate.io.writer import atomic_write_parquet
    from curate.stages import crossdoc

    t0 = time.perf_counter()
    comps = work / "components.parquet"
    live = pl.col("drop_reason").is_null()
    n_rows = pl.scan_parquet(checkpoints).filter(live).select(pl.col(crossdoc.LINE_HASHES).list.len().sum()).collect().item()
    ds = read_source(ParquetShards(checkpoints, ["drop_reason", "exact_hash", crossdoc.LINE_HASHES]))
    ds = ds.map_batches(crossdoc.line_rows, batch_format="pyarrow", batch_size=None)
    ds = group_by_key(ds, "line", n_rows or 0)  # every line lands whole in one block
    ds = ds.map_batches(crossdoc.duplicated_lines, fn_kwargs={"components": str(comps) if comps.exists() else None},
                        batch_format="pyarrow", batch_size=None)
    lines = collect(ds, pa.schema([("line", pa.uint64())]))
    path = work / "dup_lines.parquet"
    atomic_write_parquet(path, lines)
    return path, {"lines": n_rows, "duplicated_lines": lines.num_rows, "seconds": round(time.perf_counter() - t0, 3)}


def run_job(job: Job, *, overwrite: bool = False, limit: int | None = None, keep_work: bool = False,
            resume: bool = True) -> RunResult:
    """Run a validated job end to end and return its manifest.

    Phase A (streaming: read, normalise, rules, hashes, MinHash) writes checkpoints to OUT/_work/a; phase B
    clusters duplicates across the whole run; phase C applies the decisions and writes the final shards.
    An unfinished run of the same job in OUT is resumed (`curate.resume`) unless `resume` is false; runs
    with a `limit` always start over.
    """
    from curate import resume as units

    limit = limit or job.limit
    out = Path(job.output)
    files = _file_table(job)
    for path, spec in files:  # configuration errors surface before any work starts
        check_input(path, spec)
    load_rule_sets(job.rules)
    key = units.plan_key(job, limit)
    plan = prepare_output(out, overwrite, key if resume and not limit else None)
    total = sum(os.path.getsize(p) for p, _ in files)
    check_free_space(out, total)
    try:
        return _run(job, out, files, limit, total, key, plan, keep_work)
    except Exception as e:
        err = storage_error(e)
        if err is None:
            raise
        raise err from e


def _run(job: Job, out: Path, files: list[tuple[str, Any]], limit: int | None, total: int,
         key: dict[str, Any], plan: dict[str, Any] | None, keep_work: bool) -> RunResult:
    import pyarrow.parquet as pq
    import ray

    from curate import resume as units
    from curate.faults import DRIVER_PID_ENV, inject
    from curate.io.datasource import CurateInputs, InputFile, ParquetShards
    from curate.io.writer import ShardSink
    from curate.stages import dedup
    from curate.stages.minhash import MinHashParams
    from curate.stages.phase_a import phase_a_batch
    from curate.stages.phase_c import phase_c_batch

    work = out.resolve() / WORK  # absolute: Ray workers read phase B's files by these paths
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    os.environ.setdefault(DRIVER_PID_ENV, str(os.getpid()))  # for injected driver kills (tests)
    ray_info = init_ray(job.ray_address, job.num_cpus)
    log.info("ray: %s", ray_info)
    if plan is None:
        # with a limit the files are read whole, in order; else large JSONL files in pieces
        plan = {"key": key, "started_at": started.isoformat(timespec="seconds"),
                "piece_bytes": None if limit else piece_bytes(total, ray_info["cpus"])}
        units.save_plan(work, plan)
        resumed: dict[str, Any] | None = None
    else:
        log.warning("resuming the unfinished run in %s (started %s)", out, plan["started_at"])
        resumed = {"started_at": plan["started_at"]}
    file_index = {p: i for i, (p, _) in enumerate(files)}
    dd = job.dedup
    minhash = None
    if dd.near:
        bands, rows = dd.bands_rows()
        minhash = MinHashParams(num_perm=dd.num_perm, ngram=dd.ngram, bands=bands, rows=rows, seed=dd.seed)

    inputs = [InputFile(p, s, _rel_name(p, s), job.max_record_bytes, job.shard_rows) for p, s in files]
    done_before = units.pieces_done(work / "a") if resumed else {}
    source = CurateInputs(inputs, plan["piece_bytes"], skip=frozenset(done_before))
    checkpoint_sink = ShardSink(str((work / "a").resolve()), file_index, job.shard_rows, checkpoint=True)
    if source.num_tasks():
        ds = read_source(source)
        if limit:
            ds = ds.limit(limit)
        # read → phase A → checkpoint write fuse into one Ray task per read task
        ds = ds.map_batches(phase_a_batch, fn_kwargs={"rule_files": job.rules, "norm": job.normalize,
                                                      "minhash": minhash}, batch_format="pyarrow", batch_size=None)
        write_fused(ds, checkpoint_sink)
    read: dict[str, int] = {}
    for c in [s for done in done_before.values() for s in done] + checkpoint_sink.summaries:
        read[c["source_file"]] = read.get(c["source_file"], 0) + c["rows"]
    timings = {"phase_a": time.perf_counter() - t0}
    checkpoints = _files(work / "a")
    if resumed is not None:
        resumed["phase_a"] = {"pieces": len(source.pieces), "done_before": len(done_before),
                              "read_now": source.num_tasks()}
    inject("after_phase_a")

    state = units.load_phase_b(work) if resumed else None
    if state is None:
        state = _phase_b(job, checkpoints, work)
        units.save_phase_b(work, state)
    elif resumed is not None:
        resumed["phase_b"] = "done before"
    inject("after_phase_b")
    decisions, dup_lines = state["decisions"], state["dup_lines"]
    timings["phase_b"] = time.perf_counter() - t0 - timings["phase_a"]

    sink = ShardSink(str(out.resolve()), file_index, job.shard_rows)
    shards_before = units.shards_done(out, [Path(c).stem for c in checkpoints]) if resumed else {}
    todo = [c for c in checkpoints if Path(c).stem not in shards_before]
    if todo:
        # every column but the dedup work columns (band keys, text length), which phase B has used up
        columns = [c for c in pq.read_schema(todo[0]).names if c not in (dedup.BANDS, dedup.CHARS)]
        models = bool(job.scores or job.tags)
        args = {"decisions": decisions, "dup_lines": dup_lines, "rule_files": job.rules}
        if models:
            # an actor pool, so the models load once per worker (NeMo Curator's stage-with-setup pattern), one
            # actor per CPU: an autoscaling pool of 1..n never grew past one (65 s → 42 s at 50 MB). Each actor
            # reads its checkpoint shard, scores it and writes the final shard itself: only the shard's path and
            # summary travel through Ray. Separate write tasks cost more than the writes (1 GB: ~50 CPU-s of
            # object-store transfers and fresh workers importing curate, bench/README.md).
            sink.on_write_start()
            actors = max(1, min(int(ray_info["cpus"]), len(todo)))
            ds = ray.data.from_items([{"path": c} for c in todo], override_num_blocks=len(todo))
            ds = ds.map_batches(ScoreAndWrite, fn_constructor_kwargs={
                "phase_c": {**args, "scores": job.scores, "tags": job.tags}, "sink": sink, "columns": columns},
                compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1, batch_format="pyarrow", batch_size=1)
            sink.summaries.extend(json.loads(row["summary"]) for row in ds.take_all())
        else:  # no models: plain tasks, so read → phase C → write fuse into one task per checkpoint
            ds = read_source(ParquetShards(todo, columns))
            ds = ds.map_batches(phase_c_batch, fn_kwargs=args, batch_format="pyarrow", batch_size=None)
            write_fused(ds, sink)
    if resumed is not None:
        resumed["phase_c"] = {"shards": len(checkpoints), "done_before": len(shards_before), "written_now": len(todo)}
    summaries = sink.summaries + list(shards_before.values())
    timings["phase_c"] = time.perf_counter() - t0 - timings["phase_a"] - timings["phase_b"]
    seconds = time.perf_counter() - t0
    manifest = build_manifest(job, summaries, started=started.isoformat(timespec="seconds"),
                              finished=datetime.now(UTC).isoformat(timespec="seconds"), seconds=seconds,
                              ray_info=ray_info, limit=limit, read=read, on_disk=rows_on_disk(out, summaries))
    manifest["dedup"] = {"params": dataclasses.asdict(job.dedup), **state["dedup"], **_duplicates_by(manifest["inputs"])}
    if state["lines"]:
        manifest["crossdoc_lines"] = state["lines"]
    manifest["models"] = _models_report(job)
    manifest["timings"] = {k: round(v, 3) for k, v in timings.items()}
    manifest["resumed"] = resumed
    write_manifest(out, manifest)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return RunResult(out, manifest)


class ScoreAndWrite:
    """Phase C's actor for a job with models: the models load once; each call reads checkpoint shards (a batch of
    `path` rows), runs `PhaseC` on each and writes its final shard with the run's `ShardSink`; it returns the
    shards' summaries (JSON, one `summary` row per shard)."""

    def __init__(self, phase_c: dict[str, Any], sink: Any, columns: list[str]) -> None:
        from curate.stages.phase_c import PhaseC

        self.phase_c, self.sink, self.columns = PhaseC(**phase_c), sink, columns

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        summaries = []
        for path in batch.column("path").to_pylist():
            summaries += self.sink.write([self.phase_c(pq.read_table(path, columns=self.columns))], None)
        return pa.table({"summary": pa.array([json.dumps(s, ensure_ascii=False) for s in summaries], pa.string())})


def _phase_b(job: Job, checkpoints: list[str], work: Path) -> dict[str, Any]:
    """Phase B's decisions and whole-run lines, as the state that `curate.resume` records."""
    dd = job.dedup
    decisions, dedup_report = None, {"enabled": dd.exact or dd.near}
    if (dd.exact or dd.near) and checkpoints:
        path, report = dedup_global(checkpoints, dd, work)
        decisions = str(path)
        dedup_report.update(report)
    dup_lines, lines_report = None, None
    if global_rule_kinds(load_rule_sets(job.rules)) and checkpoints:
        path, lines_report = duplicated_lines_global(checkpoints, work)
        dup_lines = str(path)
    return {"decisions": decisions, "dup_lines": dup_lines, "dedup": dedup_report, "lines": lines_report}


def _models_report(job: Job) -> dict[str, Any]:
    """The models that scored and tagged this run: task → name, version, backend, file hash, card, threshold,
    min_confidence; a tagging task's spoken model (role-other turns) as `TASK-spoken`."""
    from curate.models.card import read_card

    out: dict[str, Any] = {}
    for task, spec in sorted({**job.scores, **job.tags}.items()):
        for key, path in ((task, spec.card), *(((f"{task}-spoken", spec.spoken),) if spec.spoken else ())):
            card = read_card(path)
            out[key] = {"name": card.name, "version": card.version, "backend": card.backend, "sha256": card.sha256,
                        "card": path, "threshold": spec.threshold if spec.threshold is not None else card.threshold,
                        "min_confidence": spec.min_confidence if spec.min_confidence is not None else card.min_confidence}
    return out


def run_dedup(in_path: str, out: Path, spec: DedupSpec, *, overwrite: bool = False, shard_rows: int = DEFAULT_SHARD_ROWS,
              keep_work: bool = False, address: str | None = None, num_cpus: int | None = None) -> RunResult:
    """Dedup alone: record-schema shards in IN (a run's data/ or any folder of them) → deduplicated shards in OUT.

    The rows keep every column; only the dedup columns and, for duplicates, drop_reason change.
    """

    from curate.io.datasource import ParquetShards
    from curate.io.writer import ShardSink
    from curate.stages.minhash import MinHashParams
    from curate.stages.phase_c import phase_c_batch

    src = Path(in_path)
    src_files = _files(src / DATA if (src / DATA).is_dir() else src)
    if not src_files:
        raise JobError(f"{in_path}: no Parquet shards to deduplicate")
    prepare_output(out, overwrite)
    work = out / WORK
    shutil.rmtree(work, ignore_errors=True)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    ray_info = init_ray(address, num_cpus)
    bands, rows = spec.bands_rows()
    params = MinHashParams(num_perm=spec.num_perm, ngram=spec.ngram, bands=bands, rows=rows, seed=spec.seed)
    import polars as pl

    # shards keep their records' input files: name output shards by those, as `run` does
    sources = pl.scan_parquet(src_files).select(pl.col("source_file").unique().sort()).collect()["source_file"]
    file_index = {f: i for i, f in enumerate(sources.to_list())}
    ds = read_source(ParquetShards(src_files))
    ds = ds.map_batches(_hash_for_dedup, fn_kwargs={"params": params if spec.near else None}, batch_format="pyarrow", batch_size=None)
    write_fused(ds, ShardSink(str((work / "a").resolve()), file_index, shard_rows, checkpoint=True))
    checkpoints = _files(work / "a")
    decisions, report = dedup_global(checkpoints, spec, work)
    sink = ShardSink(str(out.resolve()), file_index, shard_rows)
    ds = read_source(ParquetShards(checkpoints))
    ds = ds.map_batches(phase_c_batch, fn_kwargs={"decisions": str(decisions)}, batch_format="pyarrow", batch_size=None)
    write_fused(ds, sink)
    seconds = time.perf_counter() - t0
    kept = sum(s["kept"] for s in sink.summaries)
    total = sum(s["records_in"] for s in sink.summaries)
    manifest = {"command": "dedup", "input": str(src), "started_at": started.isoformat(timespec="seconds"),
                "seconds": round(seconds, 3), "ray": ray_info, "records_in": total, "kept": kept,
                "rejected": total - kept, "dedup": {"params": dataclasses.asdict(spec), **report},
                "shards": sorted(s["shard"] for s in sink.summaries)}
    write_manifest(out, manifest)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return RunResult(out, manifest)


def _hash_for_dedup(batch: Any, params: Any) -> Any:
    from curate.schema import conform
    from curate.stages.dedup import signature_columns
    from curate.stages.hashing import exact_hash

    batch = exact_hash(conform(batch))
    for name, col in signature_columns(batch, params).items():
        batch = batch.append_column(name, col)
    return batch
