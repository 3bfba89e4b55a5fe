"""Duplicate ids within one input: a record whose `id` an earlier record of the same input already carries.

Only an input that maps an `id_field` can repeat an id (a generated id hashes the source, file and position,
and a malformed record always gets one). The whole-run step `duplicate_ids` (curate/stages/dedup_global.py)
finds the repeats across all of an input's files from the per_record checkpoints, in the driver as the
dedup step gathers its records (`find_duplicate_ids`); the finish stage `apply_duplicate_ids` rejects the
later copies.

- **First** is by the job's file order (an input's files sorted by path), then position in the file.
- **Every later copy** that read well is counted (`records`), whatever the rules made of it or of the first.
- **Live later copies** (not already rejected by a rule) are rejected with reason `duplicate_id` and a
  drop_detail naming the first occurrence's file and line, so the output holds each id of an input once.
- **Before dedup**: a copy is `duplicate_id` whether or not its text is the first's, and the dedup and the
  whole-run line rules see only the records left (a text only the copies carry is skipped, `orphan`): an
  identical copy with the same id is one record given twice, not two records with the same text.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import polars as pl
import pyarrow as pa

from curate.stages.base import Stage

REASON = "duplicate_id"
EXAMPLES = 5  # ids named in the manifest and the warning, per input
_MALFORMED = "malformed_input"  # curate.io.readers.MALFORMED (importing it would load the readers here)
_SCHEMA = {"source": pl.String, "id": pl.String, "source_file": pl.String, "source_line": pl.Int64,
           "exact_hash": pl.UInt64, "live": pl.Boolean, "first_file": pl.String, "first_line": pl.Int64,
           "orphan": pl.Boolean}


log = logging.getLogger("curate")


def without_copies(records: pl.DataFrame | None, dup_ids: str | None) -> tuple[pl.DataFrame | None, pa.Array | None]:
    """`records` (live rows keyed by source_file, source_line) without the live later copies in the file
    `dup_ids`, and the texts only those copies carry (`skipped_nodes`, for `band_rows` / `line_rows`); None:
    nothing to skip."""
    if not dup_ids:
        return records, None
    copies = _copies(dup_ids)
    key = ["source_file", "source_line"]
    if records is not None:
        records = records.join(copies.filter("live").select(key), on=key, how="anti")
    return records, skipped_nodes(copies)


def warn_duplicate_ids(by_input: dict[str, dict[str, Any]]) -> None:
    """One warning line per input whose ids repeat, with the first few of them."""
    for name, r in by_input.items():
        if r["records"]:
            more = ", ..." if r["ids"] > len(r["examples"]) else ""
            log.warning("input %r: %d record(s) repeat %d id(s) of earlier records (%s%s); %d rejected as "
                        "duplicate_id (manifest: duplicate_ids)", name, r["records"], r["ids"],
                        ", ".join(map(str, r["examples"])), more, r["rejected"])


def find_duplicate_ids(checkpoints: list[str], sources: list[str], file_order: dict[str, int]) -> pl.DataFrame:
    """Every later copy of an id in the inputs `sources` (those that map an id_field): its source, id, position,
    exact_hash, whether it is live, the first occurrence's file and line, and whether its text is carried by
    no live record that stays (`orphan`: the dedup must not see that text)."""
    if not sources or not checkpoints:
        return pl.DataFrame(schema=_SCHEMA)
    scan = pl.scan_parquet(checkpoints)
    read_well = pl.col("source").is_in(sources) & (pl.col("drop_reason").fill_null("") != _MALFORMED)
    # ids and sources only, to find the few repeated ids; then the positions of just those records
    repeated = scan.filter(read_well).group_by("source", "id").len().filter(pl.col("len") > 1).drop("len")
    rows = (
        scan.filter(read_well)
        .join(repeated, on=["source", "id"], how="semi")
        .select("source", "id", "source_file", "source_line", "exact_hash", live=pl.col("drop_reason").is_null())
        .collect()
    )
    if rows.height == 0:
        return pl.DataFrame(schema=_SCHEMA)
    order = pl.DataFrame({"source_file": list(file_order), "file_no": list(file_order.values())},
                         schema={"source_file": pl.String, "file_no": pl.Int64})
    rows = rows.join(order, on="source_file", how="left").sort("source", "id", "file_no", "source_line")
    group = ["source", "id"]
    rows = rows.with_columns(first_file=pl.col("source_file").first().over(group),
                             first_line=pl.col("source_line").first().over(group),
                             is_first=pl.int_range(pl.len()).over(group) == 0)
    copies = rows.filter(~pl.col("is_first")).drop("is_first", "file_no")
    # the texts of live copies that no other live record carries: found among the live records with those hashes
    hashes = copies.filter("live")["exact_hash"].unique()
    carried = (
        scan.filter(pl.col("drop_reason").is_null() & pl.col("exact_hash").is_in(hashes.implode()))
        .select("source_file", "source_line", "exact_hash")
        .collect()
        .join(copies.filter("live").select("source_file", "source_line"), on=["source_file", "source_line"],
              how="anti")["exact_hash"]
    )
    return copies.with_columns(orphan=pl.col("live") & ~pl.col("exact_hash").is_in(carried.implode())).select(
        list(_SCHEMA))


def skipped_nodes(copies: pl.DataFrame) -> pa.Array:
    """The exact hashes only rejected copies carry: the dedup and the whole-run line rules leave them out."""
    return copies.filter("orphan")["exact_hash"].unique().sort().to_arrow().cast(pa.uint64())


def report(copies: pl.DataFrame, sources: list[str]) -> dict[str, dict[str, object]]:
    """Per input that maps an id_field: later copies (`records`), distinct ids repeated (`ids`), copies rejected
    as duplicate_id (`rejected`; the others a rule had rejected already) and the first few ids (`examples`)."""
    out: dict[str, dict[str, object]] = {}
    for source in sources:
        mine = copies.filter(pl.col("source") == source)
        examples = mine.unique("id", keep="first", maintain_order=True).head(EXAMPLES)["id"].to_list()
        out[source] = {"records": mine.height, "ids": mine["id"].n_unique(), "rejected": int(mine["live"].sum()),
                       "examples": examples}
    return out


def apply_duplicate_ids(table: pa.Table, copies: pl.DataFrame) -> pa.Table:
    """Live rows of `table` that are later copies become `duplicate_id` rejects naming the first occurrence."""
    live = copies.filter("live")
    if live.height == 0:
        return table
    keys = pl.from_arrow(table.select(["source_file", "source_line", "drop_reason", "drop_detail"]))
    joined = keys.with_row_index("_row").join(
        live.select("source_file", "source_line", "id", "first_file", "first_line"),
        on=["source_file", "source_line"], how="left").sort("_row")
    hit = pl.col("first_file").is_not_null() & pl.col("drop_reason").is_null()
    out = joined.select(
        drop_reason=pl.when(hit).then(pl.lit(REASON)).otherwise(pl.col("drop_reason")),
        drop_detail=pl.when(hit).then(pl.format("{} {}: first at {}:{}", pl.lit(REASON), pl.col("id"),
                                                pl.col("first_file"), pl.col("first_line")))
        .otherwise(pl.col("drop_detail")),
    )
    for col in ("drop_reason", "drop_detail"):
        table = table.set_column(table.schema.get_field_index(col), col, out[col].to_arrow().cast(pa.string()))
    return table


@lru_cache(maxsize=4)
def _copies(path: str) -> pl.DataFrame:
    # read once per worker process; the duplicate_ids step writes the file once and never changes it
    return pl.read_parquet(path)


APPLY_DUPLICATE_IDS = Stage("apply_duplicate_ids", reads=("source_file", "source_line"),
                            adds=("drop_reason", "drop_detail"),
                            apply=lambda table, s: apply_duplicate_ids(table, _copies(s.dup_ids)),
                            active=lambda s: s.dup_ids is not None)
