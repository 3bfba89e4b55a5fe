"""Decontamination: planted contamination found (recall, precision) on SMILECHAT, and the stage's cost as a share
of the per_record phase on bench/e2e.py's corpus.

**Recall and precision** (``--part recall``). SMILECHAT (``../shared/data/smilechat/dialogues.jsonl``, read in
place) is shuffled with ``--seed``; the first ``--eval`` dialogues are the evaluation set (written as they are to
``WORK/eval.jsonl``, the job's ``decontaminate.against``). Dialogues that open with the same 20 characters as an
evaluation dialogue (SMILECHAT rewrites some PsyQA questions more than once) are set apart; the next ``--train``
of the rest are the training run. Into it the bench plants ``--plant`` of each kind, each from its own evaluation
dialogue:

* ``verbatim``: an evaluation dialogue copied whole;
* ``edited``: copied with ``--edit-rate`` of each turn's characters substituted, deleted or inserted
  (``bench/dedup.py``'s ``mutate``), and ``edited_heavy`` with ``--heavy-rate``;
* ``one_turn``: one evaluation turn of at least 30 characters put in place of a turn of a training dialogue (a
  turn of the same role when it has one);
* ``control``: the other training dialogues, untouched.

The training file (``WORK/train.jsonl``) is run twice: in process, its texts put through the per_record stages
before decontaminate (normalize, and pii with the job's default, redact) as the run does and matched against
the index once, so every ``threshold`` is read off the same pass (the sweep); then for real, ``curate run`` with
``decontaminate: {against: [eval.jsonl]}`` at the default threshold (drop mode, no models), whose rejects give
the recall and precision printed last (they must equal the sweep's row). A hit on a control is counted as a
false positive even when it is a real overlap (SMILECHAT repeats some questions under
other openings); the run's first control hits are printed so a reader can judge them.

**Cost** (``--part cost``). bench/e2e.py's corpus of ``--mb`` MB (built into its default work folder, or reused
when ``bench/e2e.py --mb 100`` built it already) is run twice in the same sitting with the e2e job (rules, dedup;
``scores``/``tags`` off, since they run in ``finish``): without decontamination and with ``decontaminate.against``
a ``--eval-mb`` MB sample of SMILECHAT dialogues (which the e2e corpus also draws real turns and sentences
from, so it has many hits: the slow path, which quotes each hit's span). Reported: ``timings.per_record`` of both
manifests, the index build inside it, and in process, on the first ``--sample-mb`` MB of each input file, each
per_record stage's own time (one process, so the machine's load hits all stages alike).

Usage::

    python bench/decontam.py                                  # both parts
    python bench/decontam.py --part recall --eval 1000 --train 7500 --plant 250
    python bench/decontam.py --part cost --mb 100 --eval-mb 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dedup import SHARED, fmt_table, mutate  # noqa: E402 - bench/ is not a package

REPO = Path(__file__).resolve().parents[1]
SMILECHAT = SHARED / "smilechat" / "dialogues.jsonl"
KINDS = ("verbatim", "edited", "edited_heavy", "one_turn")
THRESHOLDS = (1, 5, 10, 15, 20, 25, 30, 40, 60)
LONG = 48  # characters: a control overlap this long is read as a real one, not a formula


def _compact(text: str) -> str:
    return "".join(text.split()).lower()


# ---------------------------------------------------------------- part 1: recall and precision


def plant(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Write WORK/eval.jsonl and WORK/train.jsonl; return the truth (the kind of each training line)."""
    rng = random.Random(args.seed)
    lines = SMILECHAT.read_text(encoding="utf-8").splitlines()
    dialogues = [json.loads(x) for x in lines]
    order = list(range(len(dialogues)))
    rng.shuffle(order)
    ev = [dialogues[i] for i in order[: args.eval]]
    opening = {_compact(d["turns"][0]["content"])[:20] for d in ev}
    rest = [dialogues[i] for i in order[args.eval :]]
    pool = [d for d in rest if _compact(d["turns"][0]["content"])[:20] not in opening]
    train = [json.loads(json.dumps(d)) for d in pool[: args.train]]
    sources = rng.sample(range(len(ev)), len(KINDS) * args.plant)
    kinds = ["control"] * len(train)
    planted: list[dict[str, Any]] = []
    for k, kind in enumerate(KINDS):
        for j, s in enumerate(sources[k * args.plant : (k + 1) * args.plant]):
            src = ev[s]
            if kind == "verbatim":
                planted.append({"turns": src["turns"]})
            elif kind in ("edited", "edited_heavy"):
                rate = args.edit_rate if kind == "edited" else args.heavy_rate
                planted.append({"turns": [{**t, "content": mutate(t["content"], rate, rng)} for t in src["turns"]]})
            else:  # one_turn: a host from the training dialogues becomes a planted record
                host = train[j]
                turn = rng.choice([t for t in src["turns"] if len(t["content"]) >= 30] or src["turns"])
                same = [i for i, t in enumerate(host["turns"]) if t["role"] == turn["role"]] or list(range(len(host["turns"])))
                host["turns"][rng.choice(same)] = dict(turn)
                kinds[j] = "one_turn"
    records = [({"turns": d["turns"]}, kind) for d, kind in zip(train, kinds, strict=True)]
    records += [(p, kind) for p, kind in zip(planted, [k for k in KINDS if k != "one_turn" for _ in range(args.plant)],
                                             strict=True)]
    rng.shuffle(records)
    with open(work / "train.jsonl", "w", encoding="utf-8") as f:
        for i, (r, _) in enumerate(records):
            f.write(json.dumps({"id": f"train-{i}", **r}, ensure_ascii=False) + "\n")
    (work / "eval.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in ev), encoding="utf-8")
    truth = [kind for _, kind in records]
    (work / "truth.json").write_text(json.dumps(truth), encoding="utf-8")  # the kind of each training line
    return {"kinds": truth, "same_question_set_apart": len(rest) - len(pool), "eval": len(ev),
            "train_records": len(records), "eval_mb": (work / "eval.jsonl").stat().st_size / 1e6,
            "train_mb": (work / "train.jsonl").stat().st_size / 1e6}


def _job_doc(work: Path, out: Path, against: list[Any] | None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": out.name, "output": str(out),
                           "inputs": [{"name": "train", "path": str(work / "train.jsonl"), "kind": "dialogue",
                                       "id_field": "id"}],
                           "scores": False, "tags": False, "ray": {"num_cpus": 2}, **extra}
    if against is not None:
        doc["decontaminate"] = {"against": against}
    return doc


def longest_runs(work: Path) -> tuple[np.ndarray, float]:
    """Per training record (file order), the longest run of shared n-grams in one of its turns; the seconds of
    the match pass (the index built apart)."""
    from curate.io.readers import read_file
    from curate.job import parse_job
    from curate.run import PER_RECORD, settings_of
    from curate.stages.base import Phase, PhaseRunner
    from curate.stages.contamination import match
    from curate.stages.decontaminate import DECONTAMINATE, build_eval_index, scanned_texts

    job = parse_job(_job_doc(work, work / "unused", [str(work / "eval.jsonl")]), work)
    settings = settings_of(job)
    index = build_eval_index(settings)
    spec = job.inputs[0]
    # the texts as the run's decontaminate stage sees them: after the stages before it (normalize, pii)
    before = PER_RECORD.stages[:PER_RECORD.stages.index(DECONTAMINATE)]
    runner = PhaseRunner(Phase("before_decontaminate", before), settings)
    best: list[np.ndarray] = []
    seconds = 0.0
    for table in read_file(spec.files[0], spec, rel_name="train.jsonl", max_record_bytes=10**8, chunk_rows=5000):
        table = runner.apply(table)
        t0 = time.perf_counter()
        live = np.ones(table.num_rows, dtype=bool)
        texts, rows = scanned_texts(table, live)
        m = match(texts, index)
        per_row = np.zeros(table.num_rows, dtype=np.int64)
        np.maximum.at(per_row, rows, m.longest)
        seconds += time.perf_counter() - t0
        best.append(per_row)
    return np.concatenate(best), seconds


def _rates(hit: np.ndarray, kinds: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {k: float(hit[kinds == k].mean()) for k in KINDS}
    out["control_hits"] = int(hit[kinds == "control"].sum())
    out["control_rate"] = float(hit[kinds == "control"].mean())
    out["precision"] = float((hit & (kinds != "control")).sum() / max(1, hit.sum()))
    return out


def run_curate(job_doc: dict[str, Any], run_dir: Path, log: Path) -> dict[str, Any]:
    """`curate run` in a subprocess with this checkout first on the path and a private Ray (as bench/e2e.py)."""
    import yaml

    run_dir.mkdir(parents=True, exist_ok=True)
    job_file = run_dir / f"{job_doc['name']}.yaml"
    job_file.write_text(yaml.safe_dump(job_doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shutil.rmtree(job_doc["output"], ignore_errors=True)
    ray_tmp = Path(tempfile.mkdtemp(prefix="cdc-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_TMPDIR=str(ray_tmp), PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-c", "from curate.cli import main; main()", "run", str(job_file), "-o", job_doc["output"]]
    t0 = time.perf_counter()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, check=False).returncode
    seconds = time.perf_counter() - t0
    shutil.rmtree(ray_tmp, ignore_errors=True)
    if rc != 0:
        raise SystemExit(f"curate run failed ({rc}); see {log}")
    manifest = json.loads((Path(job_doc["output"]) / "manifest.json").read_text(encoding="utf-8"))
    return {"seconds": seconds, "manifest": manifest}


def part_recall(args: argparse.Namespace, work: Path) -> None:
    truth = plant(args, work)
    kinds = np.asarray(truth["kinds"])
    print(f"SMILECHAT {SMILECHAT.stat().st_size / 1e6:.1f} MB; evaluation set {truth['eval']} dialogues "
          f"({truth['eval_mb']:.1f} MB); training run {truth['train_records']} records ({truth['train_mb']:.1f} MB); "
          f"{truth['same_question_set_apart']} dialogues with an evaluation dialogue's opening set apart; "
          f"planted {args.plant} of each kind (edited {args.edit_rate:.0%}, edited_heavy {args.heavy_rate:.0%} of "
          f"each turn's characters); seed {args.seed}")
    runs, seconds = longest_runs(work)
    rows = []
    for t in THRESHOLDS:
        r = _rates(runs >= t, kinds)
        rows.append([str(t), str(t + 12), *(f"{r[k]:.3f}" for k in KINDS), f"{r['control_hits']} ({r['control_rate']:.2%})",
                     f"{r['precision']:.3f}"])
    print("\nSweep (in process, one match pass; threshold = consecutive shared 13-grams in one turn):\n")
    print(fmt_table(["threshold", "overlap (chars)", *(f"recall {k}" for k in KINDS), "control hits", "precision"],
                     rows))
    print(f"\nmatch pass: {seconds:.2f} s for {truth['train_mb']:.1f} MB (normalised, redacted text, index built apart)")

    out = work / "run-drop"
    res = run_curate(_job_doc(work, out, [str(work / "eval.jsonl")]), work, work / "run-drop.log")
    m = res["manifest"]
    rej = pl.read_parquet(sorted((out / "rejects").glob("*.parquet")), columns=["source_line", "drop_reason", "drop_detail"])
    hit_rej = rej.filter(pl.col("drop_reason") == "contaminated")
    hit = np.zeros(len(kinds), dtype=bool)
    hit[hit_rej["source_line"].to_numpy() - 1] = True
    r = _rates(hit, kinds)
    default = m["decontamination"]["params"]["threshold"]
    print(f"\ncurate run (drop mode, threshold {default}, per_record {m['timings']['per_record']:.1f} s, index "
          f"{m['decontamination']['index_seconds']:.2f} s for {m['decontamination']['ngrams']:,} distinct 13-grams; "
          f"wall {res['seconds']:.0f} s):\n")
    print(fmt_table(["kind", "records", "rejected as contaminated", "recall"],
                     [[k, str(int((kinds == k).sum())), str(int(hit[kinds == k].sum())), f"{r[k]:.3f}"] for k in KINDS]
                     + [["control", str(int((kinds == "control").sum())), str(r["control_hits"]),
                         f"({r['control_rate']:.2%} flagged)"]]))
    print(f"\nprecision {r['precision']:.3f}; manifest: {m['decontamination']['by_evaluation_file']}, "
          f"by source {m['decontamination']['by_source']}")
    same = np.array_equal(hit, runs >= default)
    print(f"the run's hits equal the sweep's at threshold {default}: {same}")
    # formulas (closing lines, greetings) overlap by 32 to ~47 characters; longer control overlaps are, on
    # reading, one seeker's story in two SMILECHAT dialogues that open differently: real overlaps
    ctrl, long = kinds == "control", runs >= LONG - 12
    real = int((hit & ctrl & long).sum())
    print(f"of the {r['control_hits']} control hits, {real} overlap by {LONG}+ characters (the same story under "
          f"another opening); counting those as true, precision {(hit & (~ctrl | long)).sum() / max(1, hit.sum()):.3f}")
    controls = [d for line, d in zip(hit_rej["source_line"].to_list(), hit_rej["drop_detail"].to_list(), strict=True)
                if kinds[line - 1] == "control"]
    print(f"\nfirst control hits ({len(controls)}):")
    for d in controls[: args.show]:
        print("  " + d)


# ---------------------------------------------------------------- part 2: cost


def _e2e_corpus(mb: float) -> Path:
    """bench/e2e.py's corpus of `mb` MB with its default parameters, in its default work folder."""
    from e2e import corpus_params, default_work, ensure_corpus, parser

    params = corpus_params(parser().parse_args(["--mb", str(mb)]))
    corpus = default_work(params) / "corpus"
    ensure_corpus(corpus, params)
    return corpus


def _eval_sample(path: Path, mb: float, seed: int) -> dict[str, Any]:
    lines = SMILECHAT.read_text(encoding="utf-8").splitlines()
    random.Random(seed).shuffle(lines)
    out, size = [], 0
    for x in lines:
        if size >= mb * 1e6:
            break
        out.append(x)
        size += len(x.encode()) + 1
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return {"dialogues": len(out), "mb": size / 1e6}


def stage_times(job_doc: dict[str, Any], base: Path, sample_mb: float) -> dict[str, float]:
    """Each per_record stage's seconds over the first `sample_mb` MB of the inputs (the same share of every
    file, read as its first byte-range piece), in this process."""
    from curate.io.readers import jsonl_pieces, read_file
    from curate.job import parse_job
    from curate.run import PER_RECORD, settings_of

    job = parse_job(job_doc, base)
    settings = PER_RECORD.prepare(settings_of(job))
    stages = [(s, s.setup(settings) if s.setup else settings) for s in PER_RECORD.active(settings)]
    times = dict.fromkeys((s.name for s, _ in stages), 0.0)
    files = [(f, spec) for spec in job.inputs for f in spec.files]
    share = sample_mb * 1e6 / sum(os.path.getsize(f) for f, _ in files)
    for f, spec in files[:: max(1, len(files) // len(job.inputs))]:  # warm-up: compiled code loads on first use
        table = next(read_file(f, spec, rel_name=Path(f).name, max_record_bytes=job.max_record_bytes, chunk_rows=200))
        for s, state in stages:
            table = s.apply(table, state)
    for f, spec in files:
        piece = jsonl_pieces(f, max(1, int(os.path.getsize(f) * share)))[0]
        for table in read_file(f, spec, rel_name=Path(f).name, max_record_bytes=job.max_record_bytes, chunk_rows=5000,
                               piece=piece):
            for s, state in stages:
                t0 = time.perf_counter()
                table = s.apply(table, state)
                times[s.name] += time.perf_counter() - t0
    return times


def part_cost(args: argparse.Namespace, work: Path) -> None:
    corpus = _e2e_corpus(args.mb)
    ev = _eval_sample(work / "eval-cost.jsonl", args.eval_mb, args.seed)
    base_doc = json.loads((corpus / "job.json").read_text())
    base_doc.update(scores=False, tags=False, ray={"num_cpus": args.cpus})
    docs = {"without": {**base_doc, "name": "e2e-without", "output": str(work / "e2e-without")},
            "with": {**base_doc, "name": "e2e-with", "output": str(work / "e2e-with"),
                     "decontaminate": {"against": [str(work / "eval-cost.jsonl")]}}}
    load = [os.getloadavg()]
    results: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    for _ in range(args.repeat):
        for name, doc in docs.items():
            results[name].append(run_curate(doc, work, work / f"e2e-{name}.log"))
            load.append(os.getloadavg())
    print(f"e2e corpus {corpus} ({args.mb:.0f} MB), evaluation set {ev['dialogues']} SMILECHAT dialogues "
          f"({ev['mb']:.1f} MB); {args.cpus} CPUs; load average (1 min) {[round(x[0], 1) for x in load]} on "
          f"{os.cpu_count()} CPUs\n")
    rows = []
    for name, runs in results.items():
        for i, r in enumerate(runs):
            m = r["manifest"]
            d = m.get("decontamination", {})
            rows.append([name, str(i + 1), f"{m['timings']['per_record']:.1f}", f"{d.get('index_seconds', 0):.2f}",
                         str(d.get("contaminated", "—")), str(m["totals"]["records_in"]), f"{r['seconds']:.0f}"])
    print(fmt_table(["decontaminate", "run", "per_record s", "index s (inside)", "contaminated", "records",
                      "wall s"], rows))
    without = min(r["manifest"]["timings"]["per_record"] for r in results["without"])
    with_ = min(r["manifest"]["timings"]["per_record"] for r in results["with"])
    print(f"\nbest per_record: {without:.1f} s without, {with_:.1f} s with: the stage and its index cost "
          f"{(with_ - without) / with_:.1%} of per_record (whole runs on a shared machine: noisy)")
    times = stage_times(docs["with"], corpus, args.sample_mb)
    total = sum(times.values())
    print(f"\nIn process, the first {args.sample_mb:.0f} MB of the inputs, seconds per per_record stage (reading not "
          f"included):\n")
    print(fmt_table(["stage", "seconds", "share"], [[k, f"{v:.2f}", f"{v / total:.1%}"] for k, v in times.items()]
                     + [["total", f"{total:.2f}", "100%"]]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["recall", "cost", "both"], default="both")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval", type=int, default=1000, help="evaluation dialogues (recall part)")
    ap.add_argument("--train", type=int, default=7500, help="training dialogues before planting (recall part)")
    ap.add_argument("--plant", type=int, default=250, help="planted records of each kind (recall part)")
    ap.add_argument("--edit-rate", type=float, default=0.03, help="share of each turn's characters edited: edited")
    ap.add_argument("--heavy-rate", type=float, default=0.08, help="the same for edited_heavy")
    ap.add_argument("--show", type=int, default=10, help="control hits to print")
    ap.add_argument("--mb", type=float, default=100.0, help="e2e corpus size (cost part)")
    ap.add_argument("--eval-mb", type=float, default=10.0, help="evaluation set size (cost part)")
    ap.add_argument("--sample-mb", type=float, default=10.0, help="input read for the in-process stage times")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each job (cost part)")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--work", help="work folder (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="curate-bench-decontam-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}", file=sys.stderr)
    if args.part in ("recall", "both"):
        part_recall(args, work)
    if args.part in ("cost", "both"):
        print()
        part_cost(args, work)


if __name__ == "__main__":
    main()
