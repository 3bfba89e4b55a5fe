"""The whole-run steps between the per-record stages and the finishing ones: ids repeated within an input
(`DUPLICATE_IDS`), duplicate clusters across the run (`CLUSTER_DUPLICATES`) and lines that recur across
documents (`DUPLICATED_LINES`).

Each reads every checkpoint's work columns and writes one file under OUT/_work, all or nothing, that the
finishing stages read. Up to DRIVER_GROUP_ROWS rows are grouped here, in the driver (`group_rows`); larger
runs ask the engine for a keyed regrouping (`Engine.group_and_collect`: a Ray hash shuffle).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import polars as pl
import pyarrow as pa

from curate.io import storage
from curate.io.writer import atomic_write_parquet
from curate.job import DedupSpec
from curate.stages import crossdoc, dedup, dup_ids
from curate.stages.base import Engine, GlobalStep, Settings, StepResult
from curate.stages.rules import global_rule_kinds, load_rule_sets

# Up to this many rows to group (band keys, lines, reply clauses: 16 bytes each), a whole-run step groups them
# here with the same functions rather than in a Ray execution, whose fixed cost (seconds of start-up, actors and
# transfers) exceeds the work on one machine; above it the engine's regrouping keeps the driver's memory bounded
# (its peak memory: bench/README.md)
DRIVER_GROUP_ROWS = 32_000_000
# band rows per LSH pass: a pass's sort and edges stay a few hundred MB in one worker (bench/README.md)
BAND_PASS_ROWS = 2_000_000


def band_passes(bands: int, n_records: int) -> list[tuple[int, int]]:
    """Band ranges [lo, hi) bucketed one engine execution each: as many bands per pass as fit one block.

    Buckets of different bands never share a key, so bands can be grouped in any passes; passes of one
    block each keep a bucket's working set small. Above BAND_PASS_ROWS records a pass is one band.
    """
    per_pass = max(1, min(bands, BAND_PASS_ROWS // max(1, n_records)))
    return [(lo, min(bands, lo + per_pass)) for lo in range(0, bands, per_pass)]


def group_rows(engine: Engine, paths: list[str], columns: list[str], rows: Callable[..., pa.Table],
               rows_kwargs: dict[str, Any], key: str, n_rows: int, groups: Callable[..., pa.Table],
               groups_kwargs: dict[str, Any], schema: pa.Schema) -> pa.Table:
    """`Engine.group_and_collect` (same arguments), done here in one block when `n_rows` is at most
    DRIVER_GROUP_ROWS: `rows` over each checkpoint as it is read (only the rows are kept), `groups` once."""
    if n_rows > DRIVER_GROUP_ROWS:
        return engine.group_and_collect(paths, columns, rows, rows_kwargs, key, n_rows, groups, groups_kwargs, schema)
    blocks = [rows(storage.read_table(p, columns=columns), **rows_kwargs) for p in paths]
    block = pa.concat_tables(blocks) if blocks else schema.empty_table()
    return groups(block, **groups_kwargs).cast(schema)


def duplicate_ids_global(checkpoints: list[str], work: str, settings: Settings) -> tuple[str | None, dict[str, Any]]:
    """The later copies of an id within each input that maps an id_field → OUT/_work/dup_ids.parquet (None when
    there are none), and the report per input (`curate.stages.dup_ids`)."""
    t0 = time.perf_counter()
    order = {p: i for i, p in enumerate(settings.files)}
    copies = dup_ids.find_duplicate_ids(checkpoints, list(settings.id_inputs), order)
    path = None
    if copies.height:
        path = storage.join(work, "dup_ids.parquet")
        atomic_write_parquet(path, copies.to_arrow())
    return (path,
            {"inputs": dup_ids.report(copies, list(settings.id_inputs)), "seconds": round(time.perf_counter() - t0, 3)})


def dedup_global(checkpoints: list[str], spec: DedupSpec, work: str, engine: Engine,
                 copies: str | None = None) -> tuple[str, dict[str, Any]]:
    """Clusters across the whole run → OUT/_work/dedup.parquet (written once, all or nothing), and a report.
    `copies`: the duplicate-id step's file; its later copies are left out of the clusters."""
    t0 = time.perf_counter()
    live = pl.col("drop_reason").is_null()
    records = (
        storage.scan_parquet(checkpoints)
        .filter(live)
        .select("source_file", "source_line", "id", "exact_hash", chars=pl.col(dedup.CHARS))
        .collect()
    )
    records, skip = dup_ids.without_copies(records, copies)
    report: dict[str, Any] = {"live_records": records.height, "distinct_texts": records["exact_hash"].n_unique()}
    comps = dedup.components(pl.DataFrame(schema={"a": pl.UInt64, "b": pl.UInt64}))
    if spec.near and records.height:
        bands, rows = spec.bands_rows()
        n_rows = records.height * bands
        edge_schema = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
        parts = []
        passes = band_passes(bands, records.height)
        in_driver = n_rows <= DRIVER_GROUP_ROWS
        if in_driver:  # the same functions here, without an engine execution's fixed cost; the bands read once
            table = pa.concat_tables([storage.read_table(p, columns=["drop_reason", "exact_hash", dedup.BANDS])
                                      for p in checkpoints])
            for lo, hi in passes:  # one pass at a time: a pass's sort stays the size the engine's block would be
                parts.append(pl.from_arrow(dedup.bucket_edges(dedup.band_rows(table, (lo, hi), skip))).unique())
            del table
        else:
            for lo, hi in passes:
                edges = engine.group_and_collect(
                    checkpoints, ["drop_reason", "exact_hash", dedup.BANDS], dedup.band_rows,
                    {"bands": (lo, hi), "skip": skip},
                    "key", records.height * (hi - lo), dedup.bucket_edges, {}, edge_schema)
                parts.append(pl.from_arrow(edges).unique())
        edges = pl.concat(parts).unique()
        del parts
        nodes = pl.concat([edges["a"], edges["b"]]).unique()
        texts = (
            storage.scan_parquet(checkpoints)
            .filter(live & pl.col("exact_hash").is_in(nodes.implode()))
            .select(node=pl.col("exact_hash"), text=pl.col("text"))
            .unique("node", keep="first")
            .collect()
        )
        sets = dedup.ShingleSets(texts["node"], texts["text"], spec.ngram)
        verified = dedup.verify_edges(edges, sets, spec.threshold)
        chars = records.group_by("exact_hash").agg(pl.col("chars").max()).rename({"exact_hash": "node"})
        centres = dedup.assign_centres(dedup.components(verified), verified, sets, chars, spec.threshold)
        comps = centres.rename({"centre": "component"})
        report.update(bands=bands, rows=rows, band_rows=n_rows, band_passes=[list(p) for p in passes],
                      hash_shuffle=not in_driver and engine.shuffles(records.height * (passes[0][1] - passes[0][0])),
                      candidate_edges=edges.height,
                      verified_edges=verified.height, near_clusters=comps["component"].n_unique())
    decisions = dedup.cluster_records(records, comps)
    atomic_write_parquet(storage.join(work, "components.parquet"), comps.to_arrow())
    path = storage.join(work, "dedup.parquet")
    atomic_write_parquet(path, decisions.to_arrow())
    sizes = decisions.group_by("dup_cluster").len()["len"].value_counts().sort("len")
    report.update(
        clusters=decisions["dup_cluster"].n_unique(),
        duplicates=int(decisions["dup_of"].is_not_null().sum()),
        cluster_size_histogram={str(r["len"]): r["count"] for r in sizes.iter_rows(named=True)},
        seconds=round(time.perf_counter() - t0, 3),
    )
    return path, report


