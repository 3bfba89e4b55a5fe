"""The output edge: route each batch's rows to kept and rejected Parquet shards, atomically, with stats.

Implemented as a Ray Data `Datasink`, so Ray runs the writes in its tasks; every file is written under a
temporary name and renamed when complete, so a half-written file never carries a final name.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ray.data import Datasink
from ray.data.datasource.datasink import WriteResult

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


def write_checkpoint(out: Path, name: str, table: pa.Table) -> dict[str, Any]:
    """Write one phase-A checkpoint shard: every row, with the work columns (but the piece number)."""
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


class ShardSink(Datasink):
    """Writes blocks as shards of at most shard_rows rows of one input file, named by file index and first line.

    `checkpoint=True` writes phase-A checkpoints (all rows, work columns kept) instead of final shards and,
    for rows that carry their read task's `_piece` number, a marker `done/piece-NNNNNN.json` once all of a
    piece's shards are written: read → phase A → write fuse into one Ray task per piece, so one `write`
    call holds every row of its pieces.
    """

    def __init__(self, out: str, file_index: dict[str, int], shard_rows: int, *, checkpoint: bool = False) -> None:
        self.out = out
        self.file_index = file_index
        self.shard_rows = shard_rows
        self.checkpoint = checkpoint
        self.summaries: list[dict[str, Any]] = []

    def on_write_start(self, schema: object = None) -> None:
        """Create the output folders once, on the driver."""
        for sub in ((".", PIECES_DONE) if self.checkpoint else (DATA, REJECTS, STATS)):
            (Path(self.out) / sub).mkdir(parents=True, exist_ok=True)

    def write(self, blocks: Iterable[pa.Table], ctx: object) -> list[dict[str, Any]]:
        """Write the blocks of one task; returns their shard summaries."""
        out = Path(self.out)
        write = write_checkpoint if self.checkpoint else write_shard
        summaries: list[dict[str, Any]] = []
        by_piece: dict[int, list[dict[str, Any]]] = {}
        for block in blocks:
            if block.num_rows == 0:
                continue
            pieces = PIECE in block.column_names
            groups = block.column(PIECE if pieces else "source_file")
            keys = pc.unique(groups).to_pylist()
            for g in keys:
                part = block if len(keys) == 1 else block.filter(pc.equal(groups, g))
                f = part.column("source_file")[0].as_py()  # a piece lies within one file
                # Ray may merge the reader's chunks into larger blocks: cut shards of shard_rows again
                for lo in range(0, part.num_rows, self.shard_rows):
                    shard = part.slice(lo, self.shard_rows)
                    first = pc.min(shard.column("source_line")).as_py()
                    summary = write(out, shard_name(self.file_index[f], first), shard)
                    summaries.append(summary)
                    if pieces:
                        by_piece.setdefault(g, []).append(summary)
        for piece, done in by_piece.items():  # after every shard of the piece is in place
            atomic_write_bytes(out / PIECES_DONE / f"piece-{piece:06d}.json", json.dumps(done).encode())
        return summaries

    def on_write_complete(self, write_result: WriteResult) -> None:
        """Collect every task's shard summaries on the driver."""
        for summaries in write_result.write_returns:
            self.summaries.extend(summaries)

    @property
    def supports_distributed_writes(self) -> bool:
        """Tasks write straight to OUT (shared storage on a cluster)."""
        return True

    def get_name(self) -> str:
        """Name shown in Ray's progress bars."""
        return "WriteShards"



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
