"""What a running phase has finished so far, read from the files it writes under OUT, for `curate.progress`.

The phases already write one file per unit of work under a final name once it is whole (per_record: a
checkpoint shard per block and a marker per finished read task; finish: a stats file per final shard, the
last file of its shard), so the driver counts progress by listing folders: no change to the Ray execution
and no messages from the workers. Only a live display polls these.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from curate.io.writer import PIECES_DONE


class CheckpointProgress:
    """per_record so far: records in the checkpoint shards written (their Parquet footers, each read once), and
    the input bytes of the read tasks marked done (`piece_bytes`: piece number → bytes; None: not counted)."""

    def __init__(self, folder: Path, piece_bytes: dict[int, int] | None, before: frozenset[str] = frozenset()) -> None:
        """`before`: checkpoint names (stems) written by an earlier run, not counted."""
        self.folder, self.piece_bytes, self.before = folder, piece_bytes, before
        self._rows: dict[str, int] = {}

    def __call__(self) -> tuple[int, int | None]:
        """(records, bytes) done by this run."""
        for path in self.folder.glob("part-*.parquet"):  # final names only: a temporary one starts with '.'
            if path.stem not in self._rows and path.stem not in self.before:
                self._rows[path.stem] = pq.read_metadata(path).num_rows
        if self.piece_bytes is None:
            return sum(self._rows.values()), None
        done = (int(m.stem.split("-")[1]) for m in (self.folder / PIECES_DONE).glob("piece-*.json"))
        return sum(self._rows.values()), sum(self.piece_bytes.get(i, 0) for i in done)


class ShardProgress:
    """finish so far: the records of the shards whose stats file is in `stats` (`rows`: shard name →
    records), and their share of the input bytes (`bytes_per_record`; None: not counted)."""

    def __init__(self, stats: Path, rows: dict[str, int], bytes_per_record: float | None) -> None:
        self.stats, self.rows, self.bytes_per_record = stats, rows, bytes_per_record

    def __call__(self) -> tuple[int, int | None]:
        """(records, bytes) done by this run."""
        records = sum(self.rows.get(p.stem, 0) for p in self.stats.glob("part-*.json"))
        return records, None if self.bytes_per_record is None else round(records * self.bytes_per_record)
