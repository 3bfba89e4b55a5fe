"""Classifier-stage throughput: curate's classify stage against bare `fasttext.predict`, same texts, one run.

Texts: real Chinese text read in place from ``../shared/data`` (SMILECHAT dialogues, CPED dialogues,
EmoLLM replies, CWT CommonCrawl pages, via bench/rules.py's readers; plus COLD comments), shuffled with a
fixed seed. The shipped models (``classifiers/*.yaml``: quality, domain, toxicity, esc_relevance) score
them, on one core (Polars/Arrow/BLAS at one thread):

* bare: for each model, ``model.predict(lines, k=-1)`` with fastText's own Python API on lines featurised
  beforehand (not timed here): the floor, the model's own inference and nothing else;
* segmentation: ``featurize`` once per feature mode the models use (``chars``: characters; ``words``:
  rjieba), the cost every fastText pipeline pays before predict, shown separately;
* ours, stage: ``curate.stages.classify.score_batch`` on Arrow batches of ``--batch-size`` rows: featurises
  once per mode (shared by the models), predicts, calibrates, scatters into typed columns;
* ours, pipeline: the same stage run by Ray Data as the pipeline runs it (a one-actor pool over the same
  batches, models loaded once in the actor's constructor), timed inside the actor (the sum of its calls).

Ratios: ours/(bare + segmentation), the overhead of the stage beyond the work it cannot skip (target
within 1.3×), and ours/bare.

Usage::

    python bench/classify.py [--limit-mb 8] [--batch-size 5000] [--repeat 3] [--no-ray] [--cards DIR]

``--cards DIR`` takes the four cards (and their models) from DIR instead of ``classifiers/``: to time an
older set of models in the same sitting (e.g. ``git show REV:classifiers/quality.yaml`` and its model).
``--compare DIR`` times only the stage, for DIR's cards and the ``--cards`` ones in turn within each of
``--repeat`` rounds (one process, same batches), and prints the best and median of each: on a shared box
the load drifts between two separate runs more than a model change moves the stage.
"""

from __future__ import annotations

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import csv  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from curate.assets import asset_dir  # noqa: E402
from curate.job import ModelSpec  # noqa: E402
from curate.models import SCORE_TASKS  # noqa: E402
from curate.models.fasttext_backend import load_fasttext  # noqa: E402
from curate.models.features import featurize  # noqa: E402
from curate.stages.classify import Scorers, score_batch  # noqa: E402
from rules import DATASETS, SHARED, load_texts  # noqa: E402

pa.set_cpu_count(1)


def _cold() -> Iterator[str]:
    with open(SHARED / "cold" / "train.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["TEXT"]


def corpus(limit_mb: float, seed: int = 1) -> list[str]:
    """Real texts from every reader, up to limit_mb/5 MB each, shuffled."""
    readers: dict[str, Callable[[], Iterator[str]]] = {**DATASETS, "cold": _cold}
    texts: list[str] = []
    for reader in readers.values():
        texts += load_texts(reader, limit_mb * 1e6 / len(readers))
    random.Random(seed).shuffle(texts)
    return texts


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU-time-free wall time of `repeat` runs (one core, so wall ≈ CPU)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit-mb", type=float, default=8.0)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-ray", action="store_true", help="Skip the Ray Data row.")
    ap.add_argument("--cards", type=Path, default=None, help="folder of the cards to time (default classifiers/)")
    ap.add_argument("--compare", type=Path, default=None, help="time the stage for these cards and --cards, interleaved")
    args = ap.parse_args(argv)

    texts = corpus(args.limit_mb)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    cards = args.cards or asset_dir("classifiers")
    if args.compare:
        compare(texts, mb, {"compare": args.compare, "cards": cards}, args.batch_size, args.repeat)
        return
    specs = {task: ModelSpec(str(cards / f"{task}.yaml")) for task in SCORE_TASKS}
    scorers = Scorers(specs)
    modes = {m.card.features.get("mode", "chars") for m in scorers.models.values()}
    max_chars = {m.card.features.get("mode", "chars"): int(m.card.features.get("max_chars", 2000))
                 for m in scorers.models.values()}
    print(f"{len(texts):,} texts, {mb:.1f} MB; models: " +
          ", ".join(f"{t}={m.card.version_tag} ({m.card.features.get('mode')})" for t, m in scorers.models.items()))

    # featurised lines for the bare runs, computed once outside the timings
    lines = {mode: featurize(texts, mode, max_chars[mode]) for mode in modes}
    seg = {mode: best(lambda mode=mode: featurize(texts, mode, max_chars[mode]), args.repeat) for mode in modes}
    bare: dict[str, float] = {}
    for task, model in scorers.models.items():
        ft = load_fasttext(model.card.model_path)  # fastText's own predict: the baseline the batch engine replaces
        mode_lines = lines[model.card.features.get("mode", "chars")]
        bare[task] = best(lambda ft=ft, ls=mode_lines: ft.predict(ls, k=-1), args.repeat)

    batches = [pa.table({"text": texts[i:i + args.batch_size]}) for i in range(0, len(texts), args.batch_size)]
    stage = best(lambda: [score_batch(b, scorers) for b in batches], args.repeat)

    ray_s = None
    if not args.no_ray:
        ray_s = _time_ray(batches, specs, args.repeat)

    n = len(texts)
    floor = sum(bare.values()) + sum(seg.values())
    rows = [(f"bare fasttext.predict, {task}", s) for task, s in bare.items()]
    rows += [(f"segmentation ({mode})", s) for mode, s in seg.items()]
    rows += [("bare predict + segmentation", floor), ("ours: classify stage (score_batch)", stage)]
    if ray_s is not None:
        rows.append(("ours: stage in Ray Data actor pool (1 actor)", ray_s))
    print(f"\n{'what':<50}{'s':>8}{'docs/s':>12}{'MB/s':>8}")
    for name, s in rows:
        print(f"{name:<50}{s:>8.2f}{n / s:>12,.0f}{mb / s:>8.2f}")
    print(f"\nratio ours/(bare + segmentation): stage {stage / floor:.2f}x" +
          (f", Ray actor {ray_s / floor:.2f}x" if ray_s else "") + "   (target <= 1.3x)")
    print(f"ratio ours/bare predict alone: stage {stage / sum(bare.values()):.2f}x")


