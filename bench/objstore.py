"""Object storage against local disk: the same ``curate run`` on bench/e2e.py's corpus, its inputs and OUT on a
local S3-compatible server, then on local disk, in the same sitting; a table of both and the ratio.

**Corpus**: bench/e2e.py's (``--mb``, default 100 MB, built once in its work folder and reused; the same
parameters as e2e.py's defaults otherwise). **Store**: moto in server mode (``tests/s3server.py``: its own
process, a free loopback port, in memory), the inputs uploaded to ``s3://BUCKET/corpus/`` before the clock
starts. **Runs**: the real CLI, ``curate run JOB -o OUT``, each with a private ``RAY_TMPDIR`` (its own local
Ray, ``ray.num_cpus: --cpus``); the disk run reads ``corpus/ours/*.jsonl`` and writes a local folder, the
store run reads ``s3://BUCKET/corpus/*.jsonl`` and writes ``s3://BUCKET/out-N``. ``--rounds`` repeats them
in ABBA order (disk, store, store, disk, ...) so that a drift in the machine's load falls on both. Every run's
kept shards must be the same bytes (checked: a store run that differs is an error, not a timing).

Reported per run: wall seconds of the whole process, the manifest's phase timings (per_record, dedup_global,
finish), MB/s of input, the CPU seconds of the run's process tree (bench/e2e.py's sampler) and of the store's
process meanwhile; then the ratio store / disk of the medians. On a shared, loaded machine wall times follow
the other jobs' load (and a run of more processes gets a larger share of the CPUs): the CPU seconds, the
store's included, are the steadier measure of what the store costs. moto is a Python server holding objects
in memory: every request costs a Python request handler on the same two cores, so this is an upper bound on
what a real S3 or MinIO in another machine costs curate; the machine's load average is printed with it.

Usage::

    python bench/objstore.py                     # 100 MB, one round
    python bench/objstore.py --mb 20 --rounds 2  # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402 - bench/ is not a package
from dedup import add_planting_args  # noqa: E402

from tests.s3server import S3Server, start_s3_server  # noqa: E402

PHASES = ("per_record", "dedup_global", "finish")


def corpus(mb: float, work: str | None) -> tuple[Path, dict[str, Any]]:
    """bench/e2e.py's corpus of `mb` MB with its default parameters: its folder and summary."""
    ap = argparse.ArgumentParser()
    add_planting_args(ap)
    args = ap.parse_args([])
    args.mb, args.dialogue_frac, args.spam_frac = mb, 0.5, 0.05
    params = e2e.corpus_params(args)
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    root = Path(work) if work else Path(tempfile.gettempdir()) / f"curate-bench-e2e-{key}"
    return root / "corpus", e2e.ensure_corpus(root / "corpus", params)


def write_job(corpus_dir: Path, inputs_base: str, out: str, cpus: int, path: Path) -> Path:
    """The e2e job with its inputs under `inputs_base` (a folder or a URL) and OUT at `out`."""
    import yaml

    job = json.loads((corpus_dir / "job.json").read_text())
    local = str(corpus_dir / "ours")
    for spec in job["inputs"]:
        spec["path"] = inputs_base + spec["path"][len(local):]
    job.update(output=out, ray={"num_cpus": cpus})
    path.write_text(yaml.safe_dump(job, allow_unicode=True, sort_keys=False))
    return path


def run(job: Path, out: str, env: dict[str, str], log: Path, store: S3Server) -> dict[str, float]:
    """`curate run JOB -o OUT` with its own Ray: wall seconds, the CPU seconds of its process tree (the CLI,
    its Ray, the workers; e2e.py's sampler) and those the store's process used meanwhile."""
    import psutil

    ray_tmp = tempfile.mkdtemp(prefix="cobj-", dir="/tmp")  # short: Ray's socket paths have a length limit
    cmd = [sys.executable, "-m", "curate.cli", "run", str(job), "-o", out]
    moto = psutil.Process(store.proc.pid)
    before = sum(moto.cpu_times()[:2])
    try:
        r = e2e.run_monitored(cmd, {**env, "RAY_TMPDIR": ray_tmp}, 0.5, 4 * 3600, log)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    if r["rc"]:
        raise SystemExit(f"{' '.join(cmd)} failed ({r['rc']}):\n" + log.read_text(errors="replace")[-3000:])
    return {"wall": r["seconds"], "cpu": r["cpu_seconds"], "store_cpu": sum(moto.cpu_times()[:2]) - before}


