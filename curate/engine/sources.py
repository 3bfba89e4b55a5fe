"""Ray Data datasources: a job's input files (one read task per file or per piece of a large JSONL file,
streaming record chunks) and Parquet shards (one read task per file).

Each datasource knows its number of read tasks (`num_tasks`); the pipeline passes it to Ray as
`override_num_blocks`, so Ray never splits a task's output into more blocks, which would stop it from
fusing the read with the map and the write that follow (one task then reads, processes and writes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from curate.io.encoding import Encoding
from curate.io.readers import jsonl_pieces, read_file, splittable
from curate.job import InputSpec
from curate.schema import PIECE, arrow_schema


class InputFile:
    """One input file and what the read task needs to turn it into records."""

    def __init__(self, path: str, spec: InputSpec, rel_name: str, max_record_bytes: int, chunk_rows: int,
                 piece: tuple[int, int, int] | None = None, encoding: Encoding | None = None) -> None:
        self.path, self.spec, self.rel_name = path, spec, rel_name
        self.max_record_bytes, self.chunk_rows = max_record_bytes, chunk_rows
        self.piece = piece  # (start byte, end byte, first line) of a JSONL piece, or None: the whole file
        self.encoding = encoding  # told once for the file (check_input), so that all its pieces agree

    def size(self) -> int:
        """Bytes this task reads (on disk)."""
        return self.piece[1] - self.piece[0] if self.piece else os.path.getsize(self.path)

    def pieces(self, piece_bytes: int) -> list[InputFile]:
        """This file as read tasks of about `piece_bytes` each (uncompressed JSONL only; else itself)."""
        if (self.piece or os.path.getsize(self.path) <= piece_bytes
                or not splittable(self.path, self.spec, self.encoding)):
            return [self]
        return [InputFile(self.path, self.spec, self.rel_name, self.max_record_bytes, self.chunk_rows, p, self.encoding)
                for p in jsonl_pieces(self.path, piece_bytes)]

    def read(self) -> Iterator[pa.Table]:
        """Stream this file's (or piece's) records as record-schema tables."""
        yield from read_file(self.path, self.spec, rel_name=self.rel_name, max_record_bytes=self.max_record_bytes,
                             chunk_rows=self.chunk_rows, piece=self.piece, encoding=self.encoding)


class CurateInputs(Datasource):
    """Ray reads each file (or piece) in its own task; Ray schedules, retries and streams them.

    Every row carries its read task's number in the `_piece` work column, so the checkpoint writer can mark
    a piece done once all of its rows are written, and a resumed run can leave out the pieces done before.
    """

    def __init__(self, files: list[InputFile], piece_bytes: int | None = None, skip: frozenset[int] = frozenset()) -> None:
        """`piece_bytes`: split uncompressed JSONL files into read tasks of about this many bytes;
        `skip`: the numbers of pieces not to read (finished by an earlier, interrupted run)."""
        self.pieces = [p for f in files for p in f.pieces(piece_bytes)] if piece_bytes else files
        self._todo = [(i, f) for i, f in enumerate(self.pieces) if i not in skip]

    def num_tasks(self) -> int:
        """Read tasks this datasource makes."""
        return len(self._todo)

    def estimate_inmemory_data_size(self) -> int | None:
        """Input bytes on disk (a lower bound for decompressed inputs)."""
        return sum(f.size() for _, f in self._todo)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: object = None) -> list[ReadTask]:
        """One read task per input file or piece, in input order."""
        tasks, schema = [], arrow_schema().append(pa.field(PIECE, pa.int32()))
        for i, f in self._todo:
            meta = BlockMetadata(num_rows=None, size_bytes=f.size(), exec_stats=None, input_files=(f.path,))
            tasks.append(ReadTask(lambda i=i, f=f: _numbered(f.read(), i), meta, schema=schema,
                                  per_task_row_limit=per_task_row_limit))
        return tasks

    def get_name(self) -> str:
        """Name shown in Ray's progress bars."""
        return "ReadCurateInputs"


def _numbered(tables: Iterator[pa.Table], piece: int) -> Iterator[pa.Table]:
    for t in tables:
        yield t.append_column(PIECE, pa.array(np.full(t.num_rows, piece, dtype=np.int32)))


class ParquetShards(Datasource):
    """Reads Parquet shards one file per task and one file per block, so shard identity survives to the writer."""

    def __init__(self, paths: list[str], columns: list[str] | None = None) -> None:
        self._paths, self._columns = paths, columns

    def num_tasks(self) -> int:
        """Read tasks this datasource makes."""
        return len(self._paths)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: object = None) -> list[ReadTask]:
        """One read task per shard file."""
        tasks = []
        for path in self._paths:
            meta = BlockMetadata(num_rows=None, size_bytes=os.path.getsize(path), exec_stats=None, input_files=(path,))
            tasks.append(ReadTask(lambda p=path: [pq.read_table(p, columns=self._columns)], meta,
                                  per_task_row_limit=per_task_row_limit))
        return tasks

    def estimate_inmemory_data_size(self) -> int | None:
        """Bytes on disk."""
        return sum(os.path.getsize(p) for p in self._paths)

    def get_name(self) -> str:
        """Name shown in Ray's progress bars."""
        return "ReadShards"
