"""Throughput and peak memory of `curate export` on ~1 GB of shards, with a naive in-memory baseline beside it.

1. A real run: `curate run` on SMILECHAT (``../shared/data/smilechat/dialogues.jsonl``, read in place) with
   the shipped scores and the strategy tag, into ``WORK/run`` (skipped when it already exists, or given
   with ``--run``).
2. ~``--mb`` MB of shards: copies of the run's shards with distinct ids (``id`` + ``~k``; every other
   column unchanged), written with the record schema into ``WORK/shards/data`` beside the run's
   manifest.json. Generated data lives under ``WORK`` (default ``out/bench-export``, ignored by git).
3. For each format (sharegpt, parquet): ``curate export WORK/shards --where WHERE`` in a subprocess, and
   the baseline in a subprocess: ``pl.read_parquet`` of every shard, filter, then the same conversion
   (curate's converter on the whole frame) and one write. A thread samples the RSS of the process and
   its children every 20 ms; ``ru_maxrss`` of the children is reported too. Then a sharegpt export with
   ``--sample`` and ``--max-per-source`` (a first pass over the keys, then the streaming pass), ours only.

Prints a table: MB of shards, rows, seconds, MB/s, peak RSS, and baseline ÷ ours for both.

Usage::

    python bench/export.py [--mb 1000] [--work out/bench-export] [--where EXPR] [--formats sharegpt,parquet]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PY = sys.executable
CURATE = [PY, "-m", "curate.cli"]
MB = 1e6
WHERE = "quality > 0.6 and toxicity < 0.3 and esc_relevance > 0.5"

JOB = """\
name: bench-export-smilechat
inputs:
  - name: smilechat
    path: {path}
    kind: dialogue
    id_field: id
    license: CC0-1.0
    dialogue: {{style: turns, roles: {{client: seeker, counselor: supporter}}}}
rules: [default.yaml, dialogue.yaml]
tags: {{strategy: strategy.yaml}}
shard_rows: 2000
"""

BASELINE = """\
import sys, polars as pl
from pathlib import Path
from curate.export.convert import CONVERTERS
from curate.export.spec import ExportSpec
src, fmt, where, to = sys.argv[1:5]
df = pl.read_parquet(str(Path(src) / "data" / "*.parquet"))
df = df.filter(pl.sql_expr(where))
Path(to).mkdir(parents=True, exist_ok=True)
if fmt == "parquet":
    df.write_parquet(Path(to) / "all.parquet", compression="zstd")
else:
    out = CONVERTERS[fmt](df, ExportSpec(Path(src), Path(to), format=fmt))
    out.rows.write_ndjson(Path(to) / "all.jsonl")
print(df.height)
"""


def real_run(work: Path, run: Path | None) -> Path:
    """The run whose shards are copied: --run, or a fresh `curate run` over all of SMILECHAT."""
    if run is not None:
        return run
    out = work / "run"
    if (out / "manifest.json").is_file():
        return out
    job = work / "job.yaml"
    job.parent.mkdir(parents=True, exist_ok=True)
    job.write_text(JOB.format(path=SHARED / "smilechat" / "dialogues.jsonl"), encoding="utf-8")
    t0 = time.perf_counter()
    subprocess.run([*CURATE, "run", str(job), "-o", str(out), "--overwrite"], check=True, cwd=REPO)
    print(f"run: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def replicate(run: Path, target: Path, mb: float) -> tuple[float, int]:
    """Copies of the run's shards with distinct ids until `mb` MB; returns (MB written, rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data = target / "data"
    if data.is_dir():
        files = sorted(data.glob("*.parquet"))
        size = sum(f.stat().st_size for f in files) / MB
        if size >= mb * 0.98:
            return size, sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        shutil.rmtree(target)
    data.mkdir(parents=True)
    shutil.copy(run / "manifest.json", target / "manifest.json")
    shards = sorted((run / "data").glob("*.parquet"))
    size, rows, k = 0.0, 0, 0
    while size < mb:
        for shard in shards:
            table = pq.read_table(shard)
            ids = pc.binary_join_element_wise(table["id"], pa.scalar(f"~{k}"), "")
            table = table.set_column(table.schema.get_field_index("id"), table.schema.field("id"), ids)
            path = data / f"copy{k:04d}-{shard.name}"
            pq.write_table(table, path, compression="zstd")
            size += path.stat().st_size / MB
            rows += table.num_rows
            if size >= mb:
                break
        k += 1
    return size, rows


