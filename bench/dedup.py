"""Near-duplicate removal: curate's MinHash against datasketch, datatrove and data-juicer, on the same texts.

The corpus is real Chinese text read in place from ``../shared/data`` (never copied into the repo):
SMILECHAT dialogues (turn contents joined by newlines), the ChineseWebText CommonCrawl sample
(``raw_content``) and EmoLLM conversations (``input``/``output`` turns joined by newlines), taken in a
seeded random order up to ``--mb`` (beyond the ~36 MB of real text, further documents are recombined
from 4–24 random real lines each); then ``--dup-frac`` of the documents get a planted copy: a quarter
exact, the rest with ``--edit-min``..``--edit-max`` of their characters substituted, deleted or
inserted. The true Jaccard similarity of each planted pair's character 5-gram sets is computed, so
recall on the planted pairs can be scored. The corpus is written as two JSONL files (``{"id", "text"}``)
in a temporary folder; every contender reads those.

Part A, signatures on one core (the process is pinned to one CPU and Polars / Arrow / BLAS are held to
one thread), all contenders on the same list of texts, warmed up on 200 documents first:

* ours: ``compact_text`` → ``to_codepoints`` → ``signatures`` (128 one-permutation MinHash values over
  character 5-grams), over batches of ``--batch`` documents, best of ``--repeat``;
* datasketch ``MinHash(num_perm=128)``: character 5-gram sets (lower-cased, whitespace removed, as UTF-8
  bytes) fed with ``update_batch`` (permutations shared, as ``bulk`` does) and with ``MinHash.bulk``;
* datatrove ``MinhashDedupSignature`` with 16 buckets × 8 hashes = 128 (its default is 14 × 8 = 112),
  64-bit xxhash (its default), ``get_shingles`` + ``get_signature`` per document (the stage's own work
  without its disk writes and sort, so the peer is timed at its fastest). Two tokenisations: a
  character tokenizer passed as ``language=`` (datatrove takes a ``WordTokenizer`` instance there):
  the same character 5-grams as ours; and its Chinese word tokenizer, ``language="zh_Hani"``
  (spaCy + jieba: word 5-grams). Note: ``language="zh"`` silently gets spaCy's multi-language
  tokenizer, which does not segment Chinese (datatrove 0.10.1 reads the string "FALSE" in its
  tokenizer table as true), so "zh_Hani" is used;
* data-juicer ``document_minhash_deduplicator`` ``compute_hash`` (character tokenization, window 5, 128
  permutations), once, as an extra row.

MB are 10^6 UTF-8 bytes of the input texts. Each row also reports the mean absolute error of the
signature's Jaccard estimate on the planted near-duplicate pairs against the true Jaccard.

Part B, end to end on the JSONL corpus (signatures → buckets → clusters → filtered output), each
contender in its own process after its imports, 2 CPUs for everyone:

* ours: ``curate.run.run_job`` on a one-input job (``kind: web``, ``rules: []``, default dedup:
  threshold 0.8, 128 perms, 5-grams, exact + near), JSONL → Parquet shards, on a local Ray with
  ``num_cpus=2``. Ray start-up is timed apart; the job runs twice (first = cold Ray workers, second =
  warm) and both are printed; the first run is the one compared;
* (ours, no Ray: the same stage lists as run_job — curate's reader, the per_record phase,
  ``write_checkpoint``, the global steps on ``curate.engine.local.LocalEngine``, the finish phase,
  ``write_shard`` — called in one process pinned to one CPU. Not a shipped path: it shows what the
  work costs without Ray, for the proposal in bench/README.md);
* datatrove: its local four-stage MinHash pipeline (``JsonlReader`` → ``MinhashDedupSignature`` →
  ``MinhashDedupBuckets`` → ``MinhashDedupCluster`` → ``MinhashDedupFilter`` → ``JsonlWriter``) with
  ``LocalPipelineExecutor``: 2 tasks / 2 workers for signatures and filter, 14 bucket tasks on 2
  workers, 1 cluster task; its default 14 × 8 hashes, character tokenizer;
* data-juicer: ``DocumentMinhashDeduplicator(tokenization="character", window_size=5,
  jaccard_threshold=0.8, num_permutations=128, num_proc=2)`` on a ``NestedDataset`` loaded with
  ``datasets.load_dataset("json")``: ``dataset.map(op.compute_hash, num_proc=2)`` then ``op.process``
  (what ``Deduplicator.run`` does, without its closing ``free_models()``, whose lazy loader would
  pip-install torch at run time; the bench also makes that installer raise), then ``to_json``.

datatrove's xxhash: it hashes ``str`` and pins ``xxhash<4`` in its ``processing`` extra; with curate's
xxhash 4 (bytes only) its step gets ``xxh64(text.encode())``, which is what xxhash 3 did inside.

It prints wall seconds, MB/s, documents removed as duplicates, recall on the planted pairs whose true
Jaccard is >= 0.8, the share of planted pairs below 0.8 removed anyway, and the ratios against the targets (signatures >= 10x datatrove; end to end >= 5x the
faster peer). The peers come from the ``bench`` extra (see bench/README.md); a peer that is not
installed is reported as such and skipped.

Usage::

    python bench/dedup.py [--mb 1000] [--sig-mb 5] [--skip datatrove-zh,datajuicer] [--json results.json]

The default 1 GB takes ~15 minutes on 2 CPUs (the peers ~8.5 of them); ``--mb 100`` takes ~3.
"""

