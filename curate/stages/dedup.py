"""Exact and MinHash near-duplicate removal: the per-batch pieces and the global clustering, as pure functions.

Nodes are distinct texts (their 64-bit `exact_hash`), so exact duplicates collapse before LSH and every
decision depends on content only, never on file order, batch size or worker count:

1. per batch: MinHash signature and band keys of each live record (`signature_columns`);
2. buckets: rows (band key, node) grouped by key (a Ray hash shuffle in the pipeline); each bucket emits an
   edge from its smallest node to every other (`bucket_edges`);
3. candidate edges are verified by the exact Jaccard similarity of the two texts' n-gram sets
   (`verify_edges`: MinHash only proposes candidates), then connected components (`components`);
4. components are split into stars (`assign_centres`) so that every duplicate is itself similar to the text
   it is removed for (no chaining A~B~C); the centre is the most linked node, then the longest compact text
   (without whitespace), then the smallest exact_hash;
5. survivors (`cluster_records`): the centre's text survives; among records with that exact text, the
   smallest id, then file and line. Every other member gets `dup_of` (the survivor's id) and reason
   `exact_duplicate` (same text) or `near_duplicate`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING

import numba
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array
from curate.stages.base import Settings, Stage
from curate.stages.minhash import MinHashParams, band_keys, signatures, sorted_shingle_sets
from curate.stages.ngrams import to_codepoints

if TYPE_CHECKING:
    from curate.job import DedupSpec

EXACT, NEAR = "exact_duplicate", "near_duplicate"
BANDS, CHARS = "_bands", "_text_chars"


def minhash_params(spec: DedupSpec) -> MinHashParams | None:
    """The MinHash settings of a job's `dedup:` block; None when near-duplicate removal is off."""
    if not spec.near:
        return None
    bands, rows = spec.bands_rows()
    return MinHashParams(num_perm=spec.num_perm, ngram=spec.ngram, bands=bands, rows=rows, seed=spec.seed)


