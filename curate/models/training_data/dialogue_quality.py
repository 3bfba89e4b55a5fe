"""The dialogue-quality model's data: the hand-rated dialogues as a run of SMILECHAT and EmoLLM sees them.

Both whole files are read by the pipeline's own readers (SMILECHAT with the shared-sample job's roles,
client → seeker and counselor → supporter; EmoLLM as xtuner, input → seeker, output → supporter), normalised,
hashed and cut into supporter clauses, and the run's generic clauses are found over all of them, as
`dedup_global` would (no dedup: the two files hold no duplicates that matter here). The rated dialogues
(`data.gold`, references resolved by `curate.dialogue_gold`) then go through the taggers the job runs by
default for strategy, emotion and crisis risk, the dialogue signals (`curate.stages.dialogue`) and the web quality model
(the baseline the ratings are compared with). Record ids: SMILECHAT's own, `emollm-I` for the I-th item.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.dialogue_gold import GoldDialogue, read_gold_dialogues

# the job inputs the model is trained on: a run of these two files
INPUTS = (
    {"name": "smilechat", "kind": "dialogue", "id_field": "id", "path_key": "smilechat",
     "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}},
    {"name": "emollm", "kind": "dialogue", "path_key": "emollm", "dialogue": {"style": "xtuner"}},
)
TAGGERS = ("strategy", "emotion")  # the tags the dialogue signals read, with the crisis-risk tag (job's risk:)


@dataclass
class GoldTable:
    """The rated dialogues as records (every signal and tag filled), with their ratings and parts, and the
    supporter texts of the whole corpus (for the text model's document frequencies)."""

    table: pa.Table
    gold: list[GoldDialogue]
    corpus_supporter_texts: pa.Array
    generic_report: dict[str, Any]

    @property
    def ratings(self) -> np.ndarray:
        return np.array([g.rating for g in self.gold], dtype=np.float64)

    @property
    def parts(self) -> np.ndarray:
        return np.array([g.part for g in self.gold])

    @property
    def sources(self) -> np.ndarray:
        return np.array([g.dialogue_id.split("-")[0] for g in self.gold])


def _read_corpus(data: dict[str, Any], data_root: Path, tmp: Path) -> pa.Table:
    """Both files through the pipeline's readers and per_record normalisation and hashing."""
    from curate.io.readers import read_file
    from curate.job import parse_job
    from curate.schema import conform
    from curate.stages.hashing import EXACT_HASH
    from curate.stages.normalize import normalize

    inputs = [{k: v for k, v in spec.items() if k != "path_key"} | {"path": str(data_root / data[spec["path_key"]])}
              for spec in INPUTS]
    job = parse_job({"name": "dialogue-quality", "inputs": inputs, "output": str(tmp / "out"), "scores": False,
                     "tags": False}, tmp)
    tables = []
    for spec in job.inputs:
        for path in spec.files:
            for t in read_file(path, spec, rel_name=Path(path).name, max_record_bytes=job.max_record_bytes,
                               chunk_rows=5000):
                t = normalize(t, job.normalize)
                if spec.name == "emollm":  # EmoLLM has no ids: its position in data.json, as the gold file names it
                    ids = pc.binary_join_element_wise("emollm", pc.cast(t.column("source_line"), pa.string()), "-")
                    t = t.set_column(t.schema.get_field_index("id"), "id", ids)
                tables.append(conform(EXACT_HASH.apply(t, None)))
    return pa.concat_tables(tables)


def build(data: dict[str, Any], data_root: Path, parts: tuple[str, ...] = ("select", "test")) -> GoldTable:
    """The gold dialogues of `parts` (gold-file order) as fully processed records."""
    import tempfile

    from curate.job import RiskSpec, default_tags, parse_models, with_risk
    from curate.models.dialogue_quality import supporter_texts
    from curate.stages import generic_replies as gr
    from curate.stages.base import Settings
    from curate.stages.dialogue import fill_text_signals, finish_signals
    from curate.stages.rules import apply_global_rules
    from curate.stages.tag import Taggers

    data_root = Path(data_root)
    gold = [g for g in read_gold_dialogues(_gold_path(data), data_root) if g.part in parts]
    with tempfile.TemporaryDirectory(prefix="curate-dialogue-quality-") as tmp:
        corpus = _read_corpus(data, data_root, Path(tmp))
    corpus = gr.REPLY_CLAUSES.apply(corpus, Settings())
    n_dialogues = int(pc.sum(pc.is_valid(corpus.column(gr.CLAUSES))).as_py())
    need = gr.min_dialogues(n_dialogues)
    generic = pl.from_arrow(gr.generic_clauses(gr.clause_rows(corpus), None, need))["clause"]
    corpus_texts = supporter_texts(corpus.column("turns"), corpus.num_rows)

    ids = corpus.column("id").to_pylist()
    index = {i: k for k, i in enumerate(ids)}
    missing = [g.dialogue_id for g in gold if g.dialogue_id not in index]
    if missing:
        raise ValueError(f"gold dialogues not read from the data: {missing[:5]}")
    table = corpus.take(pa.array([index[g.dialogue_id] for g in gold])).drop_columns([gr.CLAUSES])
    tags = Taggers(with_risk(parse_models({t: f"{t}.yaml" for t in TAGGERS}, default_tags(), "tags"), RiskSpec()))
    table = tags(table)
    table = fill_text_signals(table)
    values, masks = finish_signals(table, generic)
    table = apply_global_rules(table, (), values, masks)
    table = _web_quality(table)
    report = {"dialogues": n_dialogues, "min_dialogues": need, "generic_clauses": len(generic)}
    return GoldTable(table, gold, corpus_texts, report)


def _web_quality(table: pa.Table) -> pa.Table:
    """The web quality model's score of each record, as `curate run` computes it (the baseline)."""
    from curate.job import default_scores, parse_models
    from curate.stages.classify import Scorers

    return Scorers(parse_models({"quality": "quality.yaml"}, default_scores(), "scores"))(table)


def _gold_path(data: dict[str, Any]) -> Path:
    from curate.annotations import gold_file

    return gold_file(data["gold"])