def measure(cmd: list[str]) -> dict[str, float]:
    """Run `cmd`, sampling the RSS of it and its children; seconds, peak RSS (MB)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    ps = psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            try:
                rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    thread.join()
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return {"seconds": seconds, "peak_mb": peak / MB, "stdout": out.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=1000, help="MB of shards to export (default 1000)")
    ap.add_argument("--work", type=Path, default=REPO / "out" / "bench-export", help="generated data (git-ignored)")
    ap.add_argument("--run", type=Path, help="use this run's shards instead of a fresh SMILECHAT run")
    ap.add_argument("--where", default=WHERE)
    ap.add_argument("--formats", default="sharegpt,parquet")
    ap.add_argument("--sample", type=int, default=100_000,
                    help="also time a two-pass sharegpt export with --sample N --max-per-source (0: skip)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    run = real_run(args.work, args.run)
    shards = args.work / "shards"
    size, rows = replicate(run, shards, args.mb)
    print(f"shards: {size:,.0f} MB, {rows:,} rows in {shards}; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
          file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for fmt in args.formats.split(","):
            to = Path(tmp) / f"ours-{fmt}"
            ours = measure([*CURATE, "export", str(shards), "--to", str(to), "--format", fmt, "--where", args.where])
            summary = json.loads((to / "export.json").read_text(encoding="utf-8"))
            shutil.rmtree(to)
            row = {"format": fmt, "mb": size, "rows": rows, "selected": summary["selection"]["selected"],
                   "written": summary["counts"]["rows"], "ours": ours}
            if not args.no_baseline:
                base_to = Path(tmp) / f"base-{fmt}"
                row["baseline"] = measure([PY, "-c", BASELINE, str(shards), fmt, args.where, str(base_to)])
                shutil.rmtree(base_to, ignore_errors=True)
            results.append(row)
        if args.sample:
            to = Path(tmp) / "ours-sample"
            extra = ["--sample", str(args.sample), "--seed", "1", "--max-per-source", str(10 * args.sample)]
            ours = measure([*CURATE, "export", str(shards), "--to", str(to), "--format", "sharegpt", "--where",
                            args.where, *extra])
            summary = json.loads((to / "export.json").read_text(encoding="utf-8"))
            results.append({"format": f"sharegpt {' '.join(extra)}", "mb": size, "rows": rows,
                            "selected": summary["selection"]["selected"], "written": summary["counts"]["rows"],
                            "ours": ours})
    print(f"\nmax RSS of any child (getrusage): {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3:,.0f} MB")
    print("\n| format | contender | MB of shards | rows | selected | seconds | MB/s | peak RSS MB | baseline ÷ ours (time, RSS) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        for who in ("ours", "baseline"):
            if who not in r:
                continue
            m = r[who]
            ratio = ""
            if who == "baseline":
                ratio = f"{m['seconds'] / r['ours']['seconds']:.2f}×, {m['peak_mb'] / r['ours']['peak_mb']:.1f}×"
            name = "`curate export` (lazy scan, batches)" if who == "ours" else "`pl.read_parquet` all + filter + write"
            print(f"| {r['format']} | {name} | {r['mb']:,.0f} | {r['rows']:,} | {r['selected']:,} | {m['seconds']:.1f} | "
                  f"{r['mb'] / m['seconds']:.1f} | {m['peak_mb']:,.0f} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
