"""Near-duplicate precision/recall of curate's real dedup on the benchmark from ``evals/neardup_gen.py``.

For each setting it runs the whole pipeline (``curate.run.run_job``: Ray, per_record, global dedup,
finish) on ``docs.jsonl`` as a ``web`` input with ``id_field: id`` and ``rules: []`` (no rule filtering:
every record reaches dedup), with the given ``dedup:`` block; the job is also written beside the
run folder (``DATA/run.job.yaml`` by default), so ``curate run DATA/run.job.yaml`` reproduces it. It
then reads the output shards (``data/`` + ``rejects/``): two records are *predicted duplicates* iff they
share a non-null ``dup_cluster``.

Truth is the exact Jaccard of character-5-gram sets of the compact text (lower-cased, no whitespace),
recomputed here on the text curate actually deduplicated (the normalised ``text`` of the output rows), for
every ground-truth pair of ``pairs.jsonl``, every pair at or above ``--floor`` (an exact all-pairs join)
and every predicted pair; positives are pairs with Jaccard >= ``--target`` (0.8). Then

    precision = |predicted ∩ positive| / |predicted|,   recall = |predicted ∩ positive| / |positive|

printed by edit type and rate (original↔variant pairs), by family (variant↔variant pairs of one source),
for hard negatives and other cross-source pairs, overall, and by true-Jaccard bin.

Diagnostics come from curate's own per_record checkpoints (kept for the run and removed afterwards): for
every missed positive and false positive, the signature estimate of its Jaccard and whether the two
records share an LSH band key. A miss is ``lsh_miss`` (no common band: never a candidate),
``below_threshold`` (estimate < threshold) or ``not_linked`` (common band and estimate >= threshold, yet
in different clusters: candidate edges only join each bucket's smallest node to the others); a false
positive is ``direct`` (common band and estimate >= threshold) or ``transitive`` (joined only through
other members of its cluster: connected components are not cliques).

Usage::

    python evals/neardup_gen.py --out out/neardup
    python evals/neardup_eval.py --data out/neardup                       # curate's defaults
    python evals/neardup_eval.py --data out/neardup --num-perm 128 256 --fn-weight 0.8 0.95
    python evals/neardup_eval.py --data out/neardup --bands-rows 16x8 --num-perm 128
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from neardup_gen import Doc, ShingleIndex, compact, pair_record  # noqa: E402

RECORD_COLUMNS = ["id", "text", "dup_cluster", "dup_of", "drop_reason", "source_file", "source_line", "exact_hash"]
BINS = (0.0, 0.5, 0.7, 0.75, 0.78, 0.8, 0.82, 0.85, 0.9, 0.95, 1.0)


# ---------------------------------------------------------------- loading


def load_docs(path: Path) -> list[Doc]:
    """The benchmark documents (docs.jsonl)."""
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            extra = {k: v for k, v in r.items() if k not in Doc.__dataclass_fields__}
            docs.append(Doc(r["id"], r["text"], r["source_id"], r["edit"], float(r["rate"]), r["family"],
                            r["corpus"], extra))
    return docs


def load_pairs(path: Path) -> list[dict[str, Any]]:
    """The generator's ground-truth pairs (pairs.jsonl)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ---------------------------------------------------------------- running curate


@dataclass
class Setting:
    """One dedup configuration to evaluate (None: curate's default)."""

    threshold: float | None = None
    num_perm: int | None = None
    fn_weight: float | None = None
    bands: int | None = None
    rows: int | None = None

    def dedup_block(self) -> dict[str, Any]:
        """The job's `dedup:` block."""
        return {k: v for k, v in vars(self).items() if v is not None}

    def label(self) -> str:
        """Short name for tables and folders."""
        d = self.dedup_block()
        return ",".join(f"{k}={v}" for k, v in d.items()) or "defaults"


@dataclass
class RunOutput:
    """What one curate run produced, as the evaluation needs it."""

    records: pl.DataFrame  # id, text, dup_cluster, dup_of, drop_reason, source_file, source_line, exact_hash
    signatures: dict[str, np.ndarray]  # id -> MinHash signature (uint32)
    bands: dict[str, np.ndarray]  # id -> band keys (uint64)
    manifest: dict[str, Any]
    seconds: float
    bands_rows: tuple[int, int]
    spec: dict[str, Any] = field(default_factory=dict)
    engine: str = "pipeline"