from __future__ import annotations

import os
import sys

ONE_THREAD = ("POLARS_MAX_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "RAYON_NUM_THREADS", "ARROW_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TOKENIZERS_PARALLELISM")
if sys.argv[1:2] == ["_sig"] or sys.argv[1:3] == ["_e2e", "ours-inprocess"]:  # one core, set before imports
    for _var in ONE_THREAD:
        os.environ[_var] = "false" if _var == "TOKENIZERS_PARALLELISM" else "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NGRAM, NUM_PERM, THRESHOLD = 5, 128, 0.8
_WS = re.compile(r"\s+")

try:  # datatrove takes a WordTokenizer instance as `language`; module level so its workers can unpickle it
    from datatrove.utils.word_tokenizers import WordTokenizer as _WordTokenizer
except ImportError:  # datatrove not installed: its rows are skipped
    _WordTokenizer = object


def _xxh64_str(text: str) -> int:
    """datatrove's 64-bit shingle hash: xxhash 4 takes bytes only, xxhash 3 encoded str to UTF-8 itself.

    datatrove hands its hash function a str (``xxhash.xxh64_intdigest(" ".join(ngram))``) and its
    ``processing`` extra pins ``xxhash<4`` for that; curate installs xxhash 4, so the bench gives datatrove's
    step this equivalent function (same values as datatrove + xxhash 3, same work).
    """
    import xxhash

    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def _dt_signature_step(output_folder: str, config: Any, language: Any) -> Any:
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    step = MinhashDedupSignature(output_folder=output_folder, config=config, language=language)
    if config.hash_config.hash_fc == "xxhash" and config.hash_config.precision == 64:
        step._hash_func = _xxh64_str
    return step


def _no_auto_install() -> None:
    """data-juicer's LazyLoader pip/uv-installs missing modules at run time (after a dedup it imports torch
    to free GPU models, and would fetch a multi-GB CUDA build): forbid it in the bench."""
    from data_juicer.utils.lazy_loader import LazyLoader

    def refuse(cls: Any, package_spec: str, pip_args: Any = None) -> None:
        raise ImportError(f"bench: data-juicer tried to install {package_spec!r} at run time; refused")

    LazyLoader._install_package = classmethod(refuse)


class CharTokenizer(_WordTokenizer):
    """Every non-space character is a token: datatrove's n-grams become character n-grams, as ours."""

    def __init__(self) -> None:
        self.language = "zh-char"

    def word_tokenize(self, text: str) -> list[str]:
        return [c for c in text if not c.isspace()]

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


# ---------------------------------------------------------------- corpus


def _sources() -> list[str]:
    texts = []
    with open(SHARED / "smilechat" / "dialogues.jsonl", encoding="utf-8") as f:
        texts += ["\n".join(t["content"] for t in json.loads(line)["turns"]) for line in f]
    with open(SHARED / "web" / "cwt-commoncrawl-sample.jsonl", encoding="utf-8") as f:
        texts += [json.loads(line)["raw_content"] for line in f]
    for conv in json.loads((SHARED / "emollm" / "data.json").read_text(encoding="utf-8")):
        texts.append("\n".join(turn[k] for turn in conv["conversation"] for k in ("input", "output") if turn.get(k)))
    return [t for t in texts if t.strip()]


def char_shingles(text: str, n: int = NGRAM) -> set[bytes]:
    """Character n-grams of the lower-cased text without whitespace, as UTF-8 (the same shingles as ours)."""
    t = _WS.sub("", text.lower())
    if len(t) < n:
        return {t.encode()} if t else set()
    return {t[i : i + n].encode() for i in range(len(t) - n + 1)}


def true_jaccard(a: str, b: str) -> float:
    sa, sb = char_shingles(a), char_shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def mutate(text: str, rate: float, rng: random.Random) -> str:
    chars = list(text)
    pool = [c for c in chars if not c.isspace()] or ["的"]
    for _ in range(max(1, round(rate * len(chars)))):
        op, pos = rng.random(), rng.randrange(len(chars))
        if op < 0.5:
            chars[pos] = rng.choice(pool)
        elif op < 0.75 and len(chars) > 1:
            del chars[pos]
        else:
            chars.insert(pos, rng.choice(pool))
    return "".join(chars)


def build_corpus(work: Path, mb: float, dup_frac: float, edit_min: float, edit_max: float, seed: int) -> dict[str, Any]:
    """Write work/corpus/part-{0,1}.jsonl and work/planted.json; return a summary."""
    rng = random.Random(seed)
    texts = _sources()
    rng.shuffle(texts)
    budget = mb * 1e6 / (1 + dup_frac)
    base, size = [], 0
    for t in texts:
        if size >= budget:
            break
        base.append(t)
        size += len(t.encode())
    if size < budget:  # beyond the real text (~36 MB): new documents recombined from its real lines
        lines = [ln for t in texts for ln in t.split("\n") if len(ln.strip()) >= 10]
        while size < budget:
            t = "\n".join(rng.choice(lines) for _ in range(rng.randint(4, 24)))
            base.append(t)
            size += len(t.encode())
    docs = [(f"d{i:06d}", t) for i, t in enumerate(base)]
    planted = []
    for i in rng.sample(range(len(base)), round(dup_frac * len(base))):
        if rng.random() < 0.25:
            kind, rate, text = "exact", 0.0, base[i]
        else:
            kind, rate = "near", rng.uniform(edit_min, edit_max)
            text = mutate(base[i], rate, rng)
        vid = f"d{i:06d}-v"
        docs.append((vid, text))
        planted.append({"a": f"d{i:06d}", "b": vid, "kind": kind, "edit_rate": round(rate, 4),
                        "jaccard": round(true_jaccard(base[i], text), 4)})
    rng.shuffle(docs)
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    half = len(docs) // 2
    for k, part in enumerate((docs[:half], docs[half:])):
        with open(corpus / f"part-{k}.jsonl", "w", encoding="utf-8") as f:
            for did, text in part:
                f.write(json.dumps({"id": did, "text": text}, ensure_ascii=False) + "\n")
    (work / "planted.json").write_text(json.dumps(planted))
    total = sum(len(t.encode()) for _, t in docs)
    return {"docs": len(docs), "mb": total / 1e6, "base_docs": len(base), "planted": len(planted),
            "planted_exact": sum(p["kind"] == "exact" for p in planted),
            "planted_near_ge_threshold": sum(p["kind"] == "near" and p["jaccard"] >= THRESHOLD for p in planted),
            "planted_near_below": sum(p["kind"] == "near" and p["jaccard"] < THRESHOLD for p in planted)}


def read_corpus(work: Path) -> list[tuple[str, str]]:
    docs = []
    for p in sorted((work / "corpus").glob("*.jsonl")):
        with open(p, encoding="utf-8") as f:
            docs += [(d["id"], d["text"]) for d in map(json.loads, f)]
    return docs


def planted_recall(work: Path, removed: set[str]) -> dict[str, Any]:
    """Share of planted pairs (exact, or near with true Jaccard >= threshold) with one side removed."""
    planted = json.loads((work / "planted.json").read_text())
    hit = [p for p in planted if p["kind"] == "exact" or p["jaccard"] >= THRESHOLD]
    low = [p for p in planted if p["kind"] == "near" and p["jaccard"] < THRESHOLD]
    found = sum((p["a"] in removed) or (p["b"] in removed) for p in hit)
    found_low = sum((p["a"] in removed) or (p["b"] in removed) for p in low)
    return {"recall": found / len(hit) if hit else None, "below_threshold_removed": found_low / len(low) if low else None}


# ---------------------------------------------------------------- Part A: signatures on one core


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _timed(fn, repeat: int = 1) -> tuple[float, float, Any]:
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), _cpu()
        out = fn()
        w = time.perf_counter() - w0
        if w < best:
            best, cpu = w, _cpu() - c0
    return best, cpu, out


