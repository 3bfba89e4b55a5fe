"""The run: the stages in the order they run, and how a job goes through them.

    per_record     read → conform → normalize → pii → decontaminate → rules → exact_hash → dedup_signatures
                   → hash_lines → reply_clauses → checkpoint
    dedup_global   duplicate_ids, cluster_duplicates, duplicated_lines, generic_replies (whole run, one file each
                   under OUT/_work)
    finish         checkpoint → apply_duplicate_ids → apply_dedup → whole_run_rules → scores → tags
                   → dialogue_signals → dialogue_quality → conform → shards, rejects, stats

Adding a stage is one entry in a list below plus its module (`curate.stages.base.Stage`). The engine
(`curate.engine`: Ray) runs the lists; every unit of work is checkpointed, so an interrupted run resumes.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.io import storage
from curate.io.evalsets import check_eval_files, eval_files
from curate.io.manifest import RunReport, build_manifest, write_manifest
from curate.io.output_folder import WORK, check_free_space, prepare_output, storage_error
from curate.io.readers import check_input
from curate.io.writer import STATS, rows_on_disk
from curate.job import DEFAULT_SHARD_ROWS, DedupSpec, Job, JobError
from curate.progress import Progress
from curate.stages.base import CONFORM, GlobalStep, Phase, PhaseRunner, Settings, StepResult
from curate.stages.crossdoc import HASH_LINES
from curate.stages.decontaminate import DECONTAMINATE
from curate.stages.dedup import APPLY_DEDUP, DEDUP_SIGNATURES, minhash_params
from curate.stages.dedup_global import CLUSTER_DUPLICATES, DUPLICATE_IDS, DUPLICATED_LINES
from curate.stages.dialogue import DIALOGUE_SIGNALS
from curate.stages.dialogue_quality import DIALOGUE_QUALITY
from curate.stages.dup_ids import APPLY_DUPLICATE_IDS, warn_duplicate_ids
from curate.stages.generic_replies import CLAUSES, GENERIC_REPLIES, REPLY_CLAUSES
from curate.stages.hashing import EXACT_HASH
from curate.stages.models import SCORES, TAGS, models_report
from curate.stages.normalize import NORMALIZE
from curate.stages.pii import PII
from curate.stages.rules import RULES, WHOLE_RUN_RULES, describe_rule_sets, load_rule_sets
from curate.stages.signals import signal_versions

PER_RECORD = Phase("per_record", (CONFORM, NORMALIZE, PII, DECONTAMINATE, RULES, EXACT_HASH, DEDUP_SIGNATURES,
                                  HASH_LINES, REPLY_CLAUSES))
DEDUP_GLOBAL: tuple[GlobalStep, ...] = (DUPLICATE_IDS, CLUSTER_DUPLICATES, DUPLICATED_LINES, GENERIC_REPLIES)
FINISH = Phase("finish", (APPLY_DUPLICATE_IDS, APPLY_DEDUP, WHOLE_RUN_RULES, SCORES, TAGS, DIALOGUE_SIGNALS,
                          DIALOGUE_QUALITY, CONFORM))

# `curate dedup`: the same machinery with the dedup stages only
DEDUP_RECORDS = Phase("per_record", (CONFORM, EXACT_HASH, DEDUP_SIGNATURES))
DEDUP_STEPS: tuple[GlobalStep, ...] = (CLUSTER_DUPLICATES,)
DEDUP_FINISH = Phase("finish", (APPLY_DEDUP, CONFORM))

log = logging.getLogger("curate")
CHECKPOINTS = "per_record"  # under OUT/_work


@dataclass
class RunResult:
    """What `run_job` returns: the output folder (a Path, or the URL as a string) and its manifest."""

    out: Path | str
    manifest: dict[str, Any]


def per_record(table: pa.Table, settings: Settings) -> pa.Table:
    """The per_record stages over one table, in this process and uncontained (tests, `curate rules explain`)."""
    return PhaseRunner(PER_RECORD, PER_RECORD.prepare(settings)).apply(table)


def settings_of(job: Job) -> Settings:
    """The stages' settings for a job (before the global steps have written their files)."""
    roles = tuple(sorted({r for spec in job.inputs if spec.dialogue for r in spec.dialogue.roles}))
    return Settings(rule_files=tuple(job.rules), normalize=job.normalize, pii=job.pii, roles=roles, dedup=job.dedup,
                    minhash=minhash_params(job.dedup), scores=job.scores, tags=job.tags,
                    id_inputs=tuple(s.name for s in job.inputs if s.id_field),
                    files=tuple(p for s in job.inputs for p in s.files), decontaminate=job.decontaminate,
                    kinds=tuple(sorted({s.kind for s in job.inputs})))