def run_curate(data: Path, run_dir: Path, setting: Setting, num_cpus: int | None) -> RunOutput:
    """Run the pipeline on docs.jsonl with this dedup block; read back its shards and per_record checkpoints."""
    from curate.io.output_folder import WORK
    from curate.job import parse_job
    from curate.run import run_job

    doc: dict[str, Any] = {
        "name": "neardup",
        "inputs": [{"path": str((data / "docs.jsonl").resolve()), "kind": "web", "id_field": "id"}],
        "output": str(run_dir.resolve()),
        "rules": [],
        "dedup": setting.dedup_block(),
    }
    if num_cpus:
        doc["ray"] = {"num_cpus": num_cpus}
    run_dir.mkdir(parents=True, exist_ok=True)
    job = parse_job(doc, base=data.resolve())
    job_file = run_dir.parent / f"{run_dir.name}.job.yaml"  # beside RUN: run_job clears RUN's own contents
    job_file.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    t0 = time.perf_counter()
    result = run_job(job, overwrite=True, keep_work=True)
    seconds = time.perf_counter() - t0
    shards = sorted(run_dir.glob("data/*.parquet")) + sorted(run_dir.glob("rejects/*.parquet"))
    records = pl.read_parquet(shards, columns=RECORD_COLUMNS)
    # diagnostics: the signatures curate computed (recomputed from the same text and parameters; per_record
    # keeps only the band keys) and the band keys from its per_record checkpoints
    from curate.stages import dedup
    from curate.stages.minhash import MinHashParams, signatures
    from curate.stages.ngrams import to_codepoints

    work = run_dir / WORK / "a"
    ck = pl.read_parquet(sorted(work.glob("*.parquet")), columns=["id", "text", "_bands"]).filter(
        pl.col("_bands").is_not_null())
    b, r = job.dedup.bands_rows()
    params = MinHashParams(num_perm=job.dedup.num_perm, ngram=job.dedup.ngram, bands=b, rows=r, seed=job.dedup.seed)
    sig = signatures(to_codepoints(dedup.compact_text(ck["text"].to_arrow())), params)
    sigs = dict(zip(ck["id"].to_list(), sig, strict=True))
    bands = {i: np.asarray(x, dtype=np.uint64) for i, x in zip(ck["id"], ck["_bands"].to_list(), strict=True)}
    shutil.rmtree(run_dir / WORK, ignore_errors=True)
    return RunOutput(records, sigs, bands, result.manifest, seconds, job.dedup.bands_rows(),
                     {k: v for k, v in vars(job.dedup).items()})


def simulate(base: pl.DataFrame, setting: Setting) -> RunOutput:
    """Curate's dedup_global stage functions without Ray, on the normalised texts of an earlier pipeline run.

    Same code path as the pipeline's dedup (signatures, band keys, bucket edges, exact verification, connected
    components split into stars, survivors) with all band rows in one partition (buckets are whole
    either way), so it decides the same clusters; it exists to sweep many settings quickly. Confirm a chosen
    setting with the pipeline engine.
    """
    import pyarrow as pa

    from curate.job import DedupSpec
    from curate.stages import dedup
    from curate.stages.minhash import MinHashParams, band_keys, signatures
    from curate.stages.ngrams import to_codepoints

    t0 = time.perf_counter()
    spec = DedupSpec(**setting.dedup_block())
    b, r = spec.bands_rows()
    params = MinHashParams(num_perm=spec.num_perm, ngram=spec.ngram, bands=b, rows=r, seed=spec.seed)
    base = base.drop("dup_cluster", "dup_of").with_columns(drop_reason=pl.lit(None, pl.String))
    sig = signatures(to_codepoints(dedup.compact_text(base["text"].to_arrow())), params)
    keys = band_keys(sig, params)
    nodes = base["exact_hash"].to_numpy()
    edges = pl.from_arrow(dedup.bucket_edges(pa.table({"key": keys.ravel(), "node": np.repeat(nodes, b)})))
    uniq = base.select(node="exact_hash", text="text").unique("node", keep="first", maintain_order=True)
    sets = dedup.ShingleSets(uniq["node"], uniq["text"], spec.ngram)
    verified = dedup.verify_edges(edges, sets, spec.threshold)
    compact = dedup.compact_text(base["text"].to_arrow())
    recs = base.select("source_file", "source_line", "id", "exact_hash").with_columns(
        chars=pl.from_arrow(compact).str.len_chars())
    chars = recs.group_by("exact_hash").agg(pl.col("chars").max()).rename({"exact_hash": "node"})
    comps = dedup.assign_centres(dedup.components(verified), verified, sets, chars, spec.threshold).rename(
        {"centre": "component"})
    decisions = dedup.cluster_records(recs, comps)
    records = base.join(decisions.select("source_file", "source_line", "dup_cluster", "dup_of"),
                        on=["source_file", "source_line"], how="left")
    ids = base["id"].to_list()
    manifest = {"dedup": {"candidate_edges": edges.height, "verified_edges": verified.height,
                          "clusters": decisions["dup_cluster"].n_unique(),
                          "duplicates": int(decisions["dup_of"].is_not_null().sum())}}
    return RunOutput(records, dict(zip(ids, sig, strict=True)), dict(zip(ids, keys, strict=True)), manifest,
                     time.perf_counter() - t0, (b, r), dict(vars(spec)), engine="stages")


