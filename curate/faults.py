"""Fault containment for stages, and fault injection for the tests that prove it.

`contain` runs a stage over a batch; when the stage raises, the batch is split in halves and retried, down
to single rows, so one bad record becomes a `processing_error` reject with the exception summary instead of
losing the batch (k bad rows cost about k·log2(n) retries, not n).

Injection: the environment variable CURATE_FAULTS holds a JSON list of faults, each
``{"at": POINT, "match": TEXT or "id": ID, "action": ACTION, "once": FLAG_FILE}``:

* POINT: a phase, ``per_record`` or ``finish`` (a batch holds the record ID, or a record whose text or turn
  contains TEXT), or a driver point between phases: ``after_per_record``, ``after_dedup_global`` (neither
  ``id`` nor ``match``). The earlier names (``phase_a``, ``phase_c``, ``after_phase_a``,
  ``after_phase_b``) are still read, for one release;
* ACTION: ``raise`` (the stage fails on that record), ``kill_worker`` (SIGKILL of the process running the
  stage: a Ray worker, which Ray retries) or ``kill_driver`` (SIGKILL of the driver, whose pid is in
  CURATE_DRIVER_PID, and of the worker that fired it; the run is then resumed);
* ``once``: the fault fires only if it can create this file, so a retried task or a resumed run goes on.

Unset (the normal case), injection costs one environment lookup per batch. Local Ray workers inherit the
driver's environment; on a cluster pass it in the job's runtime_env.
"""

from __future__ import annotations

import json
import os
import signal
import traceback
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

ENV, DRIVER_PID_ENV = "CURATE_FAULTS", "CURATE_DRIVER_PID"
PROCESSING_ERROR = "processing_error"
ACTIONS = ("raise", "kill_worker", "kill_driver")
OLD_POINTS = {"phase_a": "per_record", "phase_c": "finish", "after_phase_a": "after_per_record",
              "after_phase_b": "after_dedup_global"}


class InjectedFault(RuntimeError):
    """The error a `raise` fault throws."""


def _faults(point: str) -> list[dict]:
    raw = os.environ.get(ENV)
    if not raw:
        return []
    faults = json.loads(raw)
    for f in faults:
        if f.get("action") not in ACTIONS:
            raise ValueError(f"{ENV}: action must be one of {ACTIONS}, got {f.get('action')!r}")
    return [f for f in faults if OLD_POINTS.get(f.get("at"), f.get("at")) == point]


def _claim(fault: dict) -> bool:
    """True if the fault should fire now: always, or the first time only when it names a `once` file."""
    flag = fault.get("once")
    if not flag:
        return True
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def _fire(fault: dict, where: str) -> None:
    action = fault["action"]
    if action == "raise":
        raise InjectedFault(f"injected fault at {where}")
    if action == "kill_driver":
        os.kill(int(os.environ[DRIVER_PID_ENV]), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)  # in a worker: its task in flight is lost too, as when a machine goes


def inject(point: str, table: pa.Table | None = None) -> None:
    """Fire the faults configured for `point` (for a batch: those whose `match` is in one of its texts)."""
    for fault in _faults(point):
        if table is not None and not _selects(table, fault):
            continue
        if _claim(fault):
            _fire(fault, point)


def _selects(table: pa.Table, fault: dict) -> bool:
    """True if the batch holds the record with the fault's `id`, or a text containing its `match`."""
    if "id" in fault:
        return bool(pc.any(pc.equal(table.column("id"), fault["id"])).as_py())
    needle = fault["match"]
    if pc.any(pc.match_substring(table.column("text"), needle)).as_py():
        return True
    if "turns" not in table.column_names:
        return False
    turns = pc.struct_field(pc.list_flatten(table.column("turns")), "text")
    return bool(pc.any(pc.match_substring(turns, needle)).as_py())


def error_summary(e: BaseException) -> str:
    """One line naming the exception, at most 500 characters."""
    return "".join(traceback.format_exception_only(type(e), e)).strip()[:500]


def mark_failed(table: pa.Table, summary: str) -> pa.Table:
    """Live rows of `table` become `processing_error` rejects, with the summary in drop_detail."""
    live = pc.is_null(table.column("drop_reason"))
    reason = pc.if_else(live, pa.scalar(PROCESSING_ERROR), table.column("drop_reason"))
    detail = pc.if_else(live, pa.scalar(f"{PROCESSING_ERROR}: {summary}"), table.column("drop_detail"))
    table = table.set_column(table.schema.get_field_index("drop_reason"), "drop_reason", reason)
    return table.set_column(table.schema.get_field_index("drop_detail"), "drop_detail", detail)


def contain(stage: Callable[[pa.Table], pa.Table], batch: pa.Table,
            on_failure: Callable[[pa.Table, str], pa.Table]) -> pa.Table:
    """`stage(batch)`, with a failing row replaced by `on_failure(row, summary)`; same rows, same order.

    A failure of the whole batch is retried on halves; so is each failing half, down to single rows.
    """
    try:
        return stage(batch)
    except Exception as e:
        if batch.num_rows <= 1:
            return on_failure(batch, error_summary(e))
    half = batch.num_rows // 2
    parts = [contain(stage, batch.slice(0, half), on_failure), contain(stage, batch.slice(half), on_failure)]
    return pa.concat_tables(parts, promote_options="permissive")