def run_global_steps(steps: tuple[GlobalStep, ...], checkpoints: list[str], work: str, settings: Settings,
                     engine: Any) -> dict[str, Any]:
    """The whole-run steps in order; their files' paths and reports, as the state `curate.resume` records. A step
    sees the files of the steps before it (`Settings.<output>`)."""
    state: dict[str, Any] = {"decisions": None, "dup_lines": None, "dedup": {"enabled": settings.dedup.exact or settings.dedup.near},
                             "lines": None, "dup_ids": None, "duplicate_ids": None, "generic_replies": None,
                             "generic_replies_report": None}
    for step in steps:
        if not (checkpoints and step.active(settings)):
            continue
        result: StepResult = step.run(checkpoints, work, settings, engine)
        state[step.output] = result.path
        state[_REPORTS[step.output]] = result.report
        settings = replace(settings, **{step.output: result.path})
    return state


def finish_settings(settings: Settings, state: dict[str, Any]) -> Settings:
    """The settings the finish phase runs with: the job's, plus the files the whole-run steps wrote (`state`, as
    `run_global_steps` returns it and `curate.resume` records it; a step that did not run left None)."""
    return replace(settings, **{step.output: state.get(step.output) for step in DEDUP_GLOBAL})


# where each global step's report goes in the state (and the manifest)
_REPORTS = {"decisions": "dedup", "dup_lines": "lines", "dup_ids": "duplicate_ids",
            "generic_replies": "generic_replies_report"}


def _files(folder: str) -> list[str]:
    return storage.listdir(folder, "*.parquet")


def _rel_name(path: str, spec: Any) -> str:
    """`path` relative to the folder holding all of its input's files (for a URL: the same, by '/')."""
    if storage.is_url(path):
        folders = [f.rsplit("/", 1)[0].split("/") for f in spec.files]
        common = os.path.commonprefix(folders)
        return "/".join(path.split("/")[len(common):])
    base = os.path.commonpath([os.path.dirname(p) for p in spec.files]) if spec.files else ""
    return os.path.relpath(path, base) if base else os.path.basename(path)


# The per_record phase reads large uncompressed JSONL files in byte-range pieces: about PIECES_PER_CPU read
# tasks per CPU for balance and streaming, each between these sizes (a task has a fixed cost).
PIECES_PER_CPU = 4
MIN_PIECE_BYTES, MAX_PIECE_BYTES = 4_000_000, 64_000_000


def piece_bytes(total_bytes: int, cpus: float) -> int:
    """Bytes per read task for `total_bytes` of input on `cpus` CPUs."""
    target = total_bytes // max(1, int(cpus) * PIECES_PER_CPU)
    return int(min(MAX_PIECE_BYTES, max(MIN_PIECE_BYTES, target)))


def run_job(job: Job, *, overwrite: bool = False, limit: int | None = None, keep_work: bool = False,
            resume: bool = True, progress: Progress | None = None, stop_ray: bool = False) -> RunResult:
    """Run a validated job end to end and return its manifest.

    An unfinished run of the same job in OUT is resumed (`curate.resume`) unless `resume` is false; runs
    with a `limit` always start over. `progress`: where each phase's progress shows (default: nowhere).
    `stop_ray`: once the last phase is done, shut down (or leave) the Ray this run started (or joined), in the
    background while the manifest is written (the CLI, whose process ends with the run); a Ray this process was
    connected to before the run is left alone.
    """
    from curate import resume as units

    limit = limit or job.limit
    out = job.output if storage.is_url(job.output) else str(Path(job.output).resolve())  # workers write there
    files = [(path, spec) for spec in job.inputs for path in spec.files]
    # configuration errors surface before any work starts; each text file's encoding is told once, here
    encodings = {path: check_input(path, spec) for path, spec in files}
    if job.decontaminate:
        check_eval_files(eval_files(job.decontaminate.against))
    load_rule_sets(job.rules)
    key = units.plan_key(job, limit)
    plan = prepare_output(out, overwrite, key if resume and not limit else None)
    total = sum(storage.size(p) for p, _ in files)
    check_free_space(out, total)
    try:
        return _run(job, out, files, limit, total, key, plan, keep_work, encodings, progress or Progress(None),
                    stop_ray)
    except Exception as e:
        err = storage_error(e)
        if err is None:
            raise
        raise err from e


