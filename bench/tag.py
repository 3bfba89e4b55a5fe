"""Tagging-stage throughput on CPED: curate's tag stage against bare `fasttext.predict` on the same turns.

CPED train + valid (read in place from ``../shared/data/cped``), one record per dialogue, its utterances as
`turns` (role `other`, as a TV dialogue; the strategy tagger runs on supporter turns only, so it is not in
this bench). The taggers are the default job's (`curate.job.default_tags` as a job parses them): role-`other`
turns go to the spoken emotion and sentiment models, which read the same speaker's other turns; persona
models run only with `--persona` (they are off by default). On one core (Polars/Arrow/BLAS at one thread):

* bare: each model the stage runs predicts every turn (each persona model every (dialogue, speaker) text),
  with fastText's own ``predict(lines, k=-1)`` on lines featurised beforehand exactly as the stage would
  (the previous turn or the speaker's other turns as context where a card asks for it);
* featurisation: building those lines (characters or rjieba words, context prefixes), shown separately;
* ours: ``curate.stages.tag.tag_batch`` on Arrow batches of ``--batch-size`` dialogues: featurises, predicts,
  builds the nested `turns` and `speakers` columns and the record-level emotion and sentiment.

Prints turns/s and the ratio ours/(bare + featurisation) and ours/bare.

Usage::

    python bench/tag.py [--batch-size 500] [--repeat 3] [--persona]
"""

from __future__ import annotations

import one_thread  # noqa: F401  (one thread per native pool, set before the libraries below load)

# isort: split

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classify import best  # noqa: E402

from curate.job import default_tags, parse_models  # noqa: E402
from curate.models import SPEAKER_TASKS, TURN_TASKS  # noqa: E402
from curate.models.classifier import Classifier  # noqa: E402
from curate.models.fasttext_backend import load_fasttext  # noqa: E402
from curate.models.features import featurize_with_context  # noqa: E402
from curate.models.training_data.cped import speaker_context  # noqa: E402
from curate.schema import arrow_schema  # noqa: E402
from curate.stages.tag import Taggers, tag_batch  # noqa: E402
from rules import SHARED  # noqa: E402

pa.set_cpu_count(1)


def cped_dialogues() -> list[list[tuple[str, str]]]:
    """Every CPED dialogue (train, then valid) as (speaker, utterance) pairs in order."""
    dialogues: dict[str, list[tuple[str, str]]] = {}
    for split in ("train", "valid"):
        with open(SHARED / "cped" / f"{split}.csv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                dialogues.setdefault(f"{split}:{row['Dialogue_ID']}", []).append((row["Speaker"], row["Utterance"]))
    return list(dialogues.values())


def records(dialogues: list[list[tuple[str, str]]]) -> pa.Table:
    """Dialogue records with the schema's `turns` type (tags empty), as finish receives them."""
    turn_type = arrow_schema().field("turns").type
    turns = [[{"speaker": s, "role": "other", "role_raw": s, "text": t} for s, t in d] for d in dialogues]
    return pa.table({"text": ["\n".join(t for _, t in d) for d in dialogues],
                     "turns": pa.array(turns, type=turn_type), "drop_reason": pa.nulls(len(dialogues), pa.string())})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--persona", action="store_true", help="also the persona models (off in the default job)")
    args = ap.parse_args(argv)

    dialogues = cped_dialogues()
    persona = {t: f"{t}.yaml" for t in SPEAKER_TASKS} if args.persona else {}
    specs = parse_models({**{t: f"{t}.yaml" for t in TURN_TASKS if t != "strategy"}, **persona}, default_tags(), "tags")
    taggers = Taggers(specs)
    tasks = list(specs)
    texts = [t for d in dialogues for _, t in d]
    previous = [tuple([d[i - 1][1]] if i else []) for d in dialogues for i in range(len(d))]
    by_speaker = [(speaker_context(u for j, (s2, u) in enumerate(d) if s2 == s and j != i),)
                  for d in dialogues for i, (s, _) in enumerate(d)]

    def model(task: str) -> Classifier:  # the model the stage runs on role-other turns
        return taggers.spoken.get(task) or taggers.models[task]
    speaker_texts = []
    for d in dialogues:
        by: dict[str, list[str]] = {}
        for s, t in d:
            by.setdefault(s, []).append(t)
        speaker_texts += ["\n".join(v) for v in by.values()]
    n_turns, mb = len(texts), sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(dialogues):,} CPED dialogues, {n_turns:,} turns, {len(speaker_texts):,} speaker texts, {mb:.1f} MB")

    def lines_for(task: str) -> list[str]:
        feats = model(task).card.features
        per_turn = task in TURN_TASKS
        contexts = by_speaker if feats.get("context_of") == "speaker" else previous
        return featurize_with_context(texts if per_turn else speaker_texts, contexts if per_turn else [()] * len(speaker_texts),
                                      feats.get("mode", "chars"), int(feats.get("max_chars", 2000)),
                                      int(feats.get("context", 0)) if per_turn else 0)

    lines = {t: lines_for(t) for t in tasks}
    feat_s = sum(best(lambda t=t: lines_for(t), 1) for t in tasks)
    # fastText's own predict: the baseline the batch engine (curate.models.fasttext_backend) replaces
    bare_models = {t: load_fasttext(model(t).card.model_path) for t in tasks}
    bare = {t: best(lambda t=t: bare_models[t].predict(lines[t], k=-1), args.repeat) for t in tasks}
    batches = [records(dialogues[i:i + args.batch_size]) for i in range(0, len(dialogues), args.batch_size)]
    ours = best(lambda: [tag_batch(b, taggers) for b in batches], args.repeat)

    rows = [(f"bare fasttext.predict, {model(t).card.name} ({model(t).card.features.get('mode')}, "
             f"context {model(t).card.features.get('context_of', 'previous') if model(t).context else 0})", s)
            for t, s in bare.items()]
    floor = sum(bare.values()) + feat_s
    rows += [("featurisation (every model's lines)", feat_s), ("bare predict + featurisation", floor),
             ("ours: tag stage (tag_batch)", ours)]
    print(f"\n{'what':<62}{'s':>8}{'turns/s':>12}")
    for name, s in rows:
        print(f"{name:<62}{s:>8.2f}{n_turns / s:>12,.0f}")
    print(f"\nratio ours/(bare + featurisation): {ours / floor:.2f}x;  ours/bare predict alone: {ours / sum(bare.values()):.2f}x")


if __name__ == "__main__":
    main()