def part_a(work: Path, batch: int, repeat: int, sig_mb: float, skip: set[str]) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    docs = read_corpus(work)
    if sig_mb:  # both sides of the planted near pairs first (for the Jaccard check), then the rest, in file order
        in_pairs = {d for p in json.loads((work / "planted.json").read_text()) if p["kind"] == "near"
                    for d in (p["a"], p["b"])}
        ordered = [d for d in docs if d[0] in in_pairs] + [d for d in docs if d[0] not in in_pairs]
        acc, cut = 0, len(ordered)
        for i, (_, t) in enumerate(ordered):
            acc += len(t.encode())
            if acc >= sig_mb * 1e6:
                cut = i + 1
                break
        docs = ordered[:cut]
    ids = [d for d, _ in docs]
    texts = [t for _, t in docs]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    pos = {d: i for i, d in enumerate(ids)}
    planted = [p for p in json.loads((work / "planted.json").read_text())
               if p["kind"] == "near" and p["a"] in pos and p["b"] in pos]
    pa_idx = np.array([pos[p["a"]] for p in planted], dtype=np.int64)
    pb_idx = np.array([pos[p["b"]] for p in planted], dtype=np.int64)
    truth = np.array([p["jaccard"] for p in planted])

    def mae(sig: np.ndarray) -> float:
        return float(np.abs((sig[pa_idx] == sig[pb_idx]).mean(axis=1) - truth).mean()) if len(planted) else float("nan")

    rows: list[dict[str, Any]] = []

    def record(name: str, detail: str, wall: float, cpu: float, sig: np.ndarray | None, note: str = "") -> None:
        # MB/s per core = MB per CPU-second of this single-threaded, single-CPU process: robust to other
        # processes sharing the core (the wall-clock rate is kept beside it)
        rows.append({"name": name, "detail": detail, "seconds": wall, "cpu_seconds": cpu, "mb_s": mb / cpu,
                     "wall_mb_s": mb / wall, "docs_s": len(texts) / cpu,
                     "jaccard_mae": mae(sig) if sig is not None else None, "note": note})
        print(f"  {name:<34} {wall:8.2f} s wall {cpu:8.2f} s cpu {mb / cpu:9.2f} MB/s/core", file=sys.stderr)

    # ours
    from curate.stages.dedup import compact_text
    from curate.stages.minhash import MinHashParams, signatures
    from curate.stages.ngrams import to_codepoints

    arr = pa.array(texts, pa.string())
    params = MinHashParams(num_perm=NUM_PERM, ngram=NGRAM)

    def ours(a: pa.Array = arr) -> np.ndarray:
        return np.concatenate([signatures(to_codepoints(compact_text(a.slice(i, batch))), params)
                               for i in range(0, len(a), batch)])

    ours(arr.slice(0, 200))
    wall, cpu, sig = _timed(ours, repeat)
    record("ours (curate)", f"one-permutation MinHash, {NUM_PERM} values, char 5-grams, batches of {batch}",
           wall, cpu, sig)

    # datasketch
    from datasketch import MinHash

    proto = MinHash(num_perm=NUM_PERM, seed=1)
    perms = proto.permutations

    def ds_update(ts: list[str] = texts) -> np.ndarray:
        out = np.empty((len(ts), NUM_PERM), dtype=np.uint64)
        for i, t in enumerate(ts):
            m = MinHash(num_perm=NUM_PERM, permutations=perms, scheme=proto.scheme)
            m.update_batch(list(char_shingles(t)))
            out[i] = m.hashvalues
        return out

    def ds_bulk(ts: list[str] = texts) -> np.ndarray:
        ms = MinHash.bulk([list(char_shingles(t)) for t in ts], num_perm=NUM_PERM, seed=1)
        return np.stack([m.hashvalues for m in ms])

    ds_update(texts[:200])
    wall, cpu, sig = _timed(ds_update)
    record("datasketch update_batch", f"MinHash(num_perm={NUM_PERM}) per doc, shared permutations", wall, cpu, sig)
    ds_bulk(texts[:200])
    wall, cpu, sig = _timed(ds_bulk)
    record("datasketch bulk", f"MinHash.bulk(num_perm={NUM_PERM})", wall, cpu, sig)

    # datatrove
    try:
        from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature  # noqa: F401
    except ImportError as e:
        rows.append({"name": "datatrove", "error": f"not installed: {e}"})
    else:
        cfg = MinhashConfig(n_grams=NGRAM, num_buckets=16, hashes_per_bucket=8)
        variants = [("datatrove char 5-grams", CharTokenizer(), "16 buckets x 8 = 128 hashes, character tokenizer")]
        if "datatrove-zh" not in skip:
            variants.append(("datatrove zh_Hani word 5-grams", "zh_Hani",
                             "16 x 8 = 128 hashes, spaCy+jieba word tokenizer (its Chinese default)"))
        for name, lang, detail in variants:
            try:
                step = _dt_signature_step(str(work / "dt-sig-a"), cfg, lang)

                def dt(ts: list[str] = texts, step: MinhashDedupSignature = step) -> np.ndarray:
                    out = np.full((len(ts), cfg.num_buckets * cfg.hashes_per_bucket), -1, dtype=np.int64)
                    for i, t in enumerate(ts):
                        sh = step.get_shingles(t)
                        if sh.size:
                            out[i] = np.concatenate(step.get_signature(sh)).astype(np.int64)
                    return out

                dt(texts[:200])
                wall, cpu, sig = _timed(dt)
                record(name, detail, wall, cpu, sig)
            except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not fatal
                rows.append({"name": name, "error": f"{type(e).__name__}: {e}"})

    # data-juicer (extra row)
    if "datajuicer" not in skip:
        try:
            from data_juicer.ops.deduplicator.document_minhash_deduplicator import DocumentMinhashDeduplicator
            from data_juicer.utils.constant import HashKeys
        except ImportError as e:
            rows.append({"name": "data-juicer compute_hash", "error": f"not installed: {e}"})
        else:
            _no_auto_install()
            op = DocumentMinhashDeduplicator(tokenization="character", window_size=NGRAM, jaccard_threshold=THRESHOLD,
                                             num_permutations=NUM_PERM, num_proc=1)

            def dj(ts: list[str] = texts) -> np.ndarray:
                out = []
                for t in ts:
                    bands = op.compute_hash({"text": t})[HashKeys.minhash]
                    out.append(np.frombuffer(b"".join(bands), dtype=">u8"))
                return np.stack(out)

            dj(texts[:200])
            wall, cpu, sig = _timed(dj)
            record("data-juicer compute_hash", f"character tokenization, window 5, {NUM_PERM} perms "
                   f"(LSH uses {op.num_bands}x{op.num_rows_per_band})", wall, cpu, sig)
    return {"mb": mb, "docs": len(texts), "planted_pairs": len(planted), "rows": rows}


