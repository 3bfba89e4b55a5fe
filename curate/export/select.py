"""Which records an export takes: the --where expression over a lazy scan of the shards, then a seeded plan
for --max-per-source, --balance and --sample decided on (source, id) alone."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import polars as pl

from curate.export.spec import ExportError, ExportSpec

KEY = ("source", "id")


def shard_files(source: Path) -> list[Path]:
    """The kept-record shards of a run folder (OUT/data), a folder of Parquet files or one file."""
    from curate.shard_summary import parquet_files

    try:
        files = parquet_files(source)
    except FileNotFoundError as e:
        raise ExportError(str(e)) from None
    if not files:
        raise ExportError(f"{source}: no Parquet shards to export (an empty run, or the wrong folder)")
    return files


def scan(files: list[Path]) -> pl.LazyFrame:
    """A lazy scan over every shard; nothing is read until a query runs."""
    return pl.scan_parquet(files)


def where_expr(where: str | None, schema: pl.Schema) -> pl.Expr:
    """The --where text as a boolean Polars expression, checked against the shards' columns.

    Any SQL scalar expression `polars.sql_expr` reads works: `quality > 0.6 and toxicity < 0.2`,
    `source in ('smilechat', 'esconv')`, `domain is not null`, `sig_n_turns between 4 and 40`. A record
    whose column is null does not pass a comparison on it (SQL semantics).
    """
    if not where or not where.strip():
        return pl.lit(True)
    try:
        expr = pl.sql_expr(where)
    except pl.exceptions.PolarsError as e:
        raise ExportError(f"--where {where!r}: not an expression Polars' SQL can read ({_first_line(e)})") from None
    for name in expr.meta.root_names():
        if name not in schema:
            close = difflib.get_close_matches(name, list(schema), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; columns: {', '.join(schema)}"
            raise ExportError(f"--where {where!r}: unknown column {name!r}{hint}")
    empty = pl.LazyFrame(schema=schema)
    try:
        dtype = empty.select(expr.alias("_where")).collect_schema()["_where"]
        if dtype == pl.Boolean:
            empty.filter(expr).collect()
    except pl.exceptions.PolarsError as e:
        raise ExportError(f"--where {where!r}: {_first_line(e)}") from None
    if dtype != pl.Boolean:
        raise ExportError(f"--where {where!r}: gives {dtype}, not true/false; compare it, e.g. `{where} > 0.5`")
    return expr


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def check_balance_column(name: str, schema: pl.Schema) -> None:
    """--balance needs a flat label column (string, boolean or integer) of the record."""
    if name not in schema:
        close = difflib.get_close_matches(name, list(schema), n=3)
        raise ExportError(f"--balance {name!r}: no such column" + (f"; did you mean {', '.join(close)}?" if close else ""))
    dtype = schema[name]
    if not (dtype in (pl.String, pl.Boolean, pl.Categorical) or dtype.is_integer()):
        raise ExportError(f"--balance {name!r}: a {dtype} column; balance by a label column (string, bool, integer)")


def plan(lf: pl.LazyFrame, spec: ExportSpec) -> tuple[pl.DataFrame, dict[str, int]]:
    """The (source, id) keys to export, decided on a first pass that reads only the key and label columns.

    Returns the keys and a report: records matching --where, after --max-per-source, after --balance
    (and how many had a null label), after --sample. Memory: one row of keys per matching record.
    """
    cols = list(dict.fromkeys([*KEY, *([spec.balance] if spec.balance else [])]))
    keys = lf.select(cols).collect(engine="streaming").sort(list(KEY))
    report = {"matched": keys.height}
    rng = np.random.default_rng(spec.seed)
    keys = keys.with_columns(_draw=pl.Series(rng.permutation(keys.height), dtype=pl.Int64))
    if spec.max_per_source is not None:
        keys = keys.filter(pl.col("_draw").rank("ordinal").over("source") <= spec.max_per_source)
        report["after_max_per_source"] = keys.height
    if spec.balance is not None:
        label = pl.col(spec.balance)
        report["null_label"] = keys.select(label.is_null().sum()).item()
        keys = keys.filter(label.is_not_null())
        counts = keys.group_by(spec.balance).len()
        per_label = int(counts["len"].min()) if counts.height else 0
        if spec.sample is not None and counts.height:
            per_label = min(per_label, max(1, spec.sample // counts.height))
        keys = keys.filter(pl.col("_draw").rank("ordinal").over(spec.balance) <= per_label)
        report.update(labels=counts.height, per_label=per_label, after_balance=keys.height)
    if spec.sample is not None:
        keys = keys.sort("_draw").head(spec.sample)
        report["after_sample"] = keys.height
    return keys.select(KEY), report