# ---------------------------------------------------------------- scoring


def predicted_pairs(records: pl.DataFrame) -> set[tuple[str, str]]:
    """All pairs of records sharing a non-null dup_cluster (a < b)."""
    out: set[tuple[str, str]] = set()
    clusters = records.filter(pl.col("dup_cluster").is_not_null()).group_by("dup_cluster").agg(pl.col("id"))
    for ids in clusters["id"].to_list():
        out.update(itertools.combinations(sorted(ids), 2))
    return out


@dataclass
class Truth:
    """Exact Jaccard on curate's normalised text for the pairs the evaluation needs."""

    docs: list[Doc]
    index: ShingleIndex
    pos: dict[str, int]
    pairs: dict[tuple[str, str], dict[str, Any]]  # (a, b) -> pair record with the output-text jaccard
    flips: int  # ground-truth pairs whose label (>= target) differs between raw and normalised text
    compact_mismatch: int  # documents whose compact text differs from curate's compact_text
    seconds: float

    def jaccard(self, a: str, b: str) -> float:
        """Exact Jaccard of two documents by id."""
        return self.index.jaccard(self.pos[a], self.pos[b])

    def add(self, a: str, b: str, pairs: dict[tuple[str, str], dict[str, Any]] | None = None) -> dict[str, Any]:
        """The pair record of (a, b), computed into `pairs` (default: the truth's own) if not there yet."""
        pairs = self.pairs if pairs is None else pairs
        key = (a, b) if a < b else (b, a)
        if key not in pairs:
            pairs[key] = pair_record(self.docs[self.pos[a]], self.docs[self.pos[b]], self.jaccard(a, b))
        return pairs[key]


def build_truth(docs: list[Doc], gt: list[dict[str, Any]], records: pl.DataFrame, floor: float,
                target: float) -> Truth:
    """Truth on the output text: the generator's pairs re-scored, plus every pair >= floor."""
    import pyarrow as pa

    from curate.stages.dedup import compact_text

    t0 = time.perf_counter()
    text_of = dict(zip(records["id"].to_list(), records["text"].to_list(), strict=True))
    missing = [d.id for d in docs if d.id not in text_of]
    if missing:
        raise SystemExit(f"{len(missing)} documents missing from curate's output, e.g. {missing[:5]}")
    out_docs = [Doc(d.id, text_of[d.id] or "", d.source_id, d.edit, d.rate, d.family, d.corpus, d.extra)
                for d in docs]
    theirs = compact_text(pa.array([d.text for d in out_docs])).to_pylist()
    mismatch = sum(compact(d.text) != c for d, c in zip(out_docs, theirs, strict=True))
    index = ShingleIndex([d.text for d in out_docs])
    pos = {d.id: i for i, d in enumerate(out_docs)}
    truth = Truth(out_docs, index, pos, {}, 0, mismatch, 0.0)
    for p in gt:
        rec = truth.add(p["a"], p["b"])
        truth.flips += (float(p["jaccard"]) >= target) != (rec["jaccard"] >= target)
    for i, j, _ in index.similar_pairs(floor):
        truth.add(out_docs[i].id, out_docs[j].id)
    truth.seconds = time.perf_counter() - t0
    return truth