# ---------------------------------------------------------------- Part B: end to end, 2 CPUs


def _removed_from(keep_ids: set[str], all_ids: set[str]) -> set[str]:
    return all_ids - keep_ids


def e2e_ours(work: Path) -> dict[str, Any]:
    import polars as pl

    from curate.engine.session import init_ray
    from curate.job import parse_job
    from curate.run import run_job

    t0 = time.perf_counter()
    info = init_ray(num_cpus=2)
    ray_s = time.perf_counter() - t0
    runs = []
    for k in range(2):
        out = work / f"ours-out-{k}"
        job = parse_job({"name": "bench-dedup", "output": str(out), "rules": [], "scores": False, "tags": False,
                         "inputs": [{"name": "corpus", "path": str(work / "corpus" / "*.jsonl"), "kind": "web",
                                     "text_field": "text", "id_field": "id"}]}, work)
        t1 = time.perf_counter()
        res = run_job(job, overwrite=True)
        runs.append({"seconds": time.perf_counter() - t1, "timings": res.manifest.get("timings"),
                     "dedup": {k2: v for k2, v in res.manifest["dedup"].items() if k2 != "params"}})
    rej = sorted((work / "ours-out-0" / "rejects").glob("*.parquet"))
    removed: set[str] = set()
    other_rejects = 0
    if rej:
        r = pl.read_parquet(rej, columns=["id", "drop_reason"])
        removed = set(r.filter(pl.col("drop_reason").is_in(["exact_duplicate", "near_duplicate"]))["id"].to_list())
        other_rejects = r.filter(~pl.col("drop_reason").is_in(["exact_duplicate", "near_duplicate"])).height
    d = runs[0]["dedup"]
    return {"ray_start_s": ray_s, "ray": info, "seconds": runs[0]["seconds"], "warm_seconds": runs[1]["seconds"],
            "timings": runs[0]["timings"], "warm_timings": runs[1]["timings"], "removed": len(removed),
            "dedup_report": d, "other_rejects": other_rejects, **planted_recall(work, removed)}


