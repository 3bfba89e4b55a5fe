"""Per-shard statistics: aggregations over the written columns (pure; the writer stores them)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa


def shard_stats(table: pa.Table) -> dict[str, Any]:
    """Counts per source file: records in, kept, rejected by reason; bytes of text kept."""
    df = pl.from_arrow(table.select(["source_file", "drop_reason", "text"]))
    per_file = (
        df.group_by("source_file", "drop_reason")
        .agg(n=pl.len(), text_bytes=pl.col("text").str.len_bytes().sum())
        .sort("source_file", "drop_reason", nulls_last=False)
    )
    files: dict[str, dict[str, Any]] = {}
    for row in per_file.iter_rows(named=True):
        f = files.setdefault(row["source_file"], {"records_in": 0, "kept": 0, "rejected": 0,
                                                  "rejected_by_reason": {}, "kept_text_bytes": 0})
        f["records_in"] += row["n"]
        if row["drop_reason"] is None:
            f["kept"] += row["n"]
            f["kept_text_bytes"] += int(row["text_bytes"] or 0)
        else:
            f["rejected"] += row["n"]
            f["rejected_by_reason"][row["drop_reason"]] = row["n"]
    kept = sum(f["kept"] for f in files.values())
    return {"records_in": table.num_rows, "kept": kept, "rejected": table.num_rows - kept, "files": files}
