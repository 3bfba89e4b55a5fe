"""Export files, written batch by batch: one JSONL file, or Parquet parts rolled over at a row count.
Files are written under temporary names and renamed when the export finishes, so a failed export leaves
no file that looks complete."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.schema import arrow_schema

PARTIAL = ".partial"


class ExportWriter:
    """Writes DataFrames to `folder` as `{stem}.jsonl` or `data/part-NNNNN.parquet`; `close()` publishes them."""

    def __init__(self, folder: Path, stem: str, file_format: str, *, rows_per_file: int, records: bool) -> None:
        self.folder, self.stem, self.file_format = folder, stem, file_format
        self.rows_per_file, self.records = rows_per_file, records
        self.files: list[Path] = []
        self.rows = 0
        self._fh: IO[bytes] | None = None
        self._pq: pq.ParquetWriter | None = None
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
                self._fh = self._open(self.folder / f"{self.stem}.jsonl").open("wb")
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

    def _open(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.files.append(path)
        return path.with_name(path.name + PARTIAL)

    def _roll(self) -> None:
        if self._pq is not None:
            self._pq.close()
        path = self._open(self.folder / "data" / f"part-{len(self.files):05d}.parquet")
        self._pq = pq.ParquetWriter(path, self._schema, compression="zstd")  # type: ignore[arg-type]
        self._part_rows = 0

    def close(self) -> list[Path]:
        """Finish every file and rename it into place; an export with no rows still gets an empty file."""
        if self._fh is None and self._pq is None:
            if self.file_format == "jsonl":
                self._fh = self._open(self.folder / f"{self.stem}.jsonl").open("wb")
            elif self._schema is not None:
                self._roll()
        if self._fh is not None:
            self._fh.close()
        if self._pq is not None:
            self._pq.close()
        for path in self.files:
            os.replace(path.with_name(path.name + PARTIAL), path)
        return self.files