def compact_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lower-cased text without whitespace: what the shingles are taken from."""
    lowered = pc.utf8_lower(as_array(texts))
    # RE2's \s is ASCII only: add Unicode separators (U+3000, U+00A0, U+2028, ...), VT and NEL
    return pc.replace_substring_regex(lowered, r"[\s\p{Z}\x{0b}\x{85}]+", "")


def signature_columns(table: pa.Table, params: MinHashParams | None) -> dict[str, pa.Array]:
    """Work columns for live rows: compact text length, and with `params` the LSH band keys of the MinHash
    signature (nulls for rejected rows). The signature itself is not kept: candidates are verified exactly."""
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
    out[BANDS] = pa.FixedSizeListArray.from_arrays(pa.array(bands.ravel(), pa.uint64()), params.bands, mask=mask)
    return out


def band_rows(table: pa.Table, bands: tuple[int, int] | None = None, skip: pa.Array | None = None) -> pa.Table:
    """(key, node) for bands [lo, hi) (default all) of every live record: the rows the LSH shuffle groups by key.

    Band keys already mix the band index in, so keys of different bands never collide and any subset of
    bands can be bucketed on its own: the union of the passes' edges is the all-bands result. `skip`: nodes
    left out (texts only rejected records carry: `curate.stages.dup_ids.skipped_nodes`).
    """
    live = pc.and_(pc.is_null(table.column("drop_reason")), pc.is_valid(table.column(BANDS)))
    if skip is not None and len(skip):
        live = pc.and_(live, pc.invert(pc.is_in(table.column("exact_hash"), value_set=skip)))
    t = table.filter(live)
    if t.num_rows == 0:
        return pa.table({"key": pa.array([], pa.uint64()), "node": pa.array([], pa.uint64())})
    arr = as_array(t.column(BANDS))
    width = arr.type.list_size
    lo, hi = bands if bands is not None else (0, width)
    keys = arr.flatten().to_numpy().reshape(-1, width)[:, lo:hi].ravel()
    nodes = np.repeat(as_array(t.column("exact_hash")).to_numpy(zero_copy_only=False), hi - lo)
    return pa.table({"key": keys, "node": nodes})


def bucket_edges(rows: pa.Table) -> pa.Table:
    """Edges from each bucket's smallest node to its other nodes (rows of one key are all in this batch).

    Sort-based: after sorting by (key, node) a bucket is a run whose first row holds its smallest node,
    so no hash table of buckets is built (a hash group-by plus join held ~1 GB for 4M rows; this holds
    the sorted columns and a few index arrays).
    """
    schema = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
    if rows.num_rows == 0:
        return schema.empty_table()
    df = pl.from_arrow(rows).sort(["key", "node"])
    key = df["key"].to_numpy()
    node = df["node"].to_numpy()
    del df
    first = np.empty(len(key), dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(key)), 0))
    anchor = node[run_start]
    keep = node != anchor  # the anchor itself and its repeats
    edges = pl.DataFrame({"a": anchor[keep], "b": node[keep]}).unique()
    return edges.to_arrow().cast(schema)


def _node_index(nodes: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"node": nodes}).unique().sort("node").with_row_index("i")


class ShingleSets:
    """Exact character n-gram sets of some texts (as sorted unique 64-bit hashes) for verifying pairs.

    Built in chunks of texts into one flat array with offsets, so memory stays near the size of the sets.
    """

    CHUNK = 20_000  # texts per chunk: bounds the compact text's and code points' memory

    def __init__(self, nodes: pl.Series, texts: pl.Series, ngram: int) -> None:
        def sets_of(lo: int) -> tuple[np.ndarray, np.ndarray]:
            batch = to_codepoints(compact_text(texts.slice(lo, chunk).fill_null("").to_arrow()))
            return sorted_shingle_sets(batch.codepoints, batch.offsets.astype(np.int64), ngram)

        # the compiled pass releases the GIL: chunks on threads use the CPUs the driver has (dedup_global runs there)
        threads = os.cpu_count() or 1
        chunk = max(1, min(self.CHUNK, -(-len(texts) // threads)))
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(sets_of, range(0, len(texts), chunk)))
        self._flat = np.concatenate([flat for flat, _ in done]) if done else np.zeros(0, np.uint64)
        counts = np.concatenate([sizes for _, sizes in done]) if done else np.zeros(0, np.int64)
        self._offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._offsets[1:])
        keys = nodes.to_numpy().astype(np.uint64)
        self._order = np.argsort(keys, kind="stable")
        self._sorted = keys[self._order]

    def _rows(self, nodes: np.ndarray) -> np.ndarray:
        """Row of each node's set (looked up in the sorted nodes: no Python dict over all of them)."""
        at = np.searchsorted(self._sorted, nodes)
        if len(nodes) and (self._sorted[np.minimum(at, len(self._sorted) - 1)] != nodes).any():
            raise KeyError("a node without a shingle set")
        return self._order[at]

    def jaccard(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact Jaccard similarity of each pair of nodes (a[i], b[i])."""
        a, b = np.asarray(a, np.uint64), np.asarray(b, np.uint64)
        return _pair_jaccard(self._flat, self._offsets, self._rows(a), self._rows(b))


@numba.njit(nogil=True, cache=True)
def _pair_jaccard(flat: np.ndarray, off: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:  # pragma: no cover
    """|A ∩ B| / |A ∪ B| of sorted unique sets, pair by pair, by merging (1.0 for two empty sets)."""
    out = np.empty(len(ra), dtype=np.float64)
    for i in range(len(ra)):
        x, xe, y, ye = off[ra[i]], off[ra[i] + 1], off[rb[i]], off[rb[i] + 1]
        size = (xe - x) + (ye - y)
        inter = 0
        while x < xe and y < ye:
            if flat[x] == flat[y]:
                inter += 1
                x += 1
                y += 1
            elif flat[x] < flat[y]:
                x += 1
            else:
                y += 1
        union = size - inter
        out[i] = inter / union if union else 1.0
    return out


def verify_edges(edges: pl.DataFrame, sets: ShingleSets, threshold: float) -> pl.DataFrame:
    """Keep candidate edges whose exact Jaccard similarity is at least `threshold`; adds `jaccard`.

    LSH on the MinHash signatures proposes the candidates; the exact check on the few candidate pairs removes
    the estimator's noise around the threshold (its standard deviation is about 0.026 at 128 values).
    """
    if edges.height == 0:
        return edges.with_columns(jaccard=pl.lit(None, pl.Float64))
    j = sets.jaccard(edges["a"].to_numpy(), edges["b"].to_numpy())
    return edges.with_columns(jaccard=pl.Series(j)).filter(pl.col("jaccard") >= threshold)


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


# A member must reach the threshold with its centre, and come this close to it with every other member.
MEMBER_SLACK = 0.05


def assign_centres(comps: pl.DataFrame, edges: pl.DataFrame, sets: ShingleSets, chars: pl.DataFrame,
                   threshold: float, member_slack: float = MEMBER_SLACK) -> pl.DataFrame:
    """Split each connected component into stars, so every duplicate is similar to the text it is a copy of.

    Components chain (A~B and B~C with A and C far apart). Repeatedly, each component's best unassigned node
    becomes a centre (most verified links, then longest compact text, then smallest hash) and takes the
    unassigned nodes of the component whose exact Jaccard similarity to it is at least `threshold`, most
    similar first, each only if it is within `member_slack` of that with every member taken before it: a
    duplicate is always removed for a text it truly resembles, and clusters stay nearly cliques.
    Returns (node, centre) for every node of `comps`. `chars`: (node, chars).
    """
    if comps.height == 0:
        return pl.DataFrame(schema={"node": pl.UInt64, "centre": pl.UInt64})
    degree = pl.concat([edges.select(node="a"), edges.select(node="b")]).group_by("node").len("degree")
    todo = (
        comps.join(degree, on="node", how="left")
        .join(chars, on="node", how="left")
        .with_columns(pl.col("degree").fill_null(0), pl.col("chars").fill_null(0))
    )
    done = []
    while todo.height:
        centres = (
            todo.sort(["component", "degree", "chars", "node"], descending=[False, True, True, False])
            .group_by("component", maintain_order=True)
            .first()
            .select("component", centre="node")
        )
        cand = todo.join(centres, on="component").filter(pl.col("node") != pl.col("centre"))
        cand = cand.with_columns(j=pl.Series(sets.jaccard(cand["node"].to_numpy(), cand["centre"].to_numpy())))
        cand = cand.filter(pl.col("j") >= threshold).sort(["centre", "j", "node"], descending=[False, True, False])
        taken = [centres.select(node=pl.col("centre"), centre=pl.col("centre"))]
        taken.append(_cliques(cand, sets, threshold - member_slack))
        taken_df = pl.concat(taken)
        done.append(taken_df)
        todo = todo.join(taken_df.select("node"), on="node", how="anti")
    return pl.concat(done)


def _cliques(cand: pl.DataFrame, sets: ShingleSets, threshold: float) -> pl.DataFrame:
    """Members for each centre, most similar first, each at least `threshold` similar to every member taken."""
    counts = cand.group_by("centre").len()
    single = cand.join(counts.filter(pl.col("len") == 1).select("centre"), on="centre")
    out = [single.select("node", "centre")]  # one candidate: similar to the centre is enough
    many = cand.join(counts.filter(pl.col("len") > 1).select("centre"), on="centre")
    nodes, centres = [], []
    for centre, group in many.group_by("centre", maintain_order=True):
        members: list[int] = []
        for node in group["node"].to_list():
            if not members or (sets.jaccard(np.full(len(members), node, np.uint64),
                                            np.array(members, np.uint64)) >= threshold).all():
                members.append(node)
        nodes += members
        centres += [centre[0]] * len(members)
    out.append(pl.DataFrame({"node": nodes, "centre": centres}, schema={"node": pl.UInt64, "centre": pl.UInt64}))
    return pl.concat(out)


def cluster_records(records: pl.DataFrame, comps: pl.DataFrame) -> pl.DataFrame:
    """Decide survivors. `records`: live rows (source_file, source_line, id, exact_hash, chars); `comps`:
    (node, component) with each near-duplicate node's cluster key, its centre (`assign_centres`), whose
    text survives; any other node is its own cluster (exact duplicates only).

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
    # survivor text: the cluster's centre (its key); survivor record: smallest id, then position
    best = (
        recs.filter(pl.col("node") == pl.col("component"))
        .sort(["component", "id", "source_file", "source_line"])
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


def _signatures(table: pa.Table, settings: Settings) -> pa.Table:
    for name, col in signature_columns(table, settings.minhash).items():
        table = table.append_column(name, col)
    return table


@lru_cache(maxsize=4)
def _decisions(path: str) -> pl.DataFrame:
    # read once per worker process; the dedup step writes the file once and never changes it
    return pl.read_parquet(path)


DEDUP_SIGNATURES = Stage("dedup_signatures", reads=("text", "drop_reason"), adds=(CHARS, BANDS),
                         apply=_signatures, on_failed=True)
APPLY_DEDUP = Stage("apply_dedup", reads=("source_file", "source_line"),
                    adds=("dup_cluster", "dup_of", "drop_reason", "drop_detail"),
                    apply=lambda table, s: apply_dedup(table, _decisions(s.decisions)),
                    active=lambda s: s.decisions is not None)