def compare(texts: list[str], mb: float, folders: dict[str, Path], batch_size: int, repeat: int) -> None:
    """The stage for each folder's cards, interleaved round by round; best and median seconds of each."""
    batches = [pa.table({"text": texts[i:i + batch_size]}) for i in range(0, len(texts), batch_size)]
    scorers = {name: Scorers({task: ModelSpec(str(d / f"{task}.yaml")) for task in SCORE_TASKS})
               for name, d in folders.items()}
    times: dict[str, list[float]] = {name: [] for name in folders}
    for _ in range(repeat):
        for name, sc in scorers.items():
            t0 = time.perf_counter()
            for b in batches:
                score_batch(b, sc)
            times[name].append(time.perf_counter() - t0)
    print(f"{len(texts):,} texts, {mb:.1f} MB; classify stage (score_batch), {repeat} interleaved rounds")
    for name, sc in scorers.items():
        ts = sorted(times[name])
        models = ", ".join(f"{t}={m.card.version_tag}" for t, m in sc.models.items())
        print(f"{name:<8} {folders[name]}: best {ts[0]:.2f} s, median {ts[len(ts) // 2]:.2f} s   ({models})")


def _time_ray(batches: list[pa.Table], specs: dict[str, ModelSpec], repeat: int) -> float:
    """The stage as the pipeline runs it: Ray Data map_batches with an actor pool (one actor, one CPU).

    Returns the seconds spent inside the actor's calls (summed per run, best run), so Ray's start-up and
    scheduling, which the pipeline pays once per run whatever the stage, are left out.
    """
    import ray

    from curate.engine.session import init_ray

    init_ray(num_cpus=1)

    class Stage:
        def __init__(self, specs: dict[str, ModelSpec]) -> None:
            self.scorers = Scorers(specs)

        def __call__(self, batch: pa.Table) -> pa.Table:
            t0 = time.perf_counter()
            out = score_batch(batch, self.scorers)
            return pa.table({"n": [out.num_rows], "s": [time.perf_counter() - t0]})

    refs = [ray.put(b) for b in batches]
    times = []
    for _ in range(repeat):
        ds = ray.data.from_arrow_refs(refs)
        ds = ds.map_batches(Stage, fn_constructor_kwargs={"specs": specs}, batch_format="pyarrow", batch_size=None,
                            compute=ray.data.ActorPoolStrategy(size=1))
        res = ds.to_arrow_refs()
        table = pa.concat_tables(ray.get(res))
        assert sum(table["n"].to_pylist()) == sum(b.num_rows for b in batches)
        times.append(sum(table["s"].to_pylist()))
    ray.shutdown()
    return min(times)


if __name__ == "__main__":
    main()