def e2e_ours_inprocess(work: Path) -> dict[str, Any]:
    """Not a shipped path: run_job's stage lists (per_record, dedup_global, finish) and shard writer called in one
    process, the global step on `curate.engine.local.LocalEngine`, to show what Ray costs here."""
    from dataclasses import replace

    import polars as pl
    import pyarrow.parquet as pq

    from curate.engine.local import LocalEngine
    from curate.io.readers import read_file
    from curate.io.writer import DATA, REJECTS, STATS, write_checkpoint, write_shard
    from curate.job import parse_job
    from curate.run import DEDUP_GLOBAL, FINISH, PER_RECORD, run_global_steps, settings_of
    from curate.stages.base import PhaseRunner

    out = work / "ours-inprocess"
    shutil.rmtree(out, ignore_errors=True)
    for sub in ("a", DATA, REJECTS, STATS):
        (out / sub).mkdir(parents=True)
    job = parse_job({"name": "bench-dedup", "output": str(out), "rules": [], "scores": False, "tags": False,
                     "inputs": [{"name": "corpus", "path": str(work / "corpus" / "*.jsonl"), "kind": "web",
                                 "text_field": "text", "id_field": "id"}]}, work)
    settings, spec = settings_of(job), job.inputs[0]
    per_record = PhaseRunner(PER_RECORD, settings)
    t0 = time.perf_counter()
    ckpts = []
    for f in spec.files:
        for k, t in enumerate(read_file(f, spec, rel_name=os.path.basename(f), max_record_bytes=job.max_record_bytes,
                                        chunk_rows=job.shard_rows)):
            name = f"{Path(f).stem}-{k:05d}"
            write_checkpoint(out / "a", name, per_record(t))
            ckpts.append(str(out / "a" / f"{name}.parquet"))
    t_a = time.perf_counter()
    state = run_global_steps(DEDUP_GLOBAL, ckpts, out, settings, LocalEngine())
    t_b = time.perf_counter()
    finish = PhaseRunner(FINISH, replace(settings, decisions=state["decisions"], dup_lines=state["dup_lines"]))
    for p in ckpts:
        write_shard(out, Path(p).stem, finish(pq.read_table(p)))
    t_c = time.perf_counter()
    r = pl.read_parquet(sorted((out / REJECTS).glob("*.parquet")), columns=["id", "drop_reason"])
    removed = set(r.filter(pl.col("drop_reason").is_in(["exact_duplicate", "near_duplicate"]))["id"].to_list())
    return {"seconds": t_c - t0, "timings": {"per_record": t_a - t0, "dedup_global": t_b - t_a, "finish": t_c - t_b},
            "removed": len(removed), "duplicates": state["dedup"]["duplicates"],
            "config": "same stage lists as run_job, one process, no Ray (not a shipped path)",
            **planted_recall(work, removed)}


