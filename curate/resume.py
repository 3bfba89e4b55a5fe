"""Resumable runs: what an interrupted run left in OUT/_work, so that a rerun into the same OUT skips it.

A run's units and the file that proves each one finished (every file is written whole, `curate.io.storage`:
locally under a temporary name renamed into place, on an object store in one request; so a file under its
final name is complete, and a unit's files without its marker are simply written again):

* per_record, one unit per read task (an input file or a piece of one):
  `_work/per_record/done/piece-NNNNNN.json`, written after all of the piece's checkpoint shards;
* dedup_global, one unit: `_work/dedup_global.json`, written after the global steps' files;
* finish, one unit per checkpoint shard: `stats/<shard>.json`, written after the shard's data and rejects.

`_work/plan.json` holds what the units depend on: the job's config hash, the inputs' (and the evaluation
files') sizes and mtimes, curate's and the schema's versions, and the piece size that cut the inputs into read
tasks. A rerun resumes only when all of these match; otherwise it starts over. Every unit is deterministic,
so a resumed run writes the same shards, byte for byte, as an uninterrupted one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import curate
from curate.io import storage
from curate.io.writer import PIECES_DONE, STATS, atomic_write_bytes
from curate.job import Job
from curate.schema import record_schema

PLAN, GLOBAL_DONE, CHECKPOINTS = "plan.json", "dedup_global.json", "per_record"


def plan_key(job: Job, limit: int | None) -> dict[str, Any]:
    """Everything a run's units depend on; a rerun resumes only when its key is the same."""
    files = [p for spec in job.inputs for p in spec.files]
    key = {
        "config_hash": job.config_hash(),
        "curate_version": curate.__version__,
        "schema_version": record_schema().version,
        "limit": limit,
        "inputs": [[p, *storage.stat(p)] for p in files],
    }
    if job.decontaminate:  # a changed evaluation file changes which records are contaminated
        evals = [p for spec in job.decontaminate.against for p in spec.files]
        key["against"] = [[p, *storage.stat(p)] for p in evals]
    return key


def _read_json(path: str) -> Any:
    try:
        return json.loads(storage.read_bytes(path).decode("utf-8"))
    except (OSError, ValueError):
        return None  # absent, or not ours: the unit is not done


def _write_json(path: str, doc: Any) -> None:
    atomic_write_bytes(path, json.dumps(doc, ensure_ascii=False, indent=1).encode())


def load_plan(work: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The plan of an unfinished run in `work` if it has the same key, else None."""
    plan = _read_json(storage.join(work, PLAN))
    return plan if isinstance(plan, dict) and plan.get("key") == key else None


def save_plan(work: str, plan: dict[str, Any]) -> None:
    """Record a new run's plan before any of its units start."""
    storage.makedirs(work)
    _write_json(storage.join(work, PLAN), plan)


def pieces_done(checkpoints: str) -> dict[int, list[dict[str, Any]]]:
    """Finished per_record read tasks: piece number → the summaries of the checkpoint shards it wrote."""
    done = {}
    for marker in storage.listdir(storage.join(checkpoints, PIECES_DONE), "piece-*.json"):
        summaries = _read_json(marker)
        if isinstance(summaries, list):
            done[int(Path(marker).stem.split("-")[1])] = summaries
    return done


def load_global(work: str) -> dict[str, Any] | None:
    """The global steps' outcome from an earlier attempt: their reports and output files, or None."""
    state = _read_json(storage.join(work, GLOBAL_DONE))
    return state if isinstance(state, dict) else None


def save_global(work: str, state: dict[str, Any]) -> None:
    """Mark the global steps done, after the files they name are in place."""
    _write_json(storage.join(work, GLOBAL_DONE), state)


def shards_done(out: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Finished shards among `names`: shard name → its summary (the stats file, written last). The stats
    folder is listed once, and only the files there are read (on a store, a request each)."""
    done = {}
    present = {Path(p).stem for p in storage.listdir(storage.join(out, STATS), "*.json")}
    for name in names:
        if name not in present:
            continue
        summary = _read_json(storage.join(out, STATS, f"{name}.json"))
        if isinstance(summary, dict) and summary.get("shard") == name:
            done[name] = summary
    return done


def remove_temporaries(out: str) -> int:
    """Delete what killed writers left behind, never visible under a final name: temporary files on disk;
    on an object store, unfinished multipart uploads (curate's own writes are single requests)."""
    if storage.is_url(out):
        return storage.abort_uploads(out)
    n = 0
    for tmp in Path(out).rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        n += 1
    return n
