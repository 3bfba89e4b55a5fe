"""Resumable runs: what an interrupted run left in OUT/_work, so that a rerun into the same OUT skips it.

A run's units and the file that proves each one finished (every file is written under a temporary name and
renamed, so a file under its final name is complete):

* per_record, one unit per read task (an input file or a piece of one):
  `_work/per_record/done/piece-NNNNNN.json`, written after all of the piece's checkpoint shards;
* dedup_global, one unit: `_work/dedup_global.json`, written after the global steps' files;
* finish, one unit per checkpoint shard: `stats/<shard>.json`, written after the shard's data and rejects.

`_work/plan.json` holds what the units depend on: the job's config hash, the inputs' sizes and mtimes,
curate's and the schema's versions, and the piece size that cut the inputs into read tasks. A rerun resumes
only when all of these match; otherwise it starts over. Every unit is deterministic, so a resumed run writes
the same shards, byte for byte, as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import curate
from curate.io.writer import PIECES_DONE, STATS, atomic_write_bytes
from curate.job import Job
from curate.schema import record_schema

PLAN, GLOBAL_DONE, CHECKPOINTS = "plan.json", "dedup_global.json", "per_record"


def plan_key(job: Job, limit: int | None) -> dict[str, Any]:
    """Everything a run's units depend on; a rerun resumes only when its key is the same."""
    files = [p for spec in job.inputs for p in spec.files]
    return {
        "config_hash": job.config_hash(),
        "curate_version": curate.__version__,
        "schema_version": record_schema().version,
        "limit": limit,
        "inputs": [[p, os.stat(p).st_size, os.stat(p).st_mtime_ns] for p in files],
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, or not ours: the unit is not done


def _write_json(path: Path, doc: Any) -> None:
    atomic_write_bytes(path, json.dumps(doc, ensure_ascii=False, indent=1).encode())


def load_plan(work: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The plan of an unfinished run in `work` if it has the same key, else None."""
    plan = _read_json(work / PLAN)
    return plan if isinstance(plan, dict) and plan.get("key") == key else None


def save_plan(work: Path, plan: dict[str, Any]) -> None:
    """Record a new run's plan before any of its units start."""
    work.mkdir(parents=True, exist_ok=True)
    _write_json(work / PLAN, plan)


def pieces_done(checkpoints: Path) -> dict[int, list[dict[str, Any]]]:
    """Finished per_record read tasks: piece number → the summaries of the checkpoint shards it wrote."""
    done = {}
    for marker in sorted((checkpoints / PIECES_DONE).glob("piece-*.json")):
        summaries = _read_json(marker)
        if isinstance(summaries, list):
            done[int(marker.stem.split("-")[1])] = summaries
    return done


def load_global(work: Path) -> dict[str, Any] | None:
    """The global steps' outcome from an earlier attempt: their reports and output files, or None."""
    state = _read_json(work / GLOBAL_DONE)
    return state if isinstance(state, dict) else None


def save_global(work: Path, state: dict[str, Any]) -> None:
    """Mark the global steps done, after the files they name are in place."""
    _write_json(work / GLOBAL_DONE, state)


def shards_done(out: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """Finished shards among `names`: shard name → its summary (the stats file, written last)."""
    done = {}
    for name in names:
        summary = _read_json(out / STATS / f"{name}.json")
        if isinstance(summary, dict) and summary.get("shard") == name:
            done[name] = summary
    return done


def remove_temporaries(out: Path) -> int:
    """Delete the temporary files that killed writers left behind (never visible under a final name)."""
    n = 0
    for tmp in out.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        n += 1
    return n
