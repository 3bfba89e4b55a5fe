"""The output folder: what may be written where, resumed or replaced, and a clear error when a write fails.

OUT is a local folder or an object-store prefix (`curate.io.storage`); the same rules hold for both.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from curate.io import storage
from curate.io.manifest import MANIFEST
from curate.io.writer import DATA, REJECTS, STATS
from curate.job import JobError, RunError

WORK = "_work"  # checkpoints and the global steps' files of an unfinished run

log = logging.getLogger("curate")


def prepare_output(out: str, overwrite: bool, resume_key: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Make OUT ready and return the plan of the unfinished run there that has `resume_key`, if any.

    That run is resumed: its finished units stay. Otherwise a previous curate run in OUT is replaced; any
    other non-empty folder needs --overwrite.
    """
    from curate import resume

    out = str(out)
    remote = storage.is_url(out)
    if remote:
        _check_bucket(out)
    if storage.is_file(out):
        raise JobError(f"output {out} exists and is not a folder")
    plan = resume.load_plan(storage.join(out, WORK), resume_key) if resume_key is not None and storage.is_dir(out) else None
    if plan is not None:
        left = resume.remove_temporaries(out)
        if remote and left:
            log.info("aborted %d unfinished upload(s) under %s", left, out)
    elif storage.is_dir(out) and storage.has_entries(out):
        ours = any(storage.exists(storage.join(out, name)) for name in (MANIFEST, DATA, WORK))
        if not ours and not overwrite:
            raise JobError(f"output folder {out} is not empty and holds no curate run; pass --overwrite to use it")
        storage.remove(storage.join(out, MANIFEST))  # first: a half-replaced OUT never looks like a finished run
        for sub in (DATA, REJECTS, STATS, WORK):
            storage.remove_tree(storage.join(out, sub))
        if remote:
            storage.abort_uploads(out)
    if remote:
        return plan
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise JobError(f"cannot create output folder {out}: {e.strerror}") from None
    if not os.access(out, os.W_OK):
        raise JobError(f"output folder {out} is not writable")
    return plan


def _check_bucket(out: str) -> None:
    """Fail up front when OUT's bucket does not exist or cannot be reached (credentials, endpoint)."""
    bucket = out[: out.index("://") + 3] + out.split("://", 1)[1].split("/", 1)[0]
    try:
        found = storage.is_dir(bucket)
    except OSError as e:
        raise JobError(f"cannot reach output {out}: {e}") from None
    if not found:
        raise JobError(f"output {out}: bucket {bucket} not found (buckets are not created by curate)")


def check_free_space(out: str, input_bytes: int) -> None:
    """Fail up front when OUT's file system has less free space than the inputs take (an object store:
    nothing to check).

    A run needs more than that (checkpoints, then the shards), so this only catches the hopeless case early;
    a disk that fills later fails at the write, with the file named (`storage_error`).
    """
    if storage.is_url(out):
        return
    free = shutil.disk_usage(out).free
    if free < input_bytes:
        raise JobError(f"output folder {out} has {free / 1e6:,.1f} MB free; this run needs at least "
                       f"{input_bytes / 1e6:,.1f} MB (the size of its inputs), and more for checkpoints")


def storage_error(e: BaseException) -> RunError | None:
    """A clear error for a failed write under OUT (disk full, read-only, permission denied, a store refusing
    it), found in the chain of causes that Ray wraps around a task's exception; None for any other error."""
    from curate.io.storage import StorageError

    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if type(e) is StorageError:  # Ray's wrapper subclasses it: the original is further down the chain
            return RunError(f"could not write {e.filename}: {e.strerror} (errno {e.errno}). Nothing was left "
                            "half-written under a final name; free space (or fix permissions) and run the same "
                            "job into the same output folder again to resume.")
        e = getattr(e, "cause", None) or e.__cause__ or e.__context__
    return None