def duplicated_lines_global(checkpoints: list[str], work: str, engine: Engine,
                            copies: str | None = None) -> tuple[str, dict[str, Any]]:
    """Lines that occur in two or more duplicate clusters → OUT/_work/dup_lines.parquet, and a report.
    `copies`: as for `dedup_global`."""
    t0 = time.perf_counter()
    comps = storage.join(work, "components.parquet")
    live = pl.col("drop_reason").is_null()
    n_rows = storage.scan_parquet(checkpoints).filter(live).select(pl.col(crossdoc.LINE_HASHES).list.len().sum()).collect().item()
    lines = group_rows(
        engine, checkpoints, ["drop_reason", "exact_hash", crossdoc.LINE_HASHES], crossdoc.line_rows,
        {"skip": dup_ids.without_copies(None, copies)[1]}, "line", n_rows or 0,
        crossdoc.duplicated_lines, {"components": comps if storage.exists(comps) else None},
        pa.schema([("line", pa.uint64())]))
    path = storage.join(work, "dup_lines.parquet")
    atomic_write_parquet(path, lines)
    return path, {"lines": n_rows, "duplicated_lines": lines.num_rows, "seconds": round(time.perf_counter() - t0, 3)}


def _ids(checkpoints: list[str], work: str, settings: Settings, engine: Engine) -> StepResult:
    return StepResult(*duplicate_ids_global(checkpoints, work, settings))


def _cluster(checkpoints: list[str], work: str, settings: Settings, engine: Engine) -> StepResult:
    path, report = dedup_global(checkpoints, settings.dedup, work, engine, settings.dup_ids)
    return StepResult(path, {"enabled": True, **report})


def _lines(checkpoints: list[str], work: str, settings: Settings, engine: Engine) -> StepResult:
    path, report = duplicated_lines_global(checkpoints, work, engine, settings.dup_ids)
    return StepResult(path, report)


# first: the dedup and the line counts then leave the later copies out (settings.dup_ids)
DUPLICATE_IDS = GlobalStep("duplicate_ids", reads=("source", "id", "source_file", "source_line", "exact_hash"),
                           output="dup_ids", run=_ids, active=lambda s: bool(s.id_inputs))


CLUSTER_DUPLICATES = GlobalStep("cluster_duplicates", reads=("exact_hash", dedup.BANDS, dedup.CHARS, "text"),
                                output="decisions", run=_cluster,
                                active=lambda s: s.dedup.exact or s.dedup.near)
DUPLICATED_LINES = GlobalStep("duplicated_lines", reads=("exact_hash", crossdoc.LINE_HASHES), output="dup_lines",
                              run=_lines, active=lambda s: bool(global_rule_kinds(load_rule_sets(s.rule_files), (crossdoc.SIGNAL,))))
