"""Exact and MinHash near-duplicate removal: the per-batch pieces and the global clustering, as pure functions.

Nodes are distinct texts (their 64-bit `exact_hash`), so exact duplicates collapse before LSH and every
decision depends on content only, never on file order, batch size or worker count:

1. per batch: MinHash signature and band keys of each live record (`signature_columns`);
2. buckets: rows (band key, node) grouped by key (a Ray hash shuffle in the pipeline); each bucket emits an
   edge from its smallest node to every other (`bucket_edges`);
3. edges are verified with the signatures' Jaccard estimate (`verify_edges`), then connected components
   (`components`);
4. components are split into stars (`assign_centres`) so that every duplicate is itself similar to the text
   it is removed for (no chaining A~B~C); the centre is the most linked node, then the longest compact text
   (without whitespace), then the smallest exact_hash;
5. survivors (`cluster_records`): the centre's text survives; among records with that exact text, the
   smallest id, then file and line. Every other member gets `dup_of` (the survivor's id) and reason
   `exact_duplicate` (same text) or `near_duplicate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array
from curate.stages.minhash import MinHashParams, band_keys, signatures
from curate.stages.ngrams import to_codepoints

EXACT, NEAR = "exact_duplicate", "near_duplicate"
SIG, BANDS, CHARS = "_minhash", "_bands", "_text_chars"


@dataclass(frozen=True)
class DedupParams:
    """Dedup settings (from the job's `dedup:` block)."""

    exact: bool = True
    near: bool = True
    threshold: float = 0.8
    minhash: MinHashParams = MinHashParams()


def compact_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lower-cased text without whitespace: what the shingles are taken from."""
    lowered = pc.utf8_lower(as_array(texts))
    # RE2's \s is ASCII only: add Unicode separators (U+3000, U+00A0, U+2028, ...), VT and NEL
    return pc.replace_substring_regex(lowered, r"[\s\p{Z}\x{0b}\x{85}]+", "")


def signature_columns(table: pa.Table, params: MinHashParams | None) -> dict[str, pa.Array]:
    """Work columns for live rows: text length, and with `params` the MinHash signature and band keys
    (nulls for rejected rows)."""
    live = pc.is_null(table.column("drop_reason")).to_numpy(zero_copy_only=False)
    n = table.num_rows
    texts = pc.if_else(pa.array(live), as_array(table.column("text")), pa.scalar("", pa.string()))
    compact = compact_text(pc.fill_null(texts, ""))
    # length without whitespace: padding or reflowing a copy does not make it the "longest" text
    chars = pc.if_else(pa.array(live), pc.utf8_length(compact), pa.nulls(n, pa.int64()))
    out: dict[str, pa.Array] = {CHARS: chars.cast(pa.int64())}
    if params is None:
        return out
    batch = to_codepoints(compact)
    sig = signatures(batch, params)
    bands = band_keys(sig, params)
    mask = pa.array(~live)
    out[SIG] = pa.FixedSizeListArray.from_arrays(pa.array(sig.ravel(), pa.uint32()), params.num_perm, mask=mask)
    out[BANDS] = pa.FixedSizeListArray.from_arrays(pa.array(bands.ravel(), pa.uint64()), params.bands, mask=mask)
    return out


def band_rows(table: pa.Table) -> pa.Table:
    """(key, node) for every band of every live record: the rows the LSH shuffle groups by key."""
    live = pc.and_(pc.is_null(table.column("drop_reason")), pc.is_valid(table.column(BANDS)))
    t = table.filter(live)
    if t.num_rows == 0:
        return pa.table({"key": pa.array([], pa.uint64()), "node": pa.array([], pa.uint64())})
    bands = as_array(t.column(BANDS))
    width = bands.type.list_size
    keys = bands.flatten().to_numpy()
    nodes = np.repeat(as_array(t.column("exact_hash")).to_numpy(zero_copy_only=False), width)
    return pa.table({"key": keys, "node": nodes})


def bucket_edges(rows: pa.Table) -> pa.Table:
    """Edges from each bucket's smallest node to its other nodes (rows of one key are all in this batch)."""
    df = pl.from_arrow(rows).unique()
    anchors = df.group_by("key").agg(anchor=pl.col("node").min())
    edges = (
        df.join(anchors, on="key")
        .filter(pl.col("node") != pl.col("anchor"))
        .select(a=pl.col("anchor"), b=pl.col("node"))
        .unique()
    )
    return edges.to_arrow().cast(pa.schema([("a", pa.uint64()), ("b", pa.uint64())]))


def _node_index(nodes: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"node": nodes}).unique().sort("node").with_row_index("i")