def _run(job: Job, out: str, files: list[tuple[str, Any]], limit: int | None, total: int,
         key: dict[str, Any], plan: dict[str, Any] | None, keep_work: bool, encodings: dict[str, Any],
         progress: Progress, stop_ray: bool) -> RunResult:

    from curate import resume as units
    from curate.engine.plans import RayEngine
    from curate.engine.session import init_ray, ray_connected, stop_ray_in_background
    from curate.engine.sinks import ShardSink
    from curate.engine.sources import CurateInputs, InputFile
    from curate.faults import DRIVER_PID_ENV, inject
    from curate.run_progress import CheckpointProgress, ShardProgress
    from curate.stages import dedup

    work = storage.join(out, WORK)  # absolute (or a URL): Ray workers read the global steps' files by these paths
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    os.environ.setdefault(DRIVER_PID_ENV, str(os.getpid()))  # for injected driver kills (tests)
    address = job.ray_address or os.environ.get("RAY_ADDRESS")
    stop_ray = stop_ray and not ray_connected()  # a Ray the caller started stays up
    with progress.note(f"joining the Ray cluster at {address}" if address else "starting a local Ray"):
        ray_info = init_ray(job.ray_address, job.num_cpus)
    engine = RayEngine(ray_info["cpus"])
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
    settings = settings_of(job)

    # per_record: streaming, one fused Ray task per read task, checkpoints under OUT/_work/per_record
    inputs = [InputFile(p, s, _rel_name(p, s), job.max_record_bytes, job.shard_rows, encoding=encodings[p])
              for p, s in files]
    checkpoint_dir = storage.join(work, CHECKPOINTS)
    done_before = units.pieces_done(checkpoint_dir) if resumed else {}
    source = CurateInputs(inputs, plan["piece_bytes"], skip=frozenset(done_before))
    checkpoint_sink = ShardSink(checkpoint_dir, file_index, job.shard_rows, checkpoint=True)
    # input bytes are known up front (file sizes); with a limit, how much of them is read is not
    todo_bytes = None if limit else {i: source.pieces[i].size() for i in range(len(source.pieces)) if i not in done_before}
    read_bytes = None if todo_bytes is None else sum(todo_bytes.values())
    before = frozenset(c["shard"] for done in done_before.values() for c in done)
    decontamination = None
    with progress.phase("per_record (read, rules, hashes)", total_records=limit, total_bytes=read_bytes,
                        sample=CheckpointProgress(checkpoint_dir, todo_bytes, before)) as shown:
        if source.num_tasks():
            # what the stages build once in the driver (the evaluation index) is for this phase's workers only
            t_prepare = time.perf_counter()
            phase_settings = PER_RECORD.prepare(settings)
            if phase_settings.eval_index is not None:
                decontamination = {"evaluation_files": [asdict(s) for s in phase_settings.eval_index.sources],
                                   "ngrams": len(phase_settings.eval_index),
                                   "index_seconds": round(time.perf_counter() - t_prepare, 3)}
            engine.records(source, PER_RECORD, phase_settings, checkpoint_sink, limit)
        shown.done(sum(c["rows"] for c in checkpoint_sink.summaries), read_bytes)
    checkpoint_summaries = [c for done in done_before.values() for c in done] + checkpoint_sink.summaries
    read: dict[str, int] = {}
    for c in checkpoint_summaries:
        read[c["source_file"]] = read.get(c["source_file"], 0) + c["rows"]
    timings = {"per_record": time.perf_counter() - t0}
    checkpoints = _files(checkpoint_dir)
    if resumed is not None:
        resumed["per_record"] = {"pieces": len(source.pieces), "done_before": len(done_before),
                                 "read_now": source.num_tasks()}
    inject("after_per_record")

    # dedup_global: the whole run at once
    records = sum(read.values())
    # dedup_global and finish count their records' share of the input, as the run's summary counts MB/s
    per_record_bytes = None if limit or not records else total / records
    state = units.load_global(work) if resumed else None
    if state is None:
        run_bytes = None if per_record_bytes is None else total
        with progress.phase("dedup_global (duplicates)", total_records=records, total_bytes=run_bytes,
                            incremental=False) as shown:
            state = run_global_steps(DEDUP_GLOBAL, checkpoints, work, settings, engine)
            units.save_global(work, state)
            shown.done(records, run_bytes)
    elif resumed is not None:
        resumed["dedup_global"] = "done before"
    inject("after_dedup_global")
    settings = finish_settings(settings, state)
    timings["dedup_global"] = time.perf_counter() - t0 - timings["per_record"]

    # finish: one unit per checkpoint shard, the final shards, rejects and stats
    sink = ShardSink(out, file_index, job.shard_rows)
    shards_before = units.shards_done(out, [Path(c).stem for c in checkpoints]) if resumed else {}
    todo = [c for c in checkpoints if Path(c).stem not in shards_before]
    checkpoint_rows = {c["shard"]: c["rows"] for c in checkpoint_summaries}
    todo_rows = {Path(c).stem: checkpoint_rows.get(Path(c).stem, 0) for c in todo}
    todo_records = sum(todo_rows.values())
    finish_bytes = None if per_record_bytes is None else round(todo_records * per_record_bytes)
    with progress.phase("finish (scores, tags, shards)", total_records=todo_records, total_bytes=finish_bytes,
                        sample=ShardProgress(storage.join(out, STATS), todo_rows, per_record_bytes)) as shown:
        if todo:
            # every column but the work columns dedup_global has used up (band keys, text length, reply clauses)
            columns = [c for c in storage.read_schema(todo[0]).names if c not in (dedup.BANDS, dedup.CHARS, CLAUSES)]
            engine.shards(todo, columns, FINISH, settings, sink)
        shown.done(sum(s["records_in"] for s in sink.summaries), finish_bytes)
    if stop_ray:  # the rest is the driver's alone
        stop_ray_in_background()
    if resumed is not None:
        resumed["finish"] = {"shards": len(checkpoints), "done_before": len(shards_before), "written_now": len(todo)}
    summaries = sink.summaries + list(shards_before.values())
    timings["finish"] = time.perf_counter() - t0 - timings["per_record"] - timings["dedup_global"]
    report = RunReport(started=started.isoformat(timespec="seconds"),
                       finished=datetime.now(UTC).isoformat(timespec="seconds"), seconds=time.perf_counter() - t0,
                       ray=ray_info, limit=limit, read=read, on_disk=rows_on_disk(out, summaries), encodings=encodings,
                       dedup=state["dedup"], lines=state["lines"], duplicate_ids=state.get("duplicate_ids"),
                       generic_replies=state.get("generic_replies_report"),
                       timings=timings, resumed=resumed,
                       rules=describe_rule_sets(job.rules), signals=signal_versions(), models=models_report(settings),
                       decontamination=decontamination)
    manifest = build_manifest(job, summaries, report)
    write_manifest(out, manifest)
    if report.duplicate_ids:
        warn_duplicate_ids(report.duplicate_ids["inputs"])
    if not keep_work:
        storage.remove(storage.join(work, units.PLAN))  # first: a half-removed _work is then never resumed
        storage.remove_tree(work)
    return RunResult(out if storage.is_url(out) else Path(out), manifest)


