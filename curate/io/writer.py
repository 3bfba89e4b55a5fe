"""The output edge: route each batch's rows to kept and rejected Parquet shards, atomically, with stats.

The engine's shard sink (`curate.engine.sinks`) calls these in Ray's tasks; every file is written under a
temporary name and renamed when complete, so a half-written file never carries a final name.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.schema import PIECE, conform
from curate.stats.shard import shard_stats

DATA, REJECTS, STATS = "data", "rejects", "stats"
PIECES_DONE = "done"  # under the checkpoint folder: one marker per finished read task


@contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """A temporary name beside `path`, renamed to it when the block succeeds and removed when it fails."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)  # e.g. a full disk: give the space back, leave nothing half-written
        if isinstance(e, OSError) and not isinstance(e, StorageError):
            raise StorageError(e.errno or 0, e.strerror or str(e), str(path)) from e
        raise


class StorageError(OSError):
    """A write under OUT failed (disk full, read-only, permission): errno, reason and the file it was writing.

    Raised by our writers in place of the library's error, whose message rarely names the file.
    """

    def __reduce__(self) -> tuple:  # cross Ray's process boundary with errno, reason and file name intact
        return StorageError, (self.errno, self.strerror, self.filename)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file under a temporary name in the same folder, then rename it into place."""
    with _temporary(path) as tmp:
        tmp.write_bytes(data)


# Columns whose values are (nearly) all distinct: Parquet's dictionary encoding is tried and abandoned on
# every page of them (about half the cost of reading a shard back), so only the other columns use it.
_DISTINCT = frozenset({"id", "text", "url", "meta", "drop_detail", "turns", "dup_cluster", "dup_of", "exact_hash"})


def atomic_write_parquet(path: Path, table: pa.Table, compression: str = "zstd") -> None:
    """Write a Parquet file (zstd unless told), atomically; dictionary encoding for repetitive columns only."""
    dictionary = [c for c in table.column_names if c not in _DISTINCT and not c.startswith("_")]
    with _temporary(path) as tmp:
        pq.write_table(table, tmp, compression=compression, use_dictionary=dictionary)


def shard_name(file_index: int, first_line: int) -> str:
    """Deterministic shard name: input file order, then position in the file."""
    return f"part-{file_index:05d}-{first_line:010d}"


def shard_file_index(name: str) -> int:
    """The input file number of a shard named by `shard_name`."""
    return int(name.split("-")[1])


def write_checkpoint(out: Path, name: str, table: pa.Table) -> dict[str, Any]:
    """Write one per_record checkpoint shard: every row, with the work columns (but the piece number)."""
    if PIECE in table.column_names:
        table = table.drop_columns([PIECE])
    # uncompressed: a checkpoint is written once, read twice and deleted; zstd cost ~0.2 s per 5,000 web pages
    atomic_write_parquet(out / f"{name}.parquet", conform(table, keep_work=True), compression="none")
    return {"shard": name, "rows": table.num_rows, "source_file": table.column("source_file")[0].as_py()}


def write_shard(out: Path, name: str, table: pa.Table) -> dict[str, Any]:
    """Write one shard's kept rows, rejected rows and stats; return its summary."""
    table = conform(table)
    dropped = pc.is_valid(table.column("drop_reason"))
    kept, rejected = table.filter(pc.invert(dropped)), table.filter(dropped)
    summary: dict[str, Any] = {"shard": name, **shard_stats(table)}
    if kept.num_rows:
        atomic_write_parquet(out / DATA / f"{name}.parquet", kept)
        summary["data"] = f"{DATA}/{name}.parquet"
    if rejected.num_rows:
        atomic_write_parquet(out / REJECTS / f"{name}.parquet", rejected)
        summary["rejects"] = f"{REJECTS}/{name}.parquet"
    atomic_write_bytes(out / STATS / f"{name}.json",
                       json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True).encode())
    return summary


def rows_on_disk(out: Path, summaries: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per input file, rows actually present in the written data/ and rejects/ files (Parquet footers).

    Counted from the files, not from what the writer meant to write, so a lost or overwritten shard shows.
    """
    counts: dict[str, dict[str, int]] = {}
    for s in summaries:
        for f in s["files"]:
            counts.setdefault(f, {"kept": 0, "rejected": 0})
    seen: set[str] = set()
    for s in summaries:
        (f,) = s["files"]  # a shard holds one input file's records
        for key, rel in (("kept", s.get("data")), ("rejected", s.get("rejects"))):
            if rel and rel not in seen:
                seen.add(rel)
                counts[f][key] += pq.read_metadata(out / rel).num_rows
    return counts