def outputs(out: str, store: S3Server | None) -> tuple[dict[str, Any], dict[str, str]]:
    """A run's manifest and the sha256 of its kept shards."""
    if store is not None:
        objects = store.objects(out)
    else:
        root = Path(out)
        objects = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    shards = {k: hashlib.sha256(v).hexdigest() for k, v in objects.items() if k.startswith(("data/", "rejects/"))}
    return json.loads(objects["manifest.json"]), shards


def table(rows: list[dict[str, Any]], mb: float) -> str:
    head = (f"{'run':<10} {'wall s':>7} " + " ".join(f"{p + ' s':>15}" for p in PHASES)
            + f" {'MB/s':>6} {'CPU s':>7} {'store CPU s':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['name']:<10} {r['wall']:>7.1f} " + " ".join(f"{r['timings'][p]:>15.1f}" for p in PHASES)
                     + f" {mb / r['wall']:>6.2f} {r['cpu']:>7.1f} {r['store_cpu']:>11.1f}")

    def median(where: str, key: str) -> float:
        return statistics.median((r["timings"][key] if key in PHASES else r[key]) for r in rows if r["where"] == where)

    ratio = {k: median("s3", k) / median("disk", k) for k in ("wall", *PHASES)}
    cpu = (median("s3", "cpu") + median("s3", "store_cpu")) / median("disk", "cpu")
    lines += ["", "ratio s3/disk (medians): wall " + f"{ratio['wall']:.2f}; " + ", ".join(
        f"{p} {ratio[p]:.2f}" for p in PHASES) + f"; CPU seconds (curate + the store's process) {cpu:.2f}"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=100.0, help="corpus size, MB of input files (default 100)")
    ap.add_argument("--cpus", type=int, default=2, help="Ray num_cpus of each run")
    ap.add_argument("--rounds", type=int, default=1, help="disk and store runs, alternating, this many each")
    ap.add_argument("--work", help="bench/e2e.py's work folder (default: its own, by the corpus parameters)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    corpus_dir, summary = corpus(args.mb, args.work)
    mb = summary["bytes"] / 1e6
    scratch = Path(tempfile.mkdtemp(prefix="curate-bench-objstore-"))
    load_start = os.getloadavg()
    store = start_s3_server(scratch / "moto.log")
    try:
        bucket = store.bucket()
        t0 = time.perf_counter()
        store.upload(corpus_dir / "ours", f"s3://{bucket}/corpus")
        upload = time.perf_counter() - t0
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "AWS_"))}
        env.update(store.env, RAY_ENABLE_UV_RUN_RUNTIME_ENV="0")
        rows: list[dict[str, Any]] = []
        shards_of: dict[str, dict[str, str]] = {}  # the first run's shard hashes, per place
        for i in range(args.rounds):
            for where in ("disk", "s3") if i % 2 == 0 else ("s3", "disk"):  # ABBA: a drift in load falls on both
                out = str(scratch / f"out-{i}") if where == "disk" else f"s3://{bucket}/out-{i}"
                base = str(corpus_dir / "ours") if where == "disk" else f"s3://{bucket}/corpus"
                job = write_job(corpus_dir, base, out, args.cpus, scratch / f"{where}-{i}.yaml")
                print(f"{where} round {i + 1}: curate run {job} -o {out}", file=sys.stderr)
                took = run(job, out, env, scratch / f"{where}-{i}.log", store)
                manifest, shards = outputs(out, store if where == "s3" else None)
                if where == "disk":
                    shutil.rmtree(out, ignore_errors=True)
                # source_file names the inputs (a path, a URL): the bytes are compared between runs of one place,
                # the shard names and counts between the two
                if shards_of.setdefault(where, shards) != shards:
                    raise SystemExit(f"{where} round {i + 1}: its shards differ from round 1's")
                rows.append({"name": f"{where} #{i + 1}", "where": where, **took,
                             "timings": manifest["timings"], "records": manifest["totals"]["records_in"],
                             "kept": manifest["totals"]["kept"]})
        assert sorted(shards_of["disk"]) == sorted(shards_of["s3"]), "the same shard names"
        assert len({(r["records"], r["kept"]) for r in rows}) == 1, "the same counts"
    finally:
        store.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    load_end = os.getloadavg()
    print(f"\ncorpus: {mb:.1f} MB, {summary['files']} files, {summary['records']:,} records; "
          f"upload to the store before the runs: {upload:.1f} s (not counted)\n")
    print(table(rows, mb))
    print(f"\nload average (1/5/15 min) at start {load_start}, at end {load_end} on {os.cpu_count()} CPUs; "
          f"Ray num_cpus {args.cpus}; store: moto {_version('moto')} in server mode on loopback")
    if args.json:
        Path(args.json).write_text(json.dumps({"mb": mb, "rows": rows, "upload_seconds": upload,
                                               "load_start": load_start, "load_end": load_end}, indent=1))


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
