"""`curate eval emotion` on whole-dialogue labels (`classifiers/annotations/emotion-record-labels.jsonl`).

The labelled SMILECHAT or EmoLLM dialogues are read by the pipeline's own reader (the roles of the shipped jobs:
client → seeker, counselor → supporter; EmoLLM's input → seeker, output → supporter), go through the per_record
stages a run applies, then through the tag stage with the card under test; the record's `emotion_scores` (its
seeker turns' probabilities, combined by the tag stage: `curate.stages.tag.record_scores`) and `emotion` (its top
label, withheld below the record-level thresholds) are compared with the gold label. A per_record rule that would
reject a dialogue does not stop it being tagged here: this measures the tag, not the filters.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.annotations import EMOLLM, SMILECHAT
from curate.models.card import ModelCard
from curate.record_gold import GoldRecord, read_gold_records, sources_of
from curate.schema import arrow_schema, label_set

# the job input a run of SMILECHAT uses (jobs/esc-dialogues.yaml, jobs/shared-sample.yaml)
SMILECHAT_INPUT = {"name": "smilechat", "kind": "dialogue", "id_field": "id",
                   "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}}
EMOLLM_INPUT = {"name": "emollm", "kind": "dialogue", "dialogue": {"style": "xtuner"}}  # jobs/esc-dialogues.yaml
INPUTS = {SMILECHAT: SMILECHAT_INPUT, EMOLLM: EMOLLM_INPUT}
Z95 = 1.959964  # two-sided 95 % normal quantile, for the Wilson interval


@dataclass(frozen=True)
class TaggedRecords:
    """The gold records after the tag stage: gold labels, the record scores (label-set order) and labels, and
    the tagged records themselves (one row per gold record, in its order: turns with their tags)."""

    gold: list[str]
    scores: np.ndarray
    emitted: list[str | None]
    tagged: pa.Table | None = None


def tag_gold_records(card: ModelCard, gold_path: Path, data_root: Path, part: str | None = None,
                     record_min_confidence: Any = None, label_values: dict[str, str] | None = None) -> TaggedRecords:
    """The gold dialogues of `part` (all where None), in gold-file order, through the reader, the per_record
    stages and the tag stage with `card` (and the job override `record_min_confidence`, where given). The gold
    labels are the task's, or mapped to it by `label_values` (a card's label map: the record emotion gold read
    for sentiment). A task whose record keeps no scores (sentiment: its label and confidence) is tagged a second
    time withholding nothing, for every record's top label; its scores are then that label's confidence, the
    rest spread evenly (enough for the arg-max figures)."""
    from curate.stages.tag import Taggers

    task = card.task
    labels = label_set(task)
    try:
        gold = [g for g in read_gold_records(gold_path, data_root, set(label_values) if label_values else labels)
                if part is None or g.part == part]
    except ValueError as e:
        if label_values is None and card.label_maps:
            raise ValueError(f"{e}; map the file's labels with --map NAME "
                             f"(this card has {sorted(card.label_maps)})") from None
        raise
    gold_labels = [label_values[g.label] if label_values else g.label for g in gold]
    if unknown := sorted(set(gold_labels) - set(labels)):
        raise ValueError(f"{gold_path}: labels {unknown} are not {task} labels")
    tags: dict[str, Any] = {"card": str(card.path)}
    if record_min_confidence is not None:
        tags["record_min_confidence"] = record_min_confidence
    table, specs = gold_table(gold, data_root, {task: tags})
    tagged = Taggers(specs)(table)
    rows = pa.array(gold_rows(tagged, gold, gold_path), type=pa.int64())
    emitted = tagged.column(task).take(rows).to_pylist()
    if f"{task}_scores" in arrow_schema().names:
        scores = np.array(tagged.column(f"{task}_scores").take(rows).to_pylist(), dtype=np.float64)
    else:
        every = Taggers({task: dataclasses.replace(specs[task], record_min_confidence=0.0)})(table)
        top = np.array([labels.index(x) for x in every.column(task).take(rows).to_pylist()], dtype=np.int64)
        conf = np.array(every.column(f"{task}_confidence").take(rows).to_pylist(), dtype=np.float64)
        scores = np.repeat(((1.0 - conf) / max(len(labels) - 1, 1))[:, None], len(labels), axis=1)
        scores[np.arange(len(top)), top] = conf
    return TaggedRecords(gold_labels, scores.reshape(len(gold), len(labels)), emitted, tagged.take(rows))


def gold_table(gold: list[GoldRecord], data_root: Path, tags: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    """The gold records' dialogues as a run reads them (reader, per_record stages; none rejected, since this
    measures the tags, not the filters), ready for the tag stage, and the tagging specs a job with `tags` parses."""
    from curate.io.readers import read_file
    from curate.job import parse_job
    from curate.run import per_record, settings_of

    wanted = pa.array(sorted({g.dialogue_id for g in gold}), type=pa.string())
    with tempfile.TemporaryDirectory(prefix="curate-record-eval-") as tmp:
        job = parse_job({"name": "record-eval", "output": str(Path(tmp) / "out"), "scores": False,
                         "inputs": [{**INPUTS[src], "path": str(data_root / src)}
                                    for src in sources_of(g.dialogue_id for g in gold)],
                         "tags": tags}, Path(tmp))
    tables = [_gold_ids(t, spec.name) for spec in job.inputs for path in spec.files
              for t in read_file(path, spec, rel_name=Path(path).name, max_record_bytes=job.max_record_bytes,
                                 chunk_rows=5000)]
    tables = [t.filter(pc.is_in(t.column("id"), value_set=wanted)) for t in tables]
    table = per_record(pa.concat_tables(tables, promote_options="permissive"), settings_of(job))
    table = table.set_column(table.schema.get_field_index("drop_reason"), "drop_reason",
                             pa.nulls(table.num_rows, pa.string()))
    return table, job.tags


def gold_rows(tagged: pa.Table, gold: list[GoldRecord], gold_path: Path) -> list[int]:
    """The row of `tagged` of each gold record, in gold order; an error names the dialogues not read."""
    index = {i: k for k, i in enumerate(tagged.column("id").to_pylist())}
    missing = [g.dialogue_id for g in gold if g.dialogue_id not in index]
    if missing:
        raise ValueError(f"{gold_path}: dialogues not read: {missing[:5]}")
    return [index[g.dialogue_id] for g in gold]


def _gold_ids(table: pa.Table, source: str) -> pa.Table:
    """Records named as the gold files name them: SMILECHAT's own ids; `emollm-I` for EmoLLM's record at
    position I (its `source_line`), as `curate.annotations.load_emollm` and evals/dialogue_quality.py do."""
    if source != EMOLLM_INPUT["name"]:
        return table
    ids = pc.binary_join_element_wise("emollm-", pc.cast(table.column("source_line"), pa.string()), "")
    return table.set_column(table.schema.get_field_index("id"), "id", ids)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (0, 0 for n = 0)."""
    if n == 0:
        return 0.0, 0.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def record_report(card: ModelCard, records: TaggedRecords) -> dict[str, Any]:
    """`curate eval`'s report of the record scores (arg-max: accuracy, macro-F1, majority, six-way, shares) and
    an `abstention` view of the labels the tag stage emitted, with a 95 % interval on their accuracy."""
    from curate.models.metrics import group_view, predicted_share, report
    from curate.schema import label_map

    labels = list(label_set(card.task))
    gold = [(g,) for g in records.gold]
    rep = report(labels, gold, records.scores)
    groups = label_map(f"{card.task}_coarse")
    if groups:
        rep["groups"] = {"name": f"{card.task} six-way", **group_view(labels, gold, records.scores, groups)}
    rep["share"] = predicted_share(labels, gold, records.scores)
    emitted = [(e, g) for e, g in zip(records.emitted, records.gold, strict=True) if e is not None]
    right = sum(e == g for e, g in emitted)
    low, high = wilson(right, len(emitted))
    view = {"min_confidence": card.record_min_confidence if card.record_min_confidence is not None
            else card.min_confidence, "emitted": round(len(emitted) / len(gold), 4) if gold else 0.0,
            "accuracy_emitted": round(right / len(emitted), 4) if emitted else 0.0,
            "n_emitted": len(emitted), "interval_95": [round(low, 4), round(high, 4)]}
    if groups:
        same = sum(groups[e] == groups[g] for e, g in emitted)
        view["groups_accuracy_emitted"] = round(same / len(emitted), 4) if emitted else 0.0
    rep["abstention"] = view
    return rep


def evaluate_records(card: ModelCard, gold_path: Path, data_root: Path, part: str | None = None,
                     label_values: dict[str, str] | None = None) -> dict[str, Any]:
    """The record-level report of `card` on a whole-dialogue gold file's `part` (its labels mapped by
    `label_values` where given)."""
    return record_report(card, tag_gold_records(card, gold_path, data_root, part, label_values=label_values))