def datatrove_minhash_stages(base: Path, first: list[Any], again: list[Any], tasks: int, workers: int = 2,
                             cfg: Any = None, language: Any = None) -> dict[str, Any]:
    """datatrove's local four-stage MinHash pipeline as named ``LocalPipelineExecutor``s, in run order.

    ``first``: the steps before the signature step (a reader, and any filters / writers); ``again``: steps
    that yield the same documents in the same order per task (a reader), for ``MinhashDedupFilter``, which
    matches documents by their index in the task. Kept documents go to ``base/output``, removed ones to
    ``base/removed``. ``cfg`` defaults to ``MinhashConfig(n_grams=NGRAM)`` (14 buckets x 8 hashes, 64-bit
    xxhash), ``language`` to the character tokenizer (curate's shingles).
    """
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
    )
    from datatrove.pipeline.writers import JsonlWriter

    cfg = cfg or MinhashConfig(n_grams=NGRAM)
    language = language if language is not None else CharTokenizer()
    return {
        "signatures": LocalPipelineExecutor(
            pipeline=[*first, _dt_signature_step(str(base / "sigs"), cfg, language)],
            tasks=tasks, workers=workers, logging_dir=str(base / "logs" / "s1")),
        "buckets": LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(input_folder=str(base / "sigs"), output_folder=str(base / "buckets"),
                                          config=cfg)],
            tasks=cfg.num_buckets, workers=workers, logging_dir=str(base / "logs" / "s2")),
        "clusters": LocalPipelineExecutor(
            pipeline=[MinhashDedupCluster(input_folder=str(base / "buckets"), output_folder=str(base / "remove_ids"),
                                          config=cfg)],
            tasks=1, workers=1, logging_dir=str(base / "logs" / "s3")),
        "filter": LocalPipelineExecutor(
            pipeline=[*again, MinhashDedupFilter(input_folder=str(base / "remove_ids"),
                                                 exclusion_writer=JsonlWriter(str(base / "removed"), compression=None)),
                      JsonlWriter(str(base / "output"), compression=None)],
            tasks=tasks, workers=workers, logging_dir=str(base / "logs" / "s4")),
    }


def e2e_datatrove(work: Path) -> dict[str, Any]:
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import JsonlReader

    base = work / "datatrove"
    shutil.rmtree(base, ignore_errors=True)
    cfg = MinhashConfig(n_grams=NGRAM)  # its default 14 buckets x 8 hashes, 64-bit xxhash
    corpus = str(work / "corpus")

    def reader() -> JsonlReader:
        return JsonlReader(corpus, glob_pattern="*.jsonl", text_key="text", id_key="id")

    stages = datatrove_minhash_stages(base, [reader()], [reader()], tasks=2, workers=2, cfg=cfg)
    timings = {}
    t0 = time.perf_counter()
    for name, ex in stages.items():
        t1 = time.perf_counter()
        ex.run()
        timings[name] = time.perf_counter() - t1
    seconds = time.perf_counter() - t0
    removed = set()
    for p in (base / "removed").glob("*.jsonl"):
        with open(p, encoding="utf-8") as f:
            removed |= {json.loads(line)["id"] for line in f}
    kept = sum(p.read_text(encoding="utf-8").count("\n") for p in (base / "output").glob("*.jsonl"))
    return {"seconds": seconds, "timings": timings, "removed": len(removed), "kept": kept,
            "config": f"{cfg.num_buckets} buckets x {cfg.hashes_per_bucket} hashes, char tokenizer",
            **planted_recall(work, removed)}


def e2e_datajuicer(work: Path) -> dict[str, Any]:
    from data_juicer.core.data import NestedDataset
    from data_juicer.ops.deduplicator.document_minhash_deduplicator import DocumentMinhashDeduplicator
    from datasets import load_dataset

    _no_auto_install()
    files = [str(p) for p in sorted((work / "corpus").glob("*.jsonl"))]
    out = work / "datajuicer-out.jsonl"
    t0 = time.perf_counter()
    ds = NestedDataset(load_dataset("json", data_files=files, split="train"))
    t_load = time.perf_counter() - t0
    op = DocumentMinhashDeduplicator(tokenization="character", window_size=NGRAM, jaccard_threshold=THRESHOLD,
                                     num_permutations=NUM_PERM, num_proc=2)
    # = Deduplicator.run(ds) without its closing free_models() (GPU model cleanup that imports torch)
    t1 = time.perf_counter()
    hashed = ds.map(op.compute_hash, num_proc=op.runtime_np(), desc="compute_hash")
    t_hash = time.perf_counter() - t1
    res, _ = op.process(hashed)
    t_run = time.perf_counter() - t1 - t_hash
    t2 = time.perf_counter()
    res.to_json(str(out), force_ascii=False)
    t_write = time.perf_counter() - t2
    seconds = time.perf_counter() - t0
    kept = set(res["id"])
    removed = {d for d in ds["id"]} - kept
    return {"seconds": seconds, "timings": {"load": t_load, "hash": t_hash, "cluster+filter": t_run, "write": t_write},
            "removed": len(removed), "kept": len(kept),
            "config": f"{op.num_bands} bands x {op.num_rows_per_band} rows, {NUM_PERM} perms, no verification",
            **planted_recall(work, removed)}