def run_dedup(in_path: str, out: str, spec: DedupSpec, *, overwrite: bool = False,
              shard_rows: int = DEFAULT_SHARD_ROWS, keep_work: bool = False, address: str | None = None,
              num_cpus: int | None = None) -> RunResult:
    """Dedup alone: record-schema shards in IN (a run's data/ or any folder of them) → deduplicated shards in OUT.

    The rows keep every column; only the dedup columns and, for duplicates, drop_reason change.
    """
    import dataclasses

    import polars as pl

    from curate.engine.plans import RayEngine
    from curate.engine.session import init_ray
    from curate.engine.sinks import ShardSink
    from curate.io.writer import DATA

    src = in_path if storage.is_url(in_path) else str(Path(in_path).resolve())
    out = str(out) if storage.is_url(out) else str(Path(out).resolve())  # workers write there
    src_data = storage.join(src, DATA)
    src_files = _files(src_data if storage.is_dir(src_data) else src)
    if not src_files:
        raise JobError(f"{in_path}: no Parquet shards to deduplicate")
    prepare_output(out, overwrite)
    work = storage.join(out, WORK)
    storage.remove_tree(work)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    ray_info = init_ray(address, num_cpus)
    engine = RayEngine(ray_info["cpus"])
    settings = Settings(dedup=spec, minhash=minhash_params(spec))
    # shards keep their records' input files: name output shards by those, as `run` does
    sources = storage.scan_parquet(src_files).select(pl.col("source_file").unique().sort()).collect()["source_file"]
    file_index = {f: i for i, f in enumerate(sources.to_list())}
    engine.records_from_shards(src_files, DEDUP_RECORDS, settings,
                               ShardSink(storage.join(work, CHECKPOINTS), file_index, shard_rows, checkpoint=True))
    checkpoints = _files(storage.join(work, CHECKPOINTS))
    state = run_global_steps(DEDUP_STEPS, checkpoints, work, settings, engine)
    settings = replace(settings, decisions=state["decisions"])
    sink = ShardSink(out, file_index, shard_rows)
    engine.shards(checkpoints, None, DEDUP_FINISH, settings, sink)
    seconds = time.perf_counter() - t0
    kept = sum(s["kept"] for s in sink.summaries)
    total = sum(s["records_in"] for s in sink.summaries)
    report = {k: v for k, v in state["dedup"].items() if k != "enabled"}
    manifest = {"command": "dedup", "input": in_path if storage.is_url(in_path) else str(Path(in_path)), "started_at": started.isoformat(timespec="seconds"),
                "seconds": round(seconds, 3), "ray": ray_info, "records_in": total, "kept": kept,
                "rejected": total - kept, "dedup": {"params": dataclasses.asdict(spec), **report},
                "shards": sorted(s["shard"] for s in sink.summaries)}
    write_manifest(out, manifest)
    if not keep_work:
        storage.remove_tree(work)
    return RunResult(out if storage.is_url(out) else Path(out), manifest)

