"""Export files, written batch by batch: one JSONL file, or Parquet parts rolled over at a row count.

In a local folder, files are written under temporary names and renamed when the export finishes, so a failed
export leaves no file that looks complete. To an object store (`curate.io.storage`) they stream to their
final keys (S3: multipart uploads, each object appearing only when its upload completes); there
`export.json`, written last, says that the export is whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.io import storage
from curate.schema import arrow_schema

PARTIAL = ".partial"


class ExportWriter:
    """Writes DataFrames to `folder` as `{stem}.jsonl` or `data/part-NNNNN.parquet`; `close()` publishes them."""

    def __init__(self, folder: Path | str, stem: str, file_format: str, *, rows_per_file: int, records: bool) -> None:
        self.folder, self.stem, self.file_format = str(folder), stem, file_format
        self.remote = storage.is_url(self.folder)
        self.rows_per_file, self.records = rows_per_file, records
        self.files: list[str] = []
        self.rows = 0
        self._fh: IO[bytes] | None = None
        self._pq: pq.ParquetWriter | None = None
        self._sink: IO[bytes] | None = None  # a remote Parquet part's upload stream (ParquetWriter leaves it open)
        self._part_rows = 0
        self._schema: pa.Schema | None = arrow_schema() if records else None

    @property
    def data_path(self) -> str:
        """What dataset_info.json's file_name and the card point to, relative to the folder."""
        return f"{self.stem}.jsonl" if self.file_format == "jsonl" else "data"

    def write(self, df: pl.DataFrame) -> None:
        """Append one batch."""
        if df.height == 0:
            return
        self.rows += df.height
        if self.file_format == "jsonl":
            if self._fh is None:
                self._fh = self._open_file(storage.join(self.folder, f"{self.stem}.jsonl"))
            df.write_ndjson(self._fh)
            return
        table = df.to_arrow(compat_level=pl.CompatLevel.oldest())
        if self._schema is None:
            self._schema = table.schema
        table = table.cast(self._schema)
        start = 0
        while start < table.num_rows:
            if self._pq is None or self._part_rows >= self.rows_per_file:
                self._roll()
            take = min(self.rows_per_file - self._part_rows, table.num_rows - start)
            self._pq.write_table(table.slice(start, take))  # type: ignore[union-attr]
            self._part_rows += take
            start += take

    def _open_file(self, path: str) -> IO[bytes]:
        """An output file for `path`: locally its temporary name, remotely the final key's upload stream."""
        self.files.append(path)
        if self.remote:
            return storage.open_output(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open(path + PARTIAL, "wb")  # noqa: SIM115 - closed by close()

    def _roll(self) -> None:
        self._close_part()
        sink = self._open_file(storage.join(self.folder, "data", f"part-{len(self.files):05d}.parquet"))
        self._sink = sink
        self._pq = pq.ParquetWriter(sink, self._schema, compression="zstd")  # type: ignore[arg-type]
        self._part_rows = 0

    def _close_part(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def close(self) -> list[Path] | list[str]:
        """Finish every file and publish it (locally: rename it into place); an export with no rows still gets
        an empty file. The files as Paths (locally) or URLs."""
        if self._fh is None and self._pq is None:
            if self.file_format == "jsonl":
                self._fh = self._open_file(storage.join(self.folder, f"{self.stem}.jsonl"))
            elif self._schema is not None:
                self._roll()
        if self._fh is not None:
            self._fh.close()
        self._close_part()
        if self.remote:
            return list(self.files)
        for path in self.files:
            os.replace(path + PARTIAL, path)
        return [Path(p) for p in self.files]
