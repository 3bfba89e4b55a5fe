"""What `curate inspect` prints: schema, counts, a few rows and a per-column summary of shards, read lazily with Polars.

(Not named `inspect`: that would shadow the standard-library module.)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files behind PATH: a file, a folder of them, or a run folder (its data/ shards)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if (p / "data").is_dir():
        p = p / "data"
    files = sorted(p.glob("*.parquet"))
    if not files and not (p / "manifest.json").exists() and p.name != "data":
        raise FileNotFoundError(f"no Parquet files at {path}")
    return files


def inspect_text(path: str | Path, rows: int = 3) -> str:
    """A report on the shards at PATH."""
    files = parquet_files(path)
    if not files:
        return f"0 rows: {path} holds no kept records (every record was rejected; see {Path(path).parent if Path(path).name == 'data' else Path(path)}/rejects)"
    lf = pl.scan_parquet(files)
    schema = lf.collect_schema()
    n = lf.select(pl.len()).collect().item()
    out = [f"{len(files)} file(s), {n} rows, {len(schema)} columns", "", "columns:"]
    numeric = [c for c, t in schema.items() if t.is_numeric()]
    strings = [c for c, t in schema.items() if t == pl.String]
    nulls = lf.select(pl.all().null_count()).collect().row(0, named=True)
    summary = lf.select(
        [pl.col(c).mean().alias(f"{c}__mean") for c in numeric]
        + [pl.col(c).min().alias(f"{c}__min") for c in numeric]
        + [pl.col(c).max().alias(f"{c}__max") for c in numeric]
    ).collect().row(0, named=True) if numeric else {}
    for c, t in schema.items():
        line = f"  {c:26s} {str(t)[:40]:40s} nulls {nulls[c]}"
        if c in numeric and nulls[c] < n:
            line += f"  min {summary[c + '__min']:.4g}  mean {summary[c + '__mean']:.4g}  max {summary[c + '__max']:.4g}"
        out.append(line)
    for c in ("kind", "source", "drop_reason"):
        if c in strings:
            counts = lf.group_by(c).len().sort("len", descending=True).limit(10).collect()
            out.append(f"\n{c}: " + ", ".join(f"{r[c]}={r['len']}" for r in counts.iter_rows(named=True)))
    out += ["", f"first {rows} rows:"]
    cols = [c for c in ("id", "kind", "source", "drop_reason", "text") if c in schema]
    for r in lf.select(cols).limit(rows).collect().iter_rows(named=True):
        text = (r.get("text") or "").replace("\n", " / ")
        r["text"] = text[:100] + ("…" if len(text) > 100 else "")
        out.append("  " + "  ".join(f"{k}={v}" for k, v in r.items()))
    return "\n".join(out)
