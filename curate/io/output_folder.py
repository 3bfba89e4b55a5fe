"""The output folder: what may be written where, resumed or replaced, and a clear error when a write fails."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from curate.io.manifest import MANIFEST
from curate.io.writer import DATA, REJECTS, STATS
from curate.job import JobError, RunError

WORK = "_work"  # checkpoints and the global steps' files of an unfinished run


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
