"""Peak memory of curate's global dedup stage (dedup_global) for a million short documents.

1. Generate ``--docs`` (default 1,000,000) short documents of 40–120 characters, recombined from real
   sentences of ``../shared/data`` (SMILECHAT, EmoLLM, the ChineseWebText CommonCrawl sample; read in
   place, never copied into the repo), ``--dup-frac`` (10%) of them copies of an earlier document: a fifth
   exact, the rest with 1–2 characters substituted. Written as two JSONL files in a temporary folder.
2. per_record without Ray, two processes: curate's reader (``read_file``, 5,000-row chunks) →
   the per_record phase (normalise, exact hash, MinHash signature and band keys; ``rules: []``) →
   ``write_checkpoint``: the same checkpoints a run writes to ``OUT/_work/per_record``.
3. dedup_global, measured, in a fresh process: ``curate.engine.session.init_ray(num_cpus=2)``, then
   ``curate.stages.dedup_global.dedup_global(checkpoints, DedupSpec(), work, RayEngine)`` (threshold 0.8, 128 perms, 12 × 10
   bands), while a background thread samples every ``--interval`` seconds:

   * the driver's RSS and USS (and its ``getrusage`` high-water mark),
   * the USS of every process of this Ray instance (raylet, GCS, workers: the driver's process tree,
     so other Ray instances on the machine are not counted),
   * the Ray object store: the blocks allocated to this instance's plasma file in /dev/shm (read
     through the raylet's file descriptor).

   Total = driver USS + Ray processes' USS + object store. The baseline is the median over the second
   before dedup_global starts (Ray up, imports done); the dedup_global figure is peak total − baseline.
4. The input itself is the in-memory Arrow size of the checkpoint columns dedup_global reads: the record
   keys (``source_file, source_line, id, exact_hash, _text_chars, drop_reason``) and the band keys of
   every row, plus what it reads of the candidate-edge nodes (their texts since curate verifies
   candidates exactly; their signatures before that).

It prints the peaks, the breakdown at the peak, and MB per million documents beyond the input, against
the target (< 1 GB per million documents). With ``--proposal`` it also measures, each in a fresh
process, dedup_global without Ray (the same function on ``curate.engine.local.LocalEngine``: all band rows
in one block) and checks that its decisions equal the Ray run's.

Usage::

    python bench/dedup_memory.py [--docs 1000000] [--proposal] [--json mem.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
_SPLIT = re.compile(r"[。！？!?；;\n]+")
MB = 1e6


# ---------------------------------------------------------------- documents


def _sentences() -> list[str]:
    texts = []
    with open(SHARED / "smilechat" / "dialogues.jsonl", encoding="utf-8") as f:
        texts += [t["content"] for line in f for t in json.loads(line)["turns"]]
    for conv in json.loads((SHARED / "emollm" / "data.json").read_text(encoding="utf-8")):
        texts += [turn[k] for turn in conv["conversation"] for k in ("input", "output") if turn.get(k)]
    with open(SHARED / "web" / "cwt-commoncrawl-sample.jsonl", encoding="utf-8") as f:
        texts += [json.loads(line)["raw_content"] for line in f]
    out = set()
    for t in texts:
        out.update(s.strip() for s in _SPLIT.split(t) if 6 <= len(s.strip()) <= 60)
    return sorted(out)


def generate(work: Path, n_docs: int, dup_frac: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    sents = _sentences()
    docs: list[str] = []
    n_exact = n_near = 0
    for _ in range(n_docs):
        if docs and rng.random() < dup_frac:
            src = docs[rng.randrange(len(docs))]
            if rng.random() < 0.2:
                docs.append(src)
                n_exact += 1
                continue
            chars = list(src)
            for _ in range(rng.randint(1, 2)):
                chars[rng.randrange(len(chars))] = rng.choice(src)
            docs.append("".join(chars))
            n_near += 1
            continue
        target = rng.randint(40, 120)
        parts, size = [], 0
        while size < target:
            s = rng.choice(sents)
            parts.append(s)
            size += len(s) + 1
        docs.append("。".join(parts)[:target])
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    half = len(docs) // 2
    for k, part in enumerate((docs[:half], docs[half:])):
        with open(corpus / f"part-{k}.jsonl", "w", encoding="utf-8") as f:
            for i, text in enumerate(part):
                f.write(json.dumps({"id": f"m{k}-{i:07d}", "text": text}, ensure_ascii=False) + "\n")
    return {"docs": len(docs), "mb": sum(len(d.encode()) for d in docs) / MB, "planted_exact": n_exact,
            "planted_near": n_near, "sentence_pool": len(sents)}


# ---------------------------------------------------------------- per_record (checkpoints)


def _phase_a_file(path: str, out: str) -> list[str]:
    from curate.io.readers import read_file
    from curate.io.writer import write_checkpoint
    from curate.job import parse_job
    from curate.run import PER_RECORD, settings_of
    from curate.stages.base import PhaseRunner

    job = parse_job({"name": "mem", "output": out, "rules": [],
                     "inputs": [{"name": "mem", "path": path, "kind": "web", "id_field": "id"}]}, Path(out))
    spec, per_record = job.inputs[0], PhaseRunner(PER_RECORD, settings_of(job))
    names = []
    for k, t in enumerate(read_file(path, spec, rel_name=os.path.basename(path), max_record_bytes=job.max_record_bytes,
                                    chunk_rows=job.shard_rows)):
        name = f"{Path(path).stem}-{k:05d}"
        write_checkpoint(Path(out), name, per_record.apply(t))
        names.append(str(Path(out) / f"{name}.parquet"))
    return names


def per_record(work: Path) -> list[str]:
    out = work / "a"
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p) for p in (work / "corpus").glob("*.jsonl"))
    with ProcessPoolExecutor(2) as ex:
        return sorted(p for names in ex.map(_phase_a_file, files, [str(out)] * len(files)) for p in names)


# ---------------------------------------------------------------- dedup_global, measured


class Sampler(threading.Thread):
    """Samples driver, Ray processes and object store memory until stopped."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        import psutil

        self.psutil, self.interval = psutil, interval
        self.me = psutil.Process()
        self.samples: list[dict[str, float]] = []
        self.marks: dict[str, int] = {}
        self._halt = threading.Event()

    def _plasma_bytes(self, procs: list[Any]) -> int:
        for p in procs:
            try:
                if p.name() != "raylet":
                    continue
                for fd in os.listdir(f"/proc/{p.pid}/fd"):
                    target = os.readlink(f"/proc/{p.pid}/fd/{fd}")
                    if "plasma" in target:
                        return os.stat(f"/proc/{p.pid}/fd/{fd}").st_blocks * 512
            except (OSError, self.psutil.Error):
                continue
        return 0

    def sample(self) -> dict[str, float]:
        me = self.me.memory_full_info()
        procs = self.me.children(recursive=True)
        ray_uss, ray_n, by_name = 0, 0, {}
        for p in procs:
            try:
                uss = p.memory_full_info().uss
                name = p.name()
            except self.psutil.Error:
                continue
            ray_uss += uss
            ray_n += 1
            n, b = by_name.get(name, (0, 0))
            by_name[name] = (n + 1, b + uss)
        store = self._plasma_bytes(procs)
        return {"t": time.perf_counter(), "driver_rss": me.rss, "driver_uss": me.uss, "ray_uss": ray_uss,
                "ray_procs": ray_n, "store": store, "total": me.uss + ray_uss + store, "by_name": by_name}

    def mark(self, name: str) -> None:
        self.marks[name] = len(self.samples)

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(self.sample())
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.samples.append(self.sample())


