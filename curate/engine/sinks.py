"""The shard writer as a Ray Data `Datasink`: routes each task's rows to shards of one input file and writes
them with `curate.io.writer` (final shards, or per-record checkpoints with their read-task markers)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from ray.data import Datasink
from ray.data.datasource.datasink import WriteResult

from curate.io.writer import (
    DATA,
    PIECES_DONE,
    REJECTS,
    STATS,
    atomic_write_bytes,
    shard_name,
    write_checkpoint,
    write_shard,
)
from curate.schema import PIECE


class ShardSink(Datasink):
    """Writes blocks as shards of at most shard_rows rows of one input file, named by file index and first line.

    `checkpoint=True` writes per_record checkpoints (all rows, work columns kept) instead of final shards and,
    for rows that carry their read task's `_piece` number, a marker `done/piece-NNNNNN.json` once all of a
    piece's shards are written: read → per_record → write fuse into one Ray task per piece, so one `write`
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