def row_key(p: dict[str, Any]) -> tuple[str, str, str]:
    """Table row of a pair: (category, edit, rate)."""
    cat = p["category"]
    if cat == "orig-variant":
        return (cat, p["edit"], f"{p['rate']:g}")
    if cat == "variant-variant":
        return (cat, p["edit"], "")
    if cat == "hard_negative":
        return (cat, "shared_block", f"~{p['rate']:g}")
    return (cat, "other", "")


def _bin(j: float) -> str:
    for lo, hi in itertools.pairwise(BINS):
        if j < hi:
            return f"[{lo:.2f},{hi:.2f})"
    return "=1.00"


@dataclass
class Score:
    """Counts of one table row."""

    pairs: int = 0
    positives: int = 0
    predicted: int = 0
    tp: int = 0
    jsum: float = 0.0

    def add(self, j: float, positive: bool, predicted: bool) -> None:
        """Count one pair."""
        self.pairs += 1
        self.jsum += j
        self.positives += positive
        self.predicted += predicted
        self.tp += positive and predicted

    @property
    def precision(self) -> float | None:
        """TP / predicted (None when nothing was predicted)."""
        return self.tp / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        """TP / positives (None when there are no positives)."""
        return self.tp / self.positives if self.positives else None


def _fmt(x: float | None) -> str:
    return "    -" if x is None else f"{x:.3f}"


def diagnose(a: str, b: str, run: RunOutput, threshold: float) -> tuple[float, bool]:
    """Signature estimate of the pair's Jaccard and whether the two share an LSH band key."""
    sa, sb = run.signatures.get(a), run.signatures.get(b)
    if sa is None or sb is None:
        return float("nan"), False
    est = float((sa == sb).mean())
    shared = bool((run.bands[a] == run.bands[b]).any())
    return est, shared


def evaluate(truth: Truth, run: RunOutput, target: float, threshold: float) -> dict[str, Any]:
    """Score one run: rows by edit type, overall, by Jaccard bin, and the causes of errors."""
    pred = predicted_pairs(run.records)
    pairs = dict(truth.pairs)  # plus this run's predicted pairs
    for a, b in pred:
        truth.add(a, b, pairs)
    rows: dict[tuple[str, str, str], Score] = defaultdict(Score)
    overall, bins = Score(), defaultdict(Score)
    fn_causes: Counter[str] = Counter()
    fp_causes: Counter[str] = Counter()
    fn_bins: Counter[str] = Counter()
    fp_bins: Counter[str] = Counter()
    fn_est: list[float] = []
    fp_est: list[float] = []
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, p in pairs.items():
        j = float(p["jaccard"])
        positive, predicted = j >= target, key in pred
        rows[row_key(p)].add(j, positive, predicted)
        overall.add(j, positive, predicted)
        bins[_bin(j)].add(j, positive, predicted)
        if positive == predicted:
            continue
        est, shared = diagnose(key[0], key[1], run, threshold)
        if positive:
            cause = "lsh_miss" if not shared else "below_threshold" if est < threshold else "not_linked"
            fn_causes[cause] += 1
            fn_bins[_bin(j)] += 1
            fn_est.append(est)
        else:
            cause = "direct" if shared and est >= threshold else "transitive"
            fp_causes[cause] += 1
            fp_bins[_bin(j)] += 1
            fp_est.append(est)
        kind = "fn_" + cause if positive else "fp_" + cause
        if len(examples[kind]) < 5:
            examples[kind].append({"a": key[0], "b": key[1], "jaccard": round(j, 4), "estimate": round(est, 4),
                                   "shared_band": shared, "category": p["category"], "edit": p["edit"]})
    reasons = Counter(run.records["drop_reason"].drop_nulls().to_list())
    removed = run.records.filter(pl.col("dup_of").is_not_null()).select("id", "dup_of").rows()
    to_survivor = [truth.jaccard(a, b) for a, b in removed]
    errors = [diagnose(a, b, run, threshold)[0] - float(p["jaccard"]) for (a, b), p in pairs.items()
              if float(p["jaccard"]) >= 0.7]
    edit_of = {d.id: d.edit for d in truth.docs}
    clusters = run.records.filter(pl.col("dup_cluster").is_not_null()).group_by("dup_cluster").agg(pl.col("id"))
    kept_edit = Counter(edit_of[c] for c, ids in clusters.iter_rows()
                        if any(edit_of[i] == "original" for i in ids))
    return {"survivor_edits": kept_edit, "removed": len(removed), "removed_ge_target": sum(j >= target for j in to_survivor),
            "removed_ge_0.7": sum(j >= 0.7 for j in to_survivor), "est_error": errors, "rows": rows, "overall": overall, "bins": bins, "fn_causes": fn_causes, "fp_causes": fp_causes,
            "fn_bins": fn_bins, "fp_bins": fp_bins, "fn_est": fn_est, "fp_est": fp_est, "examples": examples,
            "predicted_pairs": len(pred), "drop_reasons": reasons}