def _finish(sampler: Sampler, interval: float, before: float) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Stop sampling; return the samples of the `before` seconds preceding the start mark, and those during."""
    sampler.mark("end")
    sampler.stop()
    s, marks = sampler.samples, sampler.marks
    base = s[max(0, marks["start"] - int(before / interval)) : marks["start"] + 1]
    return base, s[marks["start"] : marks["end"] + 1] or s[-1:]


def measure_phase_b(work: Path, interval: float, warm: bool = False) -> dict[str, Any]:
    import resource

    from curate.engine.plans import RayEngine
    from curate.engine.session import init_ray
    from curate.job import DedupSpec
    from curate.stages.dedup_global import dedup_global

    checkpoints = sorted(str(p) for p in (work / "a").glob("*.parquet"))
    engine = RayEngine(init_ray(num_cpus=2)["cpus"])
    import polars  # noqa: F401 - what dedup_global imports, so the baseline has it
    import scipy.sparse.csgraph  # noqa: F401

    if warm:
        # In `curate run`, dedup_global starts on the Ray workers per_record already used (libraries imported, Ray
        # Data's actors up); here per_record ran without Ray, so warm them on two checkpoints first.
        warm_dir = work / "warm"
        warm_dir.mkdir(exist_ok=True)
        dedup_global(checkpoints[:2], DedupSpec(), warm_dir, engine)

    sampler = Sampler(interval)
    sampler.start()
    time.sleep(1.5)
    sampler.mark("start")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    _, report = dedup_global(checkpoints, DedupSpec(), work, engine)
    seconds = time.perf_counter() - t0
    base, during = _finish(sampler, interval, before=1.0)
    baseline = {k: statistics.median(x[k] for x in base) for k in ("driver_rss", "driver_uss", "ray_uss", "store", "total")}
    peak = max(during, key=lambda x: x["total"])
    return {"seconds": seconds, "report": report, "samples": len(during), "interval": interval,
            "baseline": baseline, "at_peak": peak,
            "peak": {k: max(x[k] for x in during) for k in ("driver_rss", "driver_uss", "ray_uss", "store", "total")},
            "driver_maxrss_before": rss_before,
            "driver_maxrss_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def measure_without_ray(work: Path, interval: float) -> dict[str, Any]:
    """dedup_global in this process, no Ray (`curate.engine.local.LocalEngine`): a prototype of the fix."""
    import polars  # noqa: F401
    import scipy.sparse.csgraph  # noqa: F401

    from curate.engine.local import LocalEngine
    from curate.job import DedupSpec
    from curate.stages.dedup_global import dedup_global

    checkpoints = sorted(str(p) for p in (work / "a").glob("*.parquet"))
    sampler = Sampler(interval)
    sampler.start()
    time.sleep(1.0)
    sampler.mark("start")
    t0 = time.perf_counter()
    noray = work / "noray"
    noray.mkdir(exist_ok=True)
    _, report = dedup_global(checkpoints, DedupSpec(), noray, LocalEngine())
    seconds = time.perf_counter() - t0
    base, during = _finish(sampler, interval, before=0.8)
    return {"seconds": seconds, "report": report,
            "baseline": statistics.median(x["total"] for x in base), "peak": max(x["total"] for x in during)}


def edge_nodes(work: Path) -> Any:
    """Distinct nodes of the candidate edges (what dedup_global reads signatures or texts of), without Ray."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.stages import dedup

    rows = pa.concat_tables([dedup.band_rows(pq.read_table(p, columns=["drop_reason", "exact_hash", dedup.BANDS]))
                             for p in sorted((work / "a").glob("*.parquet"))])
    edges = pl.from_arrow(dedup.bucket_edges(rows))
    return pl.concat([edges["a"], edges["b"]]).unique()


