"""The output edge: route each batch's rows to kept and rejected Parquet shards, atomically, with stats.

The engine's shard sink (`curate.engine.sinks`) calls these in Ray's tasks. Every file is written whole
(`curate.io.storage`): locally under a temporary name renamed when complete, on an object store in one
request; either way a half-written file never carries a final name.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.io import storage
from curate.io.storage import StorageError
from curate.schema import PIECE, conform
from curate.stats.shard import shard_stats

__all__ = ["StorageError", "atomic_write_bytes", "atomic_write_parquet", "write_checkpoint", "write_shard"]

DATA, REJECTS, STATS = "data", "rejects", "stats"
PIECES_DONE = "done"  # under the checkpoint folder: one marker per finished read task


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a whole file atomically (`curate.io.storage.put`)."""
    storage.put(str(path), data)


# Columns whose values are (nearly) all distinct: Parquet's dictionary encoding is tried and abandoned on
# every page of them (about half the cost of reading a shard back), so only the other columns use it.
_DISTINCT = frozenset({"id", "text", "url", "meta", "drop_detail", "turns", "dup_cluster", "dup_of", "exact_hash"})


def atomic_write_parquet(path: str | os.PathLike, table: pa.Table, compression: str = "zstd") -> None:
    """Write a Parquet file (zstd unless told), atomically; dictionary encoding for repetitive columns only."""
    dictionary = [c for c in table.column_names if c not in _DISTINCT and not c.startswith("_")]
    storage.write_parquet(str(path), table, compression=compression, use_dictionary=dictionary)


def shard_name(file_index: int, first_line: int) -> str:
    """Deterministic shard name: input file order, then position in the file."""
    return f"part-{file_index:05d}-{first_line:010d}"


def shard_file_index(name: str) -> int:
    """The input file number of a shard named by `shard_name`."""
    return int(name.split("-")[1])


def write_checkpoint(out: str | os.PathLike, name: str, table: pa.Table) -> dict[str, Any]:
    """Write one per_record checkpoint shard: every row, with the work columns (but the piece number)."""
    if PIECE in table.column_names:
        table = table.drop_columns([PIECE])
    # uncompressed: a checkpoint is written once, read twice and deleted; zstd cost ~0.2 s per 5,000 web pages
    atomic_write_parquet(storage.join(out, f"{name}.parquet"), conform(table, keep_work=True), compression="none")
    return {"shard": name, "rows": table.num_rows, "source_file": table.column("source_file")[0].as_py()}


def write_shard(out: str | os.PathLike, name: str, table: pa.Table) -> dict[str, Any]:
    """Write one shard's kept rows, rejected rows and stats; return its summary."""
    table = conform(table)
    dropped = pc.is_valid(table.column("drop_reason"))
    kept, rejected = table.filter(pc.invert(dropped)), table.filter(dropped)
    summary: dict[str, Any] = {"shard": name, **shard_stats(table)}
    if kept.num_rows:
        atomic_write_parquet(storage.join(out, DATA, f"{name}.parquet"), kept)
        summary["data"] = f"{DATA}/{name}.parquet"
    if rejected.num_rows:
        atomic_write_parquet(storage.join(out, REJECTS, f"{name}.parquet"), rejected)
        summary["rejects"] = f"{REJECTS}/{name}.parquet"
    atomic_write_bytes(storage.join(out, STATS, f"{name}.json"),
                       json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True).encode())
    return summary


def rows_on_disk(out: str, summaries: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
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
                counts[f][key] += storage.read_metadata(storage.join(out, rel)).num_rows
    return counts
