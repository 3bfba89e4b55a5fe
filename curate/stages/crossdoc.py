"""CCNet-style line duplication across documents: the global signal `sig_dup_paragraph_frac`.

CCNet (Wenzek et al. 2020) hashes every normalised paragraph (line) and removes the lines seen elsewhere in
the corpus. curate keeps documents whole and measures instead: the share of a document's characters that
sit in lines which also occur in another document of the run. Documents of one duplicate cluster count as
one, so a survivor is not penalised for the copies dedup already removed. The signal needs the whole run,
so it is computed in three steps: line hashes per record (per_record, work columns), the set of duplicated
lines (dedup_global, a Ray hash shuffle by line), the fraction and its rules (finish).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array
from curate.io import storage
from curate.stages.base import Settings, Stage

SIGNAL = "sig_dup_paragraph_frac"
VERSION = 1
LINE_HASHES, LINE_CHARS = "_line_hashes", "_line_chars"
MIN_LINE_CHARS = 2  # lines shorter than this (a lone bracket, a bullet) are not counted


def line_columns(table: pa.Table, kinds: tuple[str, ...]) -> dict[str, pa.Array]:
    """Work columns for live rows of `kinds`: a 64-bit hash and the length of each stripped non-empty line.

    Polars' hash is stable for one Polars version and seed, which is all a run needs: every worker of a run
    runs the same version, and the hashes never leave the run's _work folder.
    """
    n = table.num_rows
    live = pc.and_(pc.is_null(table.column("drop_reason")), pc.is_in(table.column("kind"), pa.array(list(kinds))))
    text = pl.from_arrow(pc.if_else(live, as_array(table.column("text")), pa.scalar(None, pa.string())))
    lines = (
        pl.DataFrame({"row": np.arange(n), "line": text.str.split("\n")})
        .explode("line")
        .with_columns(pl.col("line").str.strip_chars())
        .with_columns(chars=pl.col("line").str.len_chars())
        .filter(pl.col("chars") >= MIN_LINE_CHARS)
        .with_columns(h=pl.col("line").hash(seed=7))
        .group_by("row", maintain_order=True)
        .agg("h", "chars")
    )
    full = pl.DataFrame({"row": np.arange(n)}).join(lines, on="row", how="left", maintain_order="left")
    live_np = live.to_numpy(zero_copy_only=False)
    hashes = full.select(pl.when(pl.Series(live_np)).then(pl.col("h").fill_null(pl.lit([], pl.List(pl.UInt64)))))
    chars = full.select(pl.when(pl.Series(live_np)).then(pl.col("chars").fill_null(pl.lit([], pl.List(pl.UInt32)))))
    return {
        LINE_HASHES: hashes.to_series().to_arrow().cast(pa.list_(pa.uint64())),
        LINE_CHARS: chars.to_series().to_arrow().cast(pa.list_(pa.int32())),
    }


def line_rows(table: pa.Table, skip: pa.Array | None = None) -> pa.Table:
    """(line, node) pairs of the live records: the rows the dedup_global shuffle groups by line. `skip`: nodes
    left out (texts only rejected records carry: `curate.stages.dup_ids.skipped_nodes`)."""
    live = pc.and_(pc.is_null(table.column("drop_reason")), pc.is_valid(table.column(LINE_HASHES)))
    if skip is not None and len(skip):
        live = pc.and_(live, pc.invert(pc.is_in(table.column("exact_hash"), value_set=skip)))
    t = table.filter(live)
    lists = as_array(t.column(LINE_HASHES))
    parents = pc.list_parent_indices(lists)
    nodes = pc.take(as_array(t.column("exact_hash")), parents)
    return pa.table({"line": lists.flatten(), "node": nodes}).cast(
        pa.schema([("line", pa.uint64()), ("node", pa.uint64())]))


def _repeated(keys: np.ndarray, k: int) -> np.ndarray:
    """The distinct values that occur `k` times or more in `keys`."""
    s, k = np.sort(keys), max(k, 1)
    head = s[: max(len(s) - k + 1, 0)]
    found = head[head == s[k - 1:]]  # in sorted order, s[i] == s[i + k - 1]: k equal values from i on
    return found[np.concatenate(([True], found[1:] != found[:-1]))] if len(found) else found


def keys_in_clusters(rows: pa.Table, key: str, components: str | None, min_clusters: int) -> pl.DataFrame:
    """The `key` values of `rows` (key, node) held by nodes of `min_clusters` or more duplicate clusters (every
    row of a key is in `rows`). `components` is a Parquet file of (node, component) from near-dedup; a node not
    in it is its own cluster."""
    df = pl.from_arrow(rows)
    # a key in k clusters has k rows or more: most keys have fewer, so the exact count is only taken for the rest,
    # found by sorting the keys (a NumPy sort is several times faster than a hash group-by over tens of millions)
    df = df.filter(pl.col(key).is_in(pl.Series(_repeated(df[key].to_numpy(), min_clusters)).implode())).unique()
    if components:
        comps = storage.read_parquet(components)
        df = df.join(comps, on="node", how="left").with_columns(pl.coalesce("component", "node").alias("node"))
    return df.group_by(key).agg(pl.col("node").n_unique()).filter(pl.col("node") >= min_clusters).select(key)


def duplicated_lines(rows: pa.Table, components: str | None) -> pa.Table:
    """Lines that occur in two or more clusters (all rows of a line are in this batch, after the shuffle).

    `components` is a Parquet file of (node, component) from near-dedup; a node not in it is its own cluster.
    """
    return keys_in_clusters(rows, "line", components, 2).to_arrow().cast(pa.schema([("line", pa.uint64())]))


def dup_paragraph_frac(table: pa.Table, dup_lines: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row: characters in duplicated lines / characters in counted lines; and whether it was computed."""
    n = table.num_rows
    hashes = pl.from_arrow(as_array(table.column(LINE_HASHES)))
    chars = pl.from_arrow(as_array(table.column(LINE_CHARS)))
    computed = hashes.is_not_null().to_numpy()
    exploded = (
        pl.DataFrame({"row": np.arange(n), "h": hashes, "c": chars})
        .explode("h", "c")
        .filter(pl.col("h").is_not_null())
        .with_columns(dup=pl.col("h").is_in(dup_lines.implode()))
        .group_by("row")
        .agg(total=pl.col("c").sum(), dup=pl.col("c").filter(pl.col("dup")).sum())
    )
    full = pl.DataFrame({"row": np.arange(n)}).join(exploded, on="row", how="left", maintain_order="left").fill_null(0)
    total, dup = full["total"].to_numpy().astype(np.float64), full["dup"].to_numpy().astype(np.float64)
    frac = np.divide(dup, total, out=np.zeros(n), where=total > 0)
    return frac, computed


def _line_hashes(table: pa.Table, settings: Settings) -> pa.Table:
    from curate.stages.rules import global_rule_kinds, load_rule_sets

    kinds = global_rule_kinds(load_rule_sets(settings.rule_files), (SIGNAL,))
    if kinds:
        for name, col in line_columns(table, kinds).items():
            table = table.append_column(name, col)
    return table


HASH_LINES = Stage("line_hashes", reads=("text", "kind"), adds=(LINE_HASHES, LINE_CHARS),
                    apply=_line_hashes, on_failed=True)