def input_bytes(work: Path, nodes: Any) -> dict[str, Any]:
    """In-memory Arrow size of what dedup_global reads from the checkpoints: record keys and band keys of every
    row, and the signatures (older curate) or the texts (since exact verification) of the edge nodes."""
    import polars as pl
    import pyarrow.parquet as pq

    keys = ["source_file", "source_line", "id", "exact_hash", "_text_chars", "drop_reason"]
    ckpts = sorted((work / "a").glob("*.parquet"))
    has_sig = "_minhash" in pq.read_schema(ckpts[0]).names
    extra = "_minhash" if has_sig else "text"
    k_bytes = b_bytes = x_bytes = rows = 0
    for p in ckpts:
        t = pq.read_table(p, columns=[*keys, "_bands", extra])
        rows += t.num_rows
        k_bytes += t.select(keys).nbytes
        b_bytes += t.column("_bands").nbytes
        if len(nodes):
            sel = pl.from_arrow(t.select(["exact_hash", extra])).filter(pl.col("exact_hash").is_in(nodes.implode()))
            x_bytes += sel.to_arrow().column(extra).nbytes
    return {"rows": rows, "keys": k_bytes, "bands": b_bytes, "of_nodes": x_bytes, "what_of_nodes": extra,
            "total": k_bytes + b_bytes + x_bytes}


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--dup-frac", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--interval", type=float, default=0.1, help="sampling interval, seconds")
    ap.add_argument("--work", help="work folder (default: a temporary one, removed at the end); reused if it has checkpoints")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--cold", action="store_true",
                    help="start dedup_global on cold Ray workers (default: warm them first on two checkpoints, as per_record "
                         "does in a real run, so library imports and Ray Data's actors are in the baseline)")
    ap.add_argument("--proposal", action="store_true",
                    help="also measure dedup_global without Ray (all band rows at once, and band by band): the proposed fix")
    args = ap.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="curate-bench-dedupmem-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        gen: dict[str, Any] = {}
        if not list((work / "a").glob("*.parquet")):
            t0 = time.perf_counter()
            gen = generate(work, args.docs, args.dup_frac, args.seed)
            t1 = time.perf_counter()
            print(f"generated {gen['docs']:,} documents, {gen['mb']:.1f} MB, in {t1 - t0:.1f} s", file=sys.stderr)
            n = len(per_record(work))
            print(f"per_record: {n} checkpoints in {time.perf_counter() - t1:.1f} s", file=sys.stderr)
        out = work / "dedup_global.json"
        p = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_phase_b", str(work), str(args.interval),
                            str(out), "cold" if args.cold else "warm"], capture_output=True, text=True)
        if p.returncode != 0 or not out.exists():
            sys.exit(f"dedup_global failed ({p.returncode}):\n{p.stderr[-3000:]}")
        res = json.loads(out.read_text())
        rep = res["report"]
        inp = input_bytes(work, edge_nodes(work) if rep.get("candidate_edges") else [])
        docs = inp["rows"]
        per_m = 1e6 / docs
        inc = res["peak"]["total"] - res["baseline"]["total"]
        net = inc - inp["total"]
        b, pk, at = res["baseline"], res["peak"], res["at_peak"]
        lines = [
            f"dedup_global (dedup_global) on {docs:,} documents ({len(list((work / 'a').glob('*.parquet')))} checkpoints): "
            f"{res['seconds']:.1f} s; {rep['live_records']:,} live, {rep['distinct_texts']:,} distinct texts, "
            f"{rep.get('candidate_edges', 0):,} candidate / {rep.get('verified_edges', 0):,} verified edges, "
            f"{rep['duplicates']:,} duplicates in {rep['clusters']:,} clusters; {rep.get('band_rows', 0):,} band rows grouped "
            f"in {len(rep.get('band_passes', [[0, 0]]))} pass(es) of bands {rep.get('band_passes')}, "
            f"{'each by a Ray hash shuffle' if rep.get('hash_shuffle') else 'each in one block'}",
            "",
            "| memory (MB) | baseline | peak | at the peak of the total | peak − baseline |",
            "|---|---|---|---|---|",
        ]
        for k, label in (("driver_rss", "driver RSS"), ("driver_uss", "driver USS"), ("ray_uss", "Ray processes USS"),
                         ("store", "object store (plasma, allocated)"), ("total", "total (driver USS + Ray USS + store)")):
            lines.append(f"| {label} | {b[k] / MB:,.0f} | {pk[k] / MB:,.0f} | {at[k] / MB:,.0f} | {(pk[k] - b[k]) / MB:,.0f} |")
        lines += [
            f"| driver getrusage high-water | {res['driver_maxrss_before'] / MB:,.0f} | {res['driver_maxrss_after'] / MB:,.0f} | | "
            f"{(res['driver_maxrss_after'] - res['driver_maxrss_before']) / MB:,.0f} |",
            "",
            f"Input dedup_global reads (Arrow, in memory): {inp['total'] / MB:,.0f} MB (record keys {inp['keys'] / MB:,.0f}, "
            f"band keys {inp['bands'] / MB:,.0f}, {inp['what_of_nodes']} of the candidate-edge nodes "
            f"{inp['of_nodes'] / MB:,.0f}; exact-duplicate rows read more than once are counted once per row)",
            f"dedup_global memory beyond the input: {inc / MB:,.0f} − {inp['total'] / MB:,.0f} = {net / MB:,.0f} MB, i.e. "
            f"{net / MB * per_m:,.0f} MB per million documents (target < 1,000: {'met' if net * per_m < 1e9 else 'NOT met'}); "
            f"without subtracting the input: {inc / MB * per_m:,.0f} MB per million",
            f"Ray processes at the peak ({at['ray_procs']}, USS by process title): "
            + ", ".join(f"{k} ×{n} {b / MB:,.0f} MB" for k, (n, b) in sorted(at["by_name"].items(), key=lambda kv: -kv[1][1])),
            f"{res['samples']} samples every {res['interval']} s",
        ]
        if args.proposal:
            import polars as pl

            keys = ["source_file", "source_line", "dup_of"]
            ref = pl.read_parquet(work / "dedup.parquet").select(keys).sort(keys)
            res["without_ray"] = {}
            lines.append("")
            for mode in ("all",):
                out2 = work / f"noray-{mode}.json"
                p = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_noray", str(work),
                                    str(args.interval), str(out2)], capture_output=True, text=True)
                label = "all band rows in one block (curate.engine.local.LocalEngine)"
                if p.returncode != 0 or not out2.exists():
                    lines.append(f"dedup_global without Ray, {label}: failed ({p.returncode}): {p.stderr[-1500:]}")
                    continue
                r2 = json.loads(out2.read_text())
                res["without_ray"][mode] = r2
                same = ref.equals(pl.read_parquet(work / "noray" / "dedup.parquet").select(keys).sort(keys))
                inc2 = r2["peak"] - r2["baseline"]
                lines.append(f"dedup_global without Ray (prototype, bench only), {label}: {r2['seconds']:.1f} s, "
                             f"peak − baseline {inc2 / MB:,.0f} MB, beyond the input "
                             f"{(inc2 - inp['total']) / MB * per_m:,.0f} MB per million; "
                             f"{r2['report']['duplicates']:,} duplicates; decisions identical to dedup_global's: {same}")
        print("\n".join(lines))
        if args.json:
            Path(args.json).write_text(json.dumps({"generation": gen, "dedup_global": res, "input": inp,
                                                   "mb_per_million_beyond_input": net / MB * per_m,
                                                   "mb_per_million_total_increase": inc / MB * per_m}, indent=1))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] in (["_phase_b"], ["_noray"]):
        _work, _interval, _out = Path(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
        if sys.argv[1] == "_phase_b":
            _out.write_text(json.dumps(measure_phase_b(_work, _interval, warm=sys.argv[5:6] == ["warm"])))
        else:
            _out.write_text(json.dumps(measure_without_ray(_work, _interval)))
    else:
        main()
