"""The tag stage on web records: the emotion of their sentences read by the web card against the written one.

CLUECorpusSmall's 1,500 documents (``../shared/data/web/cluecorpussmall-a.txt``, evaluation and benchmarks
only) as `kind: web` records, through ``curate.stages.tag.tag_batch`` with the default job's taggers (as a job
parses them; only emotion and sentiment read web records), once as shipped (emotion by `emotion-web`) and
once with ``web: false`` (emotion by the written card, as before the web card), the two alternated in one
process. CPU time (``time.process_time``) on one core (Arrow, Polars, BLAS at one thread); prints the median
and the spread of each over the rounds, and their ratio.

`--web-card CARD` adds a third variant, the web sentences read by CARD (another version of `emotion-web`, to
compare two web cards in one process). `--after-scores` times the stage as the finish phase runs it: each
batch inside one `segments_for_batch`, after the domain model's rjieba words of the records' text (the scores
stage, untimed), so word-mode web cards find most sentences' pieces already segmented.

Usage::

    python bench/tag_web.py [--batch-size 500] [--rounds 7] [--web-card CARD] [--after-scores]
"""

from __future__ import annotations

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from curate.assets import resolve_asset  # noqa: E402
from curate.job import default_tags, parse_models  # noqa: E402
from curate.models import TURN_TASKS  # noqa: E402
from curate.models.card import read_card  # noqa: E402
from curate.models.features import segments_for_batch, tokens  # noqa: E402
from curate.schema import arrow_schema, conform  # noqa: E402
from curate.stages.tag import MAX_UNITS, Taggers, tag_batch  # noqa: E402
from rules import SHARED  # noqa: E402

pa.set_cpu_count(1)
DOMAIN_FEATURES = read_card(resolve_asset("domain.yaml", "classifiers")).features


def web_records(batch_size: int) -> list[pa.Table]:
    """CLUECorpusSmall's documents as web records with the schema's columns, in batches."""
    lines = [x for x in (SHARED / "web" / "cluecorpussmall-a.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
    base = {"kind": "web", "source": "clue", "source_file": "clue.txt", "schema_version": "x", "pipeline_version": "x"}
    rows = [{**base, "id": f"w{i}", "source_line": i + 1, "text": t} for i, t in enumerate(lines)]
    return [conform(pa.Table.from_pylist(rows[i:i + batch_size], schema=arrow_schema()))
            for i in range(0, len(rows), batch_size)]


def cpu_seconds(batches: list[pa.Table], taggers: Taggers, after_scores: bool = False) -> float:
    """CPU seconds of the tag stage over every batch (`after_scores`: as in the finish phase, see above)."""
    if not after_scores:
        t0 = time.process_time()
        for b in batches:
            tag_batch(b, taggers)
        return time.process_time() - t0
    spent = 0.0
    for b in batches:
        with segments_for_batch():
            # the domain model's featurisation of the records' text, as the scores stage does before the tags
            tokens(b.column("text").to_pylist(), DOMAIN_FEATURES["mode"], int(DOMAIN_FEATURES["max_chars"]))
            t0 = time.process_time()
            tag_batch(b, taggers)
            spent += time.process_time() - t0
    return spent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--web-card", help="also the web sentences read by this emotion card")
    ap.add_argument("--after-scores", action="store_true",
                    help="inside one segments_for_batch per batch, after the domain model's words (untimed)")
    args = ap.parse_args(argv)
    batches = web_records(args.batch_size)
    tasks = {t: True for t in TURN_TASKS}
    variants = {
        "web card (emotion-web)": Taggers(parse_models(tasks, default_tags(), "tags")),
        "written card (web: false)": Taggers(parse_models({**tasks, "emotion": {"web": False}}, default_tags(), "tags")),
    }
    if args.web_card:
        variants[f"web card {Path(args.web_card).name}"] = Taggers(
            parse_models({**tasks, "emotion": {"web": args.web_card}}, default_tags(), "tags"))
    n_docs = sum(b.num_rows for b in batches)
    print(f"{n_docs:,} web documents, batches of {args.batch_size}, sentences up to {MAX_UNITS} per document")
    for taggers in variants.values():  # warm: numba compiles, caches fill
        cpu_seconds(batches[:1], taggers, args.after_scores)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))  # alternate which goes first
        for name in order:
            times[name].append(cpu_seconds(batches, variants[name], args.after_scores))
    print(f"\n{'emotion of web sentences by':<40}{'median CPU s':>14}{'min':>8}{'max':>8}")
    for name, ts in times.items():
        print(f"{name:<40}{statistics.median(ts):>14.3f}{min(ts):>8.3f}{max(ts):>8.3f}")
    medians = [statistics.median(ts) for ts in times.values()]
    print(f"\nratio web / written: {medians[0] / medians[1]:.3f} over {args.rounds} alternated rounds")
    if args.web_card:
        print(f"ratio web / {Path(args.web_card).name}: {medians[0] / medians[2]:.3f}")


if __name__ == "__main__":
    main()