E2E = {"ours": e2e_ours, "ours-inprocess": e2e_ours_inprocess, "datatrove": e2e_datatrove,
       "datajuicer": e2e_datajuicer}


# ---------------------------------------------------------------- orchestration


def _child(args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    try:
        p = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    out = Path(args[args.index("--out") + 1])
    if p.returncode != 0 or not out.exists():
        tail = (p.stderr or p.stdout).strip().splitlines()[-6:]
        return {"error": f"exit {p.returncode}: " + " | ".join(tail)}
    sys.stderr.write(p.stderr if os.environ.get("BENCH_VERBOSE") else "")
    return json.loads(out.read_text())


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    v = {}
    for pkg in ("curate", "numpy", "pyarrow", "polars", "ray", "datasketch", "datatrove", "py-data-juicer",
                "datasets", "spacy", "jieba"):
        try:
            v[pkg] = version(pkg)
        except PackageNotFoundError:
            v[pkg] = "not installed"
    return v


def fmt_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _part_a_report(a: dict[str, Any]) -> list[str]:
    if "error" in a:
        return [f"Part A failed: {a['error']}", ""]
    out = [f"Part A: signatures on one core ({a.get('mb', 0):.1f} MB, {a.get('docs', 0):,} documents)"]
    rows = []
    ok = [r for r in a.get("rows", []) if "error" not in r]
    ours = next((r for r in ok if r["name"].startswith("ours")), None)
    for r in a.get("rows", []):
        if "error" in r:
            rows.append([r["name"], "—", "—", "—", "—", "—", "—", r["error"]])
            continue
        ratio = ours["mb_s"] / r["mb_s"] if ours else float("nan")
        rows.append([r["name"], f"{r['cpu_seconds']:.2f}", f"{r['seconds']:.2f}", f"{r['mb_s']:.2f}",
                     f"{r['wall_mb_s']:.2f}", f"{r['docs_s']:,.0f}",
                     "—" if r["jaccard_mae"] is None else f"{r['jaccard_mae']:.3f}",
                     "1.0x" if r is ours else f"ours {ratio:.1f}x"])
    out.append(fmt_table(["contender", "CPU s", "wall s", "MB/s/core (CPU)", "MB/s (wall)", "docs/s/core",
                           "Jaccard MAE", "ours ÷ this"], rows))
    dts = [r for r in ok if r["name"].startswith("datatrove")]
    if ours and dts:
        best_dt = max(dts, key=lambda r: r["mb_s"])
        ratio = ours["mb_s"] / best_dt["mb_s"]
        out.append(f"\nSignatures vs datatrove (its faster variant, {best_dt['name']}): {ratio:.1f}x "
                   f"(target >= 10x: {'met' if ratio >= 10 else 'NOT met'})")
    out.append("")
    return out


def report(res: dict[str, Any]) -> str:
    c, a, b = res["corpus"], res["signatures"], res["end_to_end"]
    out = [f"Corpus: {c['docs']:,} documents, {c['mb']:.1f} MB ({c['base_docs']:,} real texts + {c['planted']:,} "
           f"planted copies: {c['planted_exact']} exact, {c['planted_near_ge_threshold']} near with true Jaccard >= "
           f"{THRESHOLD}, {c['planted_near_below']} near below it)", ""]
    if a.get("rows") or a.get("error"):
        out += _part_a_report(a)
    out.append(f"Part B: end to end on the JSONL corpus ({c['mb']:.1f} MB, 2 CPUs each)")
    rows = []
    mb = c["mb"]
    labels = {"ours": "ours: run_job, rules: [] (Ray, 2 CPUs)", "ours-inprocess": "(ours, same functions, no Ray, 1 CPU)",
              "datatrove": "datatrove local pipeline (2 workers)", "datajuicer": "data-juicer op (num_proc 2)"}
    for name, label in labels.items():
        r = b.get(name)
        if r is None:
            continue
        if "error" in r:
            rows.append([label, "—", "—", "—", "—", "—", "—", "—", r["error"]])
            continue
        rec = "—" if r.get("recall") is None else f"{r['recall']:.3f}"
        low = "—" if r.get("below_threshold_removed") is None else f"{r['below_threshold_removed']:.2f}"
        stages = ", ".join(f"{k} {v:.1f}" for k, v in (r.get("timings") or {}).items())
        if name == "ours":
            rows.append([label, f"{r['ray_start_s']:.1f}", f"{r['seconds']:.1f}",
                         f"{r['seconds'] + r['ray_start_s']:.1f}", f"{mb / r['seconds']:.2f}", str(r["removed"]), rec,
                         low, f"warm rerun {r['warm_seconds']:.1f} s; {stages}"])
        else:
            rows.append([label, "—", f"{r['seconds']:.1f}", f"{r['seconds']:.1f}", f"{mb / r['seconds']:.2f}",
                         str(r["removed"]), rec, low, f"{r.get('config', '')}; {stages}"])
    out.append(fmt_table(["contender", "Ray start s", "run s", "run + start s", "MB/s", "removed",
                           f"planted recall (J>={THRESHOLD})", "planted J<0.8 removed", "notes (stage seconds)"], rows))
    o = b.get("ours", {})
    peers = [b[k] for k in ("datatrove", "datajuicer") if k in b and "error" not in b[k]]
    if "error" not in o and o and peers:
        fastest = min(p["seconds"] for p in peers)
        r1, r2 = fastest / o["seconds"], fastest / (o["seconds"] + o["ray_start_s"])
        out.append(f"\nEnd to end vs the faster peer ({fastest:.1f} s): {r1:.2f}x without Ray start-up, "
                   f"{r2:.2f}x with it (target >= 5x: {'met' if min(r1, r2) >= 5 else 'met without start-up only' if r1 >= 5 else 'NOT met'}); "
                   f"warm rerun {fastest / o['warm_seconds']:.2f}x")
        ip = b.get("ours-inprocess", {})
        if ip and "error" not in ip:
            out.append(f"Same stage functions without Ray (one process, one CPU): {ip['seconds']:.1f} s, "
                       f"{fastest / ip['seconds']:.1f}x the faster peer")
    return "\n".join(out)


def add_planting_args(ap: argparse.ArgumentParser) -> None:
    """The planted-duplicate options that `build_corpus` and bench/e2e.py's corpus share."""
    ap.add_argument("--dup-frac", type=float, default=0.10, help="share of documents given a planted copy")
    ap.add_argument("--edit-min", type=float, default=0.005, help="least share of a near copy's characters edited")
    ap.add_argument("--edit-max", type=float, default=0.03, help="most share of a near copy's characters edited")
    ap.add_argument("--seed", type=int, default=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=1000.0,
                    help="corpus size in MB (UTF-8), planted copies included; the acceptance size (curate has ~3 s of fixed "
                         "Ray start-up, so small corpora measure that more than dedup)")
    ap.add_argument("--sig-mb", type=float, default=5.0, help="Part A on the corpus's first N MB (0: all of it)")
    add_planting_args(ap)
    ap.add_argument("--batch", type=int, default=5000, help="our signature batch size (documents)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for ours in Part A")
    ap.add_argument("--skip", default="", help="comma list of: signatures, ours, ours-inprocess, datatrove, datatrove-zh, datajuicer")
    ap.add_argument("--timeout", type=float, default=900, help="per contender process, seconds")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--work", help="work folder (default: a temporary one, removed at the end)")
    args = ap.parse_args()
    skip = {s for s in args.skip.split(",") if s}
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="curate-bench-dedup-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"building the corpus in {work} ...", file=sys.stderr)
        corpus = build_corpus(work, args.mb, args.dup_frac, args.edit_min, args.edit_max, args.seed)
        res: dict[str, Any] = {"corpus": corpus, "versions": versions(), "cpus": os.cpu_count(),
                               "args": vars(args), "signatures": {}, "end_to_end": {},
                               "loadavg_start": os.getloadavg()}
        env = dict(os.environ)
        env.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(work / "hf-cache"),
                    "TQDM_DISABLE": "1", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"})
        if "signatures" not in skip:
            print("Part A: signatures on one core ...", file=sys.stderr)
            one = dict(env, **{v: ("false" if v == "TOKENIZERS_PARALLELISM" else "1") for v in ONE_THREAD})
            res["signatures"] = _child(["_sig", "--work", str(work), "--batch", str(args.batch), "--repeat",
                                        str(args.repeat), "--sig-mb", str(args.sig_mb), "--skip", ",".join(skip),
                                        "--out", str(work / "sig.json")], one, args.timeout)
        for name in E2E:
            if name in skip:
                continue
            print(f"Part B: {name} ...", file=sys.stderr)
            res["end_to_end"][name] = _child(["_e2e", name, "--work", str(work), "--out",
                                              str(work / f"e2e-{name}.json")], env, args.timeout)
        res["loadavg_end"] = os.getloadavg()
        print(report(res))
        print(f"\nload average (1/5/15 min) at start {res['loadavg_start']}, at end {res['loadavg_end']} "
              f"on {res['cpus']} CPUs")
        print("\nversions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()))
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1, ensure_ascii=False))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


def _child_main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("which", nargs="?")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sig-mb", type=float, default=0.0)
    ap.add_argument("--skip", default="")
    a = ap.parse_args()
    work = Path(a.work)
    if a.mode == "_sig":
        res = part_a(work, a.batch, a.repeat, a.sig_mb, {s for s in a.skip.split(",") if s})
    else:
        res = E2E[a.which](work)
    Path(a.out).write_text(json.dumps(res, default=str))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("_sig", "_e2e"):
        _child_main()
    else:
        main()