# ---------------------------------------------------------------- printing


def oracle(truth: Truth, threshold: float, target: float) -> tuple[float, float]:
    """Precision and recall of exact-Jaccard edges (>= threshold) + connected components: the best that
    curate's clustering can do at this threshold, whatever the MinHash parameters."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = sorted(truth.pos)
    at = {x: i for i, x in enumerate(ids)}
    edges = [(at[a], at[b]) for (a, b), p in truth.pairs.items() if float(p["jaccard"]) >= threshold]
    n = len(ids)
    graph = coo_matrix((np.ones(len(edges)), ([e[0] for e in edges], [e[1] for e in edges])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    members: dict[int, list[str]] = defaultdict(list)
    for x, lab in zip(ids, labels, strict=True):
        members[int(lab)].append(x)
    pred = {pair for m in members.values() if len(m) > 1 for pair in itertools.combinations(sorted(m), 2)}
    positives = {k for k, p in truth.pairs.items() if float(p["jaccard"]) >= target}
    tp = len(pred & positives)
    return (tp / len(pred) if pred else 1.0), (tp / len(positives) if positives else 1.0)


def _order(key: tuple[str, str, str]) -> tuple[Any, ...]:
    cats = ["orig-variant", "variant-variant", "hard_negative", "cross"]
    rate = key[2].lstrip("~")
    return (cats.index(key[0]), key[1], float(rate) if rate else 0.0)


def table(res: dict[str, Any], target: float) -> list[str]:
    """The P/R table by edit type as Markdown lines."""
    lines = [f"| pairs | edit | rate | pairs | J>={target:g} | predicted | TP | precision | recall | mean J |",
             "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for key in sorted(res["rows"], key=_order):
        s = res["rows"][key]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {s.pairs} | {s.positives} | {s.predicted} | {s.tp} | "
                     f"{_fmt(s.precision)} | {_fmt(s.recall)} | {s.jsum / s.pairs:.3f} |")
    o = res["overall"]
    lines.append(f"| **all** | | | {o.pairs} | {o.positives} | {o.predicted} | {o.tp} | **{_fmt(o.precision)}** | "
                 f"**{_fmt(o.recall)}** | |")
    return lines


def bin_table(res: dict[str, Any]) -> list[str]:
    """Pairs by true-Jaccard bin: predicted share, misses and false positives."""
    lines = ["| true J | pairs | predicted | share predicted | false neg. | false pos. |",
             "|---|--:|--:|--:|--:|--:|"]
    for name in sorted(res["bins"]):
        s = res["bins"][name]
        lines.append(f"| {name} | {s.pairs} | {s.predicted} | {s.predicted / s.pairs:.3f} | "
                     f"{res['fn_bins'].get(name, 0)} | {res['fp_bins'].get(name, 0)} |")
    return lines


def _quantiles(xs: Sequence[float]) -> str:
    if not xs:
        return "-"
    q = np.nanquantile(np.asarray(xs), [0.0, 0.5, 1.0])
    return f"min {q[0]:.3f} / median {q[1]:.3f} / max {q[2]:.3f}"


def report(setting: Setting, run: RunOutput, truth: Truth, res: dict[str, Any], target: float) -> str:
    """Everything about one setting, as Markdown text."""
    m = run.manifest
    dd = m.get("dedup", {})
    o = res["overall"]
    out = [f"### {setting.label()} [{run.engine}]  (num_perm={run.spec['num_perm']}, bands×rows={run.bands_rows[0]}×"
           f"{run.bands_rows[1]}, threshold={run.spec['threshold']}, fn_weight={run.spec['fn_weight']})", ""]
    out += table(res, target)
    out += ["", "By true Jaccard:", ""] + bin_table(res)
    out += [
        "",
        f"- overall: precision {_fmt(o.precision)}, recall {_fmt(o.recall)} "
        f"(positives {o.positives}, predicted {o.predicted}, TP {o.tp})",
        f"- misses by cause: {dict(res['fn_causes'])}; their signature estimates: {_quantiles(res['fn_est'])}",
        f"- false positives by cause: {dict(res['fp_causes'])}; their estimates: {_quantiles(res['fp_est'])}",
        f"- curate: candidate edges {dd.get('candidate_edges')}, verified {dd.get('verified_edges')}, "
        f"clusters {dd.get('clusters')}, duplicates {dd.get('duplicates')}, "
        f"cluster sizes {dd.get('cluster_size_histogram')}",
        f"- removed records: {res['removed']}; true Jaccard to their cluster's survivor >= {target:g}: "
        f"{res['removed_ge_target']} ({res['removed_ge_target'] / max(1, res['removed']):.3f}), >= 0.7: "
        f"{res['removed_ge_0.7']} ({res['removed_ge_0.7'] / max(1, res['removed']):.3f})",
        f"- kept record (longest text wins) of the {sum(res['survivor_edits'].values())} clusters holding an "
        f"original: {dict(res['survivor_edits'].most_common())}",
        f"- exact-Jaccard oracle at threshold {run.spec['threshold']} (exact edges + connected components, the "
        f"ceiling for any num_perm/bands/rows): precision {res['oracle'][0]:.3f}, recall {res['oracle'][1]:.3f}",
        f"- signature estimate − true Jaccard (pairs with J >= 0.7): mean {np.nanmean(res['est_error']):+.4f}, "
        f"sd {np.nanstd(res['est_error']):.4f}",
        f"- drop reasons: {dict(res['drop_reasons'])}",
        (f"- timings: pipeline {run.seconds:.1f} s (Ray start included; phases {m.get('timings')}, "
         f"dedup dedup_global {dd.get('seconds')} s); truth {truth.seconds:.1f} s" if run.engine == "pipeline" else
         f"- timings: stage functions without Ray {run.seconds:.1f} s; truth {truth.seconds:.1f} s"),
    ]
    if truth.flips or truth.compact_mismatch:
        out.append(f"- note: {truth.flips} ground-truth labels change on the normalised text; "
                   f"{truth.compact_mismatch} documents whose compact text differs from curate's compact_text")
    for kind, ex in sorted(res["examples"].items()):
        out.append(f"- e.g. {kind}: " + "; ".join(
            f"{e['a']}~{e['b']} J={e['jaccard']} est={e['estimate']} band={e['shared_band']}" for e in ex[:3]))
    return "\n".join(out)


def settings_from(args: argparse.Namespace) -> list[Setting]:
    """The cartesian product of the given option lists (an empty list: curate's default)."""
    out = []
    br: list[tuple[int | None, int | None]] = [(None, None)]
    if args.bands_rows:
        br = [tuple(int(x) for x in s.lower().split("x")) for s in args.bands_rows]  # type: ignore[misc]
    for t, n, w, (b, r) in itertools.product(args.threshold or [None], args.num_perm or [None],
                                             args.fn_weight or [None], br):
        out.append(Setting(t, n, w, b, r))
    return out


def _summary_line(s: Setting, run: RunOutput, res: dict[str, Any]) -> str:
    o = res["overall"]
    ok = (o.precision or 0) >= 0.95 and (o.recall or 0) >= 0.90
    return (f"| {s.label()} | {run.spec['num_perm']} | {run.bands_rows[0]}×{run.bands_rows[1]} | "
            f"{o.positives} | {o.predicted} | {o.tp} | {_fmt(o.precision)} | {_fmt(o.recall)} | "
            f"{dict(res['fn_causes'])} | {dict(res['fp_causes'])} | {res['oracle'][0]:.3f} / {res['oracle'][1]:.3f} | "
            f"{run.engine} {run.seconds:.0f} s | {'yes' if ok else 'no'} |")


def main(argv: Iterable[str] | None = None) -> None:
    """Command line: evaluate one or more dedup settings and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="out/neardup", help="folder written by neardup_gen.py (default out/neardup)")
    ap.add_argument("--run-dir", default=None, help="where curate writes its output (default DATA/run)")
    ap.add_argument("--threshold", type=float, nargs="*", help="dedup.threshold value(s)")
    ap.add_argument("--num-perm", type=int, nargs="*", help="dedup.num_perm value(s)")
    ap.add_argument("--fn-weight", type=float, nargs="*", help="dedup.fn_weight value(s)")
    ap.add_argument("--bands-rows", nargs="*", help="explicit dedup.bands × dedup.rows, e.g. 16x8")
    ap.add_argument("--target", type=float, default=0.8, help="true Jaccard of a positive pair (default 0.8)")
    ap.add_argument("--floor", type=float, default=0.5,
                    help="every pair with true Jaccard >= floor is scored (exact all-pairs join; default 0.5)")
    ap.add_argument("--num-cpus", type=int, default=None, help="Ray CPUs (default: all)")
    ap.add_argument("--engine", choices=["pipeline", "stages"], default="pipeline",
                    help="pipeline: run_job per setting (default); stages: curate's dedup stage functions "
                         "without Ray on the normalised texts of DATA/run, for fast sweeps")
    ap.add_argument("--brief", action="store_true", help="print only the summary table")
    ap.add_argument("--json", default=None, help="also write the results as JSON here")
    args = ap.parse_args(list(argv) if argv is not None else None)

    t_start = time.perf_counter()
    data = Path(args.data)
    docs = load_docs(data / "docs.jsonl")
    gt = load_pairs(data / "pairs.jsonl")
    run_dir = Path(args.run_dir) if args.run_dir else data / "run"
    truth: Truth | None = None
    base: pl.DataFrame | None = None
    oracles: dict[float, tuple[float, float]] = {}
    summary: list[str] = []
    results: list[dict[str, Any]] = []
    for setting in settings_from(args):
        if args.engine == "stages":
            if base is None:
                shards = sorted(run_dir.glob("data/*.parquet")) + sorted(run_dir.glob("rejects/*.parquet"))
                if not shards:  # one pipeline run gives the normalised texts and exact hashes
                    shards = [run_dir]
                    run_curate(data, run_dir, Setting(), args.num_cpus)
                    shards = sorted(run_dir.glob("data/*.parquet")) + sorted(run_dir.glob("rejects/*.parquet"))
                base = pl.read_parquet(shards, columns=RECORD_COLUMNS)
            run = simulate(base, setting)
        else:
            run = run_curate(data, run_dir, setting, args.num_cpus)
        if truth is None:
            truth = build_truth(docs, gt, run.records, args.floor, args.target)
        threshold = float(run.spec["threshold"])
        if threshold not in oracles:
            oracles[threshold] = oracle(truth, threshold, args.target)
        res = evaluate(truth, run, args.target, threshold)
        res["oracle"] = oracles[threshold]
        if not args.brief:
            print(report(setting, run, truth, res, args.target), "\n", flush=True)
        summary.append(_summary_line(setting, run, res))
        o = res["overall"]
        results.append({"setting": setting.dedup_block(), "engine": run.engine, "bands_rows": run.bands_rows,
                        "precision": o.precision, "recall": o.recall, "positives": o.positives,
                        "predicted": o.predicted, "tp": o.tp, "fn_causes": dict(res["fn_causes"]),
                        "fp_causes": dict(res["fp_causes"]), "oracle": res["oracle"], "seconds": run.seconds,
                        "rows": {"|".join(k): vars(v) for k, v in res["rows"].items()}})
    print("### Summary\n")
    print("| setting | num_perm | bands×rows | positives | predicted | TP | precision | recall | misses | "
          "false pos. | oracle P / R | engine, time | P>=0.95 & R>=0.90 |")
    print("|---|--:|---|--:|--:|--:|--:|--:|---|---|---|--:|---|")
    print("\n".join(summary))
    print(f"\ntotal {time.perf_counter() - t_start:.1f} s ({len(docs)} documents, {len(gt)} ground-truth pairs)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