def verify_edges(edges: pl.DataFrame, sigs: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """Keep edges whose signatures agree on at least `threshold` of positions; adds `jaccard`.

    `sigs` has one row per node: `node` and its signature `_minhash`.
    """
    if edges.height == 0:
        return edges.with_columns(jaccard=pl.lit(None, pl.Float64))
    sigs = sigs.sort("node").with_row_index("i")
    matrix = np.stack(sigs[SIG].to_numpy())
    ends = edges.join(sigs.select(a="node", ia="i"), on="a").join(sigs.select(b="node", ib="i"), on="b")
    ia, ib = ends["ia"].to_numpy(), ends["ib"].to_numpy()
    est = (matrix[ia] == matrix[ib]).mean(axis=1)
    return ends.select("a", "b").with_columns(jaccard=pl.Series(est)).filter(pl.col("jaccard") >= threshold)


def components(edges: pl.DataFrame) -> pl.DataFrame:
    """Connected components of the edge graph: (node, component) with component = smallest node."""
    if edges.height == 0:
        return pl.DataFrame(schema={"node": pl.UInt64, "component": pl.UInt64})
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = _node_index(pl.concat([edges["a"], edges["b"]]))
    ends = edges.join(index.select(a="node", ia="i"), on="a").join(index.select(b="node", ib="i"), on="b")
    n = index.height
    graph = coo_matrix((np.ones(ends.height, dtype=np.int8), (ends["ia"].to_numpy(), ends["ib"].to_numpy())),
                       shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    df = index.with_columns(label=pl.Series(labels))
    return df.with_columns(component=pl.col("node").min().over("label")).select("node", "component")


def assign_centres(comps: pl.DataFrame, edges: pl.DataFrame, sigs: pl.DataFrame, chars: pl.DataFrame,
                   threshold: float) -> pl.DataFrame:
    """Split each connected component into stars, so every duplicate is similar to the text it is a copy of.

    Components chain (A~B and B~C with A and C far apart). Repeatedly, each component's best unassigned node
    becomes a centre (most verified links, then longest compact text, then smallest hash) and takes every
    unassigned node of the component whose signature agrees with its own on at least `threshold`.
    Returns (node, centre) for every node of `comps`. `chars`: (node, chars); `sigs`: (node, _minhash).
    """
    if comps.height == 0:
        return pl.DataFrame(schema={"node": pl.UInt64, "centre": pl.UInt64})
    degree = pl.concat([edges.select(node="a"), edges.select(node="b")]).group_by("node").len("degree")
    sigs = sigs.join(comps.select("node"), on="node").sort("node").with_row_index("i")
    matrix = np.stack(sigs[SIG].to_numpy())
    todo = (
        comps.join(degree, on="node", how="left")
        .join(chars, on="node", how="left")
        .join(sigs.select("node", "i"), on="node")
        .with_columns(pl.col("degree").fill_null(0), pl.col("chars").fill_null(0))
    )
    done = []
    while todo.height:
        centres = (
            todo.sort(["component", "degree", "chars", "node"], descending=[False, True, True, False])
            .group_by("component", maintain_order=True)
            .first()
            .select("component", centre="node", ci="i")
        )
        cand = todo.join(centres, on="component")
        agree = (matrix[cand["i"].to_numpy()] == matrix[cand["ci"].to_numpy()]).mean(axis=1)
        taken = cand.filter(pl.Series(agree >= threshold) | (pl.col("node") == pl.col("centre")))
        done.append(taken.select("node", "centre"))
        todo = todo.join(taken.select("node"), on="node", how="anti")
    return pl.concat(done)


def cluster_records(records: pl.DataFrame, comps: pl.DataFrame) -> pl.DataFrame:
    """Decide survivors. `records`: live rows (source_file, source_line, id, exact_hash, chars); `comps`:
    (node, component) with each near-duplicate node's cluster key (its centre); other nodes are their own.

    Returns one row per record in a cluster of two or more: its key, `dup_cluster` (the survivor's id),
    `dup_of` (null for the survivor) and `reason`.
    """
    recs = records.rename({"exact_hash": "node"}).join(comps, on="node", how="left").with_columns(
        component=pl.coalesce("component", "node")
    )
    sizes = recs.group_by("component").len()
    recs = recs.join(sizes.filter(pl.col("len") > 1).select("component"), on="component")
    if recs.height == 0:
        return pl.DataFrame(schema={"source_file": pl.String, "source_line": pl.Int64, "dup_cluster": pl.String,
                                    "dup_of": pl.String, "reason": pl.String, "cluster_size": pl.UInt32})
    # survivor text: longest, then smallest hash; survivor record: smallest id, then position
    best = (
        recs.sort(["component", "chars", "node", "id", "source_file", "source_line"],
                  descending=[False, True, False, False, False, False])
        .group_by("component", maintain_order=True)
        .first()
        .select("component", survivor_node="node", survivor_id="id",
                survivor_file="source_file", survivor_line="source_line")
    )
    recs = recs.join(best, on="component").join(sizes, on="component")
    is_survivor = (pl.col("source_file") == pl.col("survivor_file")) & (pl.col("source_line") == pl.col("survivor_line"))
    return recs.select(
        "source_file",
        "source_line",
        dup_cluster=pl.col("survivor_id"),
        dup_of=pl.when(is_survivor).then(None).otherwise(pl.col("survivor_id")),
        reason=pl.when(is_survivor).then(None)
        .when(pl.col("node") == pl.col("survivor_node")).then(pl.lit(EXACT))
        .otherwise(pl.lit(NEAR)),
        cluster_size=pl.col("len"),
    )


def apply_dedup(table: pa.Table, decisions: pl.DataFrame) -> pa.Table:
    """Set dup_cluster, dup_of and (for live duplicates) drop_reason/drop_detail from the decisions."""
    if decisions.height == 0:
        return table
    keys = pl.from_arrow(table.select(["source_file", "source_line", "drop_reason", "drop_detail"]))
    joined = keys.with_row_index("_row").join(decisions, on=["source_file", "source_line"], how="left").sort("_row")
    live = pl.col("drop_reason").is_null()
    dup = pl.col("dup_of").is_not_null() & live
    out = joined.select(
        dup_cluster=pl.col("dup_cluster"),
        dup_of=pl.col("dup_of"),
        drop_reason=pl.when(dup).then(pl.col("reason")).otherwise(pl.col("drop_reason")),
        drop_detail=pl.when(dup).then(
            pl.format("{} of {} (cluster of {})", pl.col("reason"), pl.col("dup_of"), pl.col("cluster_size"))
        ).otherwise(pl.col("drop_detail")),
    )
    for col in ("dup_cluster", "dup_of", "drop_reason", "drop_detail"):
        table = table.set_column(table.schema.get_field_index(col), col, out[col].to_arrow().cast(pa.string()))
    return table
