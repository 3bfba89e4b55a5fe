"""Ray Data datasources: a job's input files (one read task per file, streaming record chunks) and Parquet shards."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from curate.io.readers import read_file
from curate.job import InputSpec
from curate.schema import arrow_schema


class InputFile:
    """One input file and what the read task needs to turn it into records."""

    def __init__(self, path: str, spec: InputSpec, rel_name: str, max_record_bytes: int, chunk_rows: int) -> None:
        self.path, self.spec, self.rel_name = path, spec, rel_name
        self.max_record_bytes, self.chunk_rows = max_record_bytes, chunk_rows

    def read(self) -> Iterator[pa.Table]:
        """Stream this file's records as record-schema tables."""
        yield from read_file(self.path, self.spec, rel_name=self.rel_name,
                             max_record_bytes=self.max_record_bytes, chunk_rows=self.chunk_rows)


class CurateInputs(Datasource):
    """Ray reads each file in its own task; Ray schedules, retries and streams them."""

    def __init__(self, files: list[InputFile]) -> None:
        self._files = files

    def estimate_inmemory_data_size(self) -> int | None:
        """Input bytes on disk (a lower bound for decompressed inputs)."""
        return sum(os.path.getsize(f.path) for f in self._files)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: object = None) -> list[ReadTask]:
        """One read task per input file, in input order."""
        tasks = []
        for f in self._files:
            meta = BlockMetadata(num_rows=None, size_bytes=os.path.getsize(f.path), exec_stats=None,
                                 input_files=(f.path,))
            tasks.append(ReadTask(f.read, meta, schema=arrow_schema(), per_task_row_limit=per_task_row_limit))
        return tasks

    def get_name(self) -> str:
        """Name shown in Ray's progress bars."""
        return "ReadCurateInputs"


class ParquetShards(Datasource):
    """Reads Parquet shards one file per task and one file per block, so shard identity survives to the writer."""

    def __init__(self, paths: list[str], columns: list[str] | None = None) -> None:
        self._paths, self._columns = paths, columns

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
