"""`curate export`: select records from a run's shards and write them for a trainer, streaming shard data
through Polars in bounded batches, with dataset_info.json, a dataset card and export.json beside them."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

import curate
from curate.export.card import dataset_info, dumps, render_card
from curate.export.convert import CONVERTERS
from curate.export.select import KEY, check_balance_column, plan, scan, shard_files, where_expr
from curate.export.spec import ExportError, ExportSpec
from curate.stats.export import ExportStats, stats_columns

SUMMARY = "export.json"
CARD = "README.md"
DATASET_INFO = "dataset_info.json"
MANIFEST = "manifest.json"  # as curate.io.manifest writes it
CONVERSION_COLUMNS = ("id", "source", "kind", "text", "turns")


@dataclass
class ExportResult:
    """Where the export went and what export.json says about it."""

    to: Path
    files: list[Path]
    summary: dict[str, Any]


def _manifest(source: Path) -> dict[str, Any] | None:
    """The run's manifest.json, when SOURCE is a run folder or its data/ folder (read directly: no Ray import)."""
    for folder in (source, source.parent):
        path = folder / MANIFEST
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def _prepare_target(to: Path, overwrite: bool) -> None:
    if to.exists() and not to.is_dir():
        raise ExportError(f"--to {to}: is a file; give a folder")
    if to.is_dir() and any(to.iterdir()):
        if not overwrite:
            raise ExportError(f"--to {to}: not empty; pass --overwrite to replace an earlier export there")
        if not (to / SUMMARY).is_file():
            raise ExportError(f"--to {to}: holds something other than a curate export (no {SUMMARY}); not replacing it")
        shutil.rmtree(to)
    to.mkdir(parents=True, exist_ok=True)


def _check_turn_tags(tags: tuple[str, ...], schema: pl.Schema) -> None:
    turn = schema.get("turns")
    fields = [f.name for f in turn.inner.fields] if isinstance(turn, pl.List) and isinstance(turn.inner, pl.Struct) else []
    for tag in tags:
        if tag not in fields:
            raise ExportError(f"--turn-tag {tag!r}: not a field of turns (fields: {', '.join(fields) or 'none'})")
        if tag in ("role", "role_raw", "text"):
            raise ExportError(f"--turn-tag {tag!r}: already part of every turn; tags are labels such as strategy")


def _all_null_warnings(lf: pl.LazyFrame, expr: pl.Expr, spec: ExportSpec, n: int) -> list[str]:
    """Columns of --where / --balance that are null in every record: the selection would silently be empty
    (a run made before its scores or tags existed, or with them switched off)."""
    cols = list(dict.fromkeys([*expr.meta.root_names(), *([spec.balance] if spec.balance else [])]))
    if not cols or not n:
        return []
    nulls = lf.select(pl.col(cols).null_count()).collect(engine="streaming").row(0, named=True)
    return [f"column {c!r} is null in every record of {spec.source}: was it computed in this run? "
            "(see the manifest's models)" for c in cols if nulls[c] == n]


def export_run(spec: ExportSpec) -> ExportResult:
    """Export the records of `spec.source` that match the selection to `spec.to` in `spec.format`.

    Pass 1 (only for --sample / --max-per-source / --balance) reads the key and label columns of the
    matching records and decides the keys; pass 2 streams the matching records in batches of
    `spec.batch_rows` through the converter into the writer, so memory follows the batch size, not the run.
    """
    from curate.export.write import ExportWriter

    t0 = time.perf_counter()
    files = shard_files(spec.source)
    lf = scan(files)
    schema = lf.collect_schema()
    expr = where_expr(spec.where, schema)
    if spec.balance:
        check_balance_column(spec.balance, schema)
    if spec.format != "parquet":
        _check_turn_tags(spec.turn_tags, schema)
    _prepare_target(spec.to, spec.overwrite)

    selection: dict[str, int] = {"in_shards": lf.select(pl.len()).collect().item()}
    warnings = _all_null_warnings(lf, expr, spec, selection["in_shards"])
    matched = lf.filter(expr)
    if spec.needs_plan:
        keys, report = plan(matched, spec)
        selection.update(report)
        # an is_in filter on one key string streams; a semi join buffers the scan (3 GB for 1 GB of shards)
        key = pl.concat_str(*KEY, separator="\x1f")
        matched = matched.filter(key.is_in(keys.select(key).to_series().implode()))
    columns = list(schema) if spec.format == "parquet" else \
        list(dict.fromkeys([*CONVERSION_COLUMNS, *stats_columns(schema)]))
    query = matched.select([c for c in columns if c in schema])

    writer = ExportWriter(spec.to, spec.dataset_name, "parquet" if spec.format == "parquet" else spec.file_format,
                          rows_per_file=spec.rows_per_file, records=spec.format == "parquet")
    convert = CONVERTERS[spec.format]
    stats = ExportStats()
    skipped: Counter[str] = Counter()
    selected = records = turns = 0
    has_system = False
    for batch in query.collect_batches(chunk_size=spec.batch_rows):
        selected += batch.height
        out = convert(batch, spec)
        writer.write(out.rows)
        skipped.update(out.skipped)
        records += out.exported_recs.len()
        turns += out.turns
        has_system = has_system or ("system" in out.rows.columns and out.rows["system"].is_not_null().any())
        stats.add(batch.select(stats_columns(schema))[out.exported_recs])
    if not spec.needs_plan:
        selection["matched"] = selected
    selection["selected"] = selected
    written = writer.close()

    summary = {
        "curate_version": curate.__version__,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "from": str(spec.source),
        "seconds": round(time.perf_counter() - t0, 3),
        "spec": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(spec).items()},
                 "name": spec.dataset_name, "turn_tags": list(spec.turn_tags)},
        "selection": selection,
        "counts": {"records": records, "rows": writer.rows, "turns": turns,
                   "skipped": {k: v for k, v in skipped.most_common() if v}},
        "data_path": writer.data_path,
        "files": [str(p.relative_to(spec.to)) for p in written],
        "has_system": bool(has_system),
        "warnings": warnings,
        "stats": stats.to_dict(),
    }
    if spec.format != "parquet":
        (spec.to / DATASET_INFO).write_bytes(dumps(dataset_info(spec, writer.data_path, summary["has_system"])))
    (spec.to / CARD).write_text(render_card(summary, _manifest(spec.source)), encoding="utf-8")
    (spec.to / SUMMARY).write_bytes(dumps(summary))
    return ExportResult(spec.to, written, summary)
