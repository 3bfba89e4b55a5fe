"""Affect tags: emotion, sentiment and dialogue act per turn, support strategy per supporter turn, persona
per speaker, a record-level emotion and sentiment, and crisis risk per seeker turn and per record, from the
job's tagging model cards.

A stage over one batch of records; rejected rows keep nulls. A tagging task may have up to three models,
one per register: the written one (its `card`: seekers' and supporters' turns), a `spoken` one for turns
whose role is `other` (TV-show and chat-script dialogue) and a `web` one for the sentences of web records
(without a `web` card the written one reads them). Per-turn taggers read the previous turn, or the same
speaker's other turns (`features.context_of: speaker`), as context when their card says so. Every tag
carries its top probability (`*_confidence`); below the task's `min_confidence` for its top label (the
job's, else the card's; one number or one per label) the label is null and the scores stay. A help-seeker
dialogue's record-level emotion and sentiment have thresholds of their own where the job or the card sets
`record_min_confidence` (a mean over a dialogue is flatter than one turn's scores, and they were chosen on
help-seekers' dialogues labelled by reading); other records, and those where neither sets it, use `min_confidence`.

A record's `emotion_scores` is the weighted mean of its units' emotion probabilities: the units are the
help-seeker's turns of a dialogue that has any (what a counselling dialogue's emotion is about), else all its
turns; the sentences of a web document (the taggers are trained on utterances, so a long document is read as the
sequence of utterance-sized units it is made of, not as one out-of-distribution text). A unit weighs its length
in characters (at least 1), so a long opening post outweighs short closing turns. A help-seeker's turn also
weighs by its probability of not being positive (1 − the sum of its emotion probabilities of the positive coarse
class: happy, grateful, relaxed, positive-other; at least 1e-6): the thanks, relief and agreement that close a
counselling dialogue are ritual in the emotion-writing guide (§5.2) and count only in the measure that the turn
model doubts them; in the record's `sentiment` (the mean over the same units) a help-seeker's turn weighs by 1 −
its sentiment probability of `positive` the same way. That discount was chosen and measured on help-seekers'
dialogues only, so other units (turns of dialogues without a seeker, web sentences) weigh by length alone. Chosen
on the record gold: experiments/README.md, "The record's aggregation over its units", "Record aggregation that
treats thanks as ritual" and "Record-level sentiment of help-seekers' dialogues". Where the written card has a
`record_bias`, a help-seeker record's emotion scores q then become softmax(log q + b) (`curate.models.label_shift`):
the turn model's label priors are not a help-seeker's ("A record-level label-shift correction for help-seekers");
other records are not corrected.
Crisis risk (the job's `risk:` option) is read on seeker turns only: each gets a level, its confidence and
the evidence span that the risk card's `decision` gives (`curate.models.risk_decision`: the tagger and its
cue lexicon); the record's `risk` is the highest level over its seeker turns and `risk_evidence` names the
first turn at that level and the span. With `risk.drop` a `high` record is rejected (`risk_high`).
`Taggers` is built once per Ray actor (models load once per worker).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.job import ModelSpec
from curate.models import SEEKER_TASKS, SPEAKER_TASKS, TURN_TASKS
from curate.models.abstention import label_floors, withheld
from curate.models.classifier import Classifier, load_classifier
from curate.models.features import FeatureCache
from curate.models.label_shift import apply_log_bias, bias_vector
from curate.models.risk_decision import LEVELS as RISK_LEVELS
from curate.models.risk_decision import Decision, assess
from curate.schema import arrow_schema, label_map, label_set

SUPPORTER = "supporter"
SEEKER = "seeker"
SPOKEN_ROLE = "other"  # turns of dialogues without seeker/supporter roles: TV shows, chat scripts
# which model read a unit (a turn or a web sentence): the codes of `unit_register`
WRITTEN, SPOKEN, WEB = 0, 1, 2
EMOTION, SENTIMENT = "emotion", "sentiment"
AFFECT_TASKS = (EMOTION, SENTIMENT)  # the per-turn tags that also give the record-level columns
# a web document's utterance-sized units: runs of text up to and including a sentence end (Chinese and Latin
# punctuation), or up to a newline or the end; newlines are never part of one
_SENTENCE = re.compile(r"[^。！？!?…\n]*[。！？!?…]|[^。！？!?…\n]+")
MAX_UNITS = 64  # a long document's first 64 sentences carry its tone; bounds the work per record
# the emotion labels of the positive coarse class (thanks, relief, agreement): a unit's mass on them discounts
# its weight in the record's affect (guide §5.2: closing thanks are ritual and do not outweigh the distress)
POSITIVE_EMOTIONS = np.array([i for i, lab in enumerate(label_set("emotion"))
                              if label_map("emotion_coarse")[lab] == "happy"], dtype=np.int64)
POSITIVE_SENTIMENT = np.array([label_set("sentiment").index("positive")], dtype=np.int64)
RITUAL_FLOOR = 1e-6  # the least share of its length a unit weighs
RISK = "risk"
RISK_HIGH = "risk_high"  # drop_reason of a high-risk record under the job's risk.drop


class Taggers:
    """The job's tagging models, loaded once; calling it tags a batch."""

    def __init__(self, specs: Mapping[str, ModelSpec]) -> None:
        unknown = set(specs) - set(TURN_TASKS) - set(SPEAKER_TASKS) - set(SEEKER_TASKS)
        if unknown:
            raise ValueError(f"unknown tagging task(s) {sorted(unknown)}; known: {[*TURN_TASKS, *SPEAKER_TASKS, *SEEKER_TASKS]}")
        self.models: dict[str, Classifier] = {task: load_classifier(spec.card) for task, spec in specs.items()}
        self.spoken: dict[str, Classifier] = {task: load_classifier(spec.spoken) for task, spec in specs.items()
                                              if spec.spoken and task in TURN_TASKS}
        self.web: dict[str, Classifier] = {task: load_classifier(spec.web) for task, spec in specs.items()
                                           if spec.web and task in AFFECT_TASKS}
        # per register, each model's own min_confidence per label (schema order), unless the job sets one
        registers = ((WRITTEN, self.models), (SPOKEN, self.spoken), (WEB, self.web))
        self._floors = {code: {task: _floors(specs[task], model, task) for task, model in register.items()}
                        for code, register in registers}
        # the same for the record-level tags (record_min_confidence, else min_confidence)
        self._record_floors = {code: {task: _floors(specs[task], model, task, record=True)
                                      for task, model in register.items()} for code, register in registers}
        self.label_order: dict[int, list[int]] = {}
        for task, model in [*self.models.items(), *self.spoken.items(), *self.web.items()]:
            order = label_set(_label_set_of(task))
            missing = set(order) - set(model.labels)
            if missing:
                raise ValueError(f"{model.card.path}: the {task} model lacks label(s) {sorted(missing)}")
            self.label_order[id(model)] = [model.labels.index(lab) for lab in order]
        # a help-seeker record's label-shift correction, per task whose written card has one (label-set order)
        self.record_bias = {task: bias_vector(model.card.record_bias, label_set(_label_set_of(task)))
                            for task, model in self.models.items() if model.card.record_bias}
        self.risk = Decision.of(self.models[RISK].card.decision) if RISK in self.models else None
        self.risk_drop = bool(specs[RISK].drop) if RISK in specs else False

    def register(self, task: str, register: int) -> int:
        """The register whose model reads `task` on units of `register`: the written one where the task has no
        model of its own for it."""
        return register if task in self._floors.get(register, {}) else WRITTEN

    def proba(self, task: str, texts: list[str], contexts: list[tuple[str, ...]] | None,
              cache: FeatureCache | None, *, register: int = WRITTEN) -> np.ndarray:
        """Probabilities in the schema's label-set order, from the task's model of `register` (written, spoken,
        web; the written one where the task has none for it)."""
        model = self.model(task, register)
        return model.predict_proba(texts, cache, contexts)[:, self.label_order[id(model)]]

    def model(self, task: str, register: int = WRITTEN) -> Classifier:
        """The model that reads `task` on units of `register` (the written one where the task has none for it)."""
        return {SPOKEN: self.spoken, WEB: self.web}.get(self.register(task, register), self.models)[task]

    def reads_speaker(self, task: str) -> bool:
        """Whether the spoken model of `task` reads the same speaker's other turns as context (its card's
        `features.context_of: speaker`) rather than the previous turn."""
        model = self.model(task, SPOKEN)
        return bool(model.context) and model.card.features.get("context_of", "previous") == "speaker"

    def floor(self, task: str, register: np.ndarray, record: np.ndarray | None = None) -> np.ndarray:
        """The min_confidence of each unit and label: that of the model that read it (`register`: one code per
        unit), one row per unit; where `record` (one flag per row) is set, that model's record-level thresholds
        instead (the rows are then records: a help-seeker's dialogue takes them, any other record not)."""
        out = np.empty((len(register), len(label_set(_label_set_of(task)))))
        own = np.zeros(len(register), dtype=bool) if record is None else record
        for floors, rows in ((self._floors, ~own), (self._record_floors, own)):
            out[rows] = floors[WRITTEN][task]
            for code in (SPOKEN, WEB):
                if self.register(task, code) == code:
                    out[rows & (register == code)] = floors[code][task]
        return out

    def __call__(self, batch: pa.Table) -> pa.Table:
        return tag_batch(batch, self)


def _floors(spec: ModelSpec, model: Classifier, task: str, *, record: bool = False) -> np.ndarray:
    """The thresholds of a task's labels (label-set order): the job's, else the card's; for the record-level tag
    its own (`record_min_confidence`, job then card) where either sets them, else the per-unit ones."""
    chosen = spec.min_confidence if spec.min_confidence is not None else model.card.min_confidence
    if record:
        own = (spec.record_min_confidence if spec.record_min_confidence is not None
               else model.card.record_min_confidence)
        chosen = own if own is not None else chosen
    return label_floors(chosen, label_set(_label_set_of(task)))


def _label_set_of(task: str) -> str:
    if task in SPEAKER_TASKS and task not in ("gender", "age_group"):
        return "big_five_level"
    return task


def top_labels(labels: tuple[str, ...], scores: np.ndarray, floors: float | np.ndarray = 0.0) -> pa.Array:
    """The arg-max label of each row, null where its probability is below that label's floor (`floors`: one
    number, one per label, or one per row and label; `curate.models.abstention.withheld`)."""
    if not len(scores):
        return pa.array([], type=pa.string())
    return pa.array(labels, type=pa.string()).take(pa.array(scores.argmax(axis=1), mask=withheld(scores, floors)))


def _confidence(scores: np.ndarray) -> pa.Array:
    return pa.array(scores.max(axis=1) if len(scores) else np.zeros(0), type=pa.float32())


def _list_of_floats(scores: np.ndarray) -> pa.Array:
    k = scores.shape[1] if scores.ndim == 2 else 0
    offsets = pa.array(np.arange(0, scores.shape[0] * k + 1, max(k, 1), dtype=np.int32)[: scores.shape[0] + 1])
    return pa.ListArray.from_arrays(offsets, pa.array(scores.reshape(-1), type=pa.float32()))


def _kept_rows(batch: pa.Table) -> np.ndarray:
    if "drop_reason" not in batch.column_names:
        return np.ones(batch.num_rows, dtype=bool)
    return pc.is_null(batch["drop_reason"]).to_numpy(zero_copy_only=False)


def tag_batch(batch: pa.Table, taggers: Taggers) -> pa.Table:
    """Fill turns' tags, `speakers` and the record-level `emotion`, `emotion_scores`, `sentiment`."""
    if not taggers.models or batch.num_rows == 0:
        return batch
    kept = _kept_rows(batch)
    turns_col = batch["turns"].combine_chunks() if "turns" in batch.column_names else None
    unit_rows = np.zeros(0, dtype=np.int64)
    unit_register = np.zeros(0, dtype=np.int8)
    unit_chars = np.zeros(0, dtype=np.int64)
    unit_seeker = np.zeros(0, dtype=bool)
    unit_scores: dict[str, np.ndarray] = {}
    if turns_col is not None:
        new_turns, speakers, unit_rows, unit_scores, seeker, unit_register, unit_chars, risk = \
            _tag_turns(turns_col, kept, taggers)
        if risk is not None:
            batch = _record_risk(batch, risk, taggers.risk_drop)
        use = seeker_units(unit_rows, seeker, batch.num_rows)
        unit_rows, unit_register, unit_chars = unit_rows[use], unit_register[use], unit_chars[use]
        unit_seeker = seeker[use]
        unit_scores = {task: scores[use] for task, scores in unit_scores.items()}
        batch = _set(batch, "turns", new_turns)
        batch = _set(batch, "speakers", speakers)
    # web documents (and any kept record without turns): sentences are the units, read by the web models
    has_turns = (pc.list_value_length(turns_col).fill_null(0).to_numpy(zero_copy_only=False) > 0) \
        if turns_col is not None else np.zeros(batch.num_rows, dtype=bool)
    doc_rows = np.flatnonzero(kept & ~has_turns)
    if len(doc_rows):
        texts = batch["text"].take(pa.array(doc_rows)).to_pylist()
        sent_rows: list[int] = []
        sent_texts: list[str] = []
        for row, text in zip(doc_rows.tolist(), texts, strict=True):
            sents = sentence_units(text)
            sent_rows += [row] * len(sents)
            sent_texts += sents
        cache = FeatureCache(sent_texts)
        for task in AFFECT_TASKS:
            if task in taggers.models:
                doc_scores = taggers.proba(task, sent_texts, None, cache, register=WEB)
                unit_scores[task] = np.concatenate([unit_scores.get(task, np.zeros((0, doc_scores.shape[1]))), doc_scores])
        unit_rows = np.concatenate([unit_rows, np.asarray(sent_rows, dtype=np.int64)])
        unit_register = np.concatenate([unit_register, np.full(len(sent_rows), WEB, dtype=np.int8)])
        unit_chars = np.concatenate([unit_chars, _str_chars(sent_texts)])
        unit_seeker = np.concatenate([unit_seeker, np.zeros(len(sent_rows), dtype=bool)])
    length = unit_weights(unit_chars)
    weights = {task: length for task in unit_scores}
    if unit_seeker.any():  # the ritual discount: help-seekers' turns only, each task by its own positive mass
        for task, positive in ((EMOTION, POSITIVE_EMOTIONS), (SENTIMENT, POSITIVE_SENTIMENT)):
            if task in unit_scores:
                weights[task] = np.where(unit_seeker, unit_weights(unit_chars, unit_scores[task], positive), length)
    return _record_affect(batch, unit_rows, unit_scores, unit_register, weights, unit_seeker, taggers)


def sentence_units(text: str | None) -> list[str]:
    """The units a web document's affect is read from: its first MAX_UNITS sentences that are not blank (text cut
    after each sentence end and at newlines), or the whole text when it has none."""
    return [s for s in _SENTENCE.findall(text or "") if s.strip()][:MAX_UNITS] or [text or ""]


def seeker_units(unit_rows: np.ndarray, seeker: np.ndarray, n_rows: int) -> np.ndarray:
    """Which turns a record's affect is read from (`unit_rows`: each turn's record row; `seeker`: whether it is a
    seeker's): its seeker turns where it has any, else all its turns."""
    has_seeker = np.zeros(n_rows, dtype=bool)
    has_seeker[unit_rows[seeker]] = True
    return seeker | ~has_seeker[unit_rows]


def text_chars(texts: pa.Array) -> np.ndarray:
    """Each text's length in characters (0 for a null)."""
    return pc.utf8_length(texts).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)


def _str_chars(texts: Sequence[str]) -> np.ndarray:
    """`text_chars` of texts the tag stage holds as Python strings already (the kept turns, the web sentences):
    the same code-point counts without an Arrow copy of the texts to measure them."""
    return np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))


def unit_weights(chars: np.ndarray, probs: np.ndarray | None = None, positive: np.ndarray = POSITIVE_EMOTIONS
                 ) -> np.ndarray:
    """A unit's weight in its record's affect: its length in characters, at least 1 (an empty unit still counts),
    times, given the units' probabilities (label-set order; emotion by default), 1 − their mass on the `positive`
    labels (at least RITUAL_FLOOR, so a record of nothing but thanks still has scores and never divides by 0)."""
    length = np.maximum(chars, 1).astype(np.float64)
    if probs is None:
        return length
    return length * np.maximum(1.0 - probs[:, positive].sum(axis=1, dtype=np.float64), RITUAL_FLOOR)


def record_scores(unit_rows: np.ndarray, unit_scores: np.ndarray, weights: np.ndarray, n_rows: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The records that have units and their scores: the `weights`-weighted mean of their units' probabilities
    (`unit_rows`: each unit's record row; one row of `unit_scores` and one weight per unit), as float32."""
    totals = np.bincount(unit_rows, weights=weights, minlength=n_rows) if len(unit_rows) else np.zeros(n_rows)
    rows = np.flatnonzero(np.bincount(unit_rows, minlength=n_rows) > 0) if len(unit_rows) else np.zeros(0, np.int64)
    # per label a bincount: float64 sums in unit order, without np.add.at's slow path
    sums = np.column_stack([np.bincount(unit_rows, weights=weights * unit_scores[:, j], minlength=n_rows)
                            for j in range(unit_scores.shape[1])]).astype(np.float64, copy=False)
    return rows, (sums[rows] / totals[rows, None]).astype(np.float32)


def _set(batch: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in batch.column_names:
        return batch.set_column(batch.column_names.index(name), name, values)
    return batch.append_column(name, values)


def _is(values: pa.Array, name: str) -> np.ndarray:
    return pc.equal(values, name).fill_null(False).to_numpy(zero_copy_only=False)


def _tag_turns(turns: pa.ListArray, kept: np.ndarray, taggers: Taggers
               ) -> tuple[pa.Array, pa.Array, np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray,
                          RiskTurns | None]:
    """New `turns` (tags filled on kept rows), `speakers`, and each tagged turn's row, affect scores, whether
    it is a seeker's, its register (SPOKEN for role `other`, else WRITTEN) and its length in characters; plus
    the seeker turns' risk (None without a risk tagger)."""
    turn_type = arrow_schema().field("turns").type.value_type
    flat = pc.list_flatten(turns)
    parents = pc.list_parent_indices(turns).to_numpy(zero_copy_only=False)
    on = kept[parents] if len(parents) else np.zeros(0, dtype=bool)
    idx = np.flatnonzero(on)
    texts = [t or "" for t in flat.field("text").take(pa.array(idx)).to_pylist()]
    roles = flat.field("role").take(pa.array(idx))
    contexts: list[tuple[str, ...]] | None = None  # the previous turn, for the taggers that read one
    # (written taggers always read the previous turn; a spoken one, what its card's `context_of` says)
    if any(taggers.models[task].context or (taggers.model(task, SPOKEN).context and not taggers.reads_speaker(task))
           for task in TURN_TASKS if task in taggers.models):
        prev_same = np.zeros(len(idx), dtype=bool)
        if len(idx) > 1:  # the previous turn is context only inside the same dialogue
            prev_same[1:] = (parents[idx[1:]] == parents[idx[:-1]]) & (idx[1:] == idx[:-1] + 1)
        contexts = [((texts[i - 1],) if prev_same[i] else ()) for i in range(len(idx))]
    fields = {f.name: flat.field(f.name) for f in turn_type}
    n_flat = len(flat)
    affect: dict[str, np.ndarray] = {}
    spoken_turn = _is(roles, SPOKEN_ROLE)
    speaker_ctx: list[tuple[str, ...]] | None = None
    # the turns a model reads, with their contexts and one FeatureCache, built once per set of turns: the
    # taggers reading the same turns (emotion, sentiment, dialogue act; the two spoken ones) share one featurisation
    # (keyed by the context read: the previous turn, or the same speaker's other turns)
    views: dict[tuple[bool, bytes], tuple[list[str], list[tuple[str, ...]] | None, FeatureCache]] = {}

    def view(rows: np.ndarray, by_speaker: bool) -> tuple[list[str], list[tuple[str, ...]] | None, FeatureCache]:
        key = (by_speaker, rows.tobytes())
        if key not in views:
            of = speaker_ctx if by_speaker else contexts
            sub = [texts[i] for i in rows]
            views[key] = (sub, None if of is None else [of[i] for i in rows], FeatureCache(sub))
        return views[key]

    for task in TURN_TASKS:
        if task not in taggers.models:
            continue
        labels = label_set(task)
        sel = np.arange(len(idx))
        if task == "strategy":  # supporter turns only
            sel = np.flatnonzero(_is(roles, SUPPORTER))
        spoken = spoken_turn[sel] if task in taggers.spoken else np.zeros(len(sel), dtype=bool)
        scores = np.zeros((len(sel), len(labels)))
        written = sel[~spoken]
        if len(written):
            sub_texts, sub_contexts, sub_cache = view(written, False)
            scores[~spoken] = taggers.proba(task, sub_texts, sub_contexts, sub_cache)
        if spoken.any():
            by_speaker = taggers.reads_speaker(task)
            if by_speaker and speaker_ctx is None:
                speaker_ctx = speaker_contexts(parents[idx], flat.field("speaker").take(pa.array(idx)), texts)
            talk_texts, talk_contexts, talk_cache = view(sel[spoken], by_speaker)
            scores[spoken] = taggers.proba(task, talk_texts, talk_contexts, talk_cache, register=SPOKEN)
        if task in AFFECT_TASKS:
            affect[task] = scores
        target = idx[sel]
        fields[task] = _scatter(top_labels(labels, scores, taggers.floor(task, np.where(spoken, SPOKEN, WRITTEN))),
                                target, n_flat)
        fields[f"{task}_confidence"] = _scatter(_confidence(scores), target, n_flat)
        score_field = f"{task}_scores"
        if score_field in fields:
            fields[score_field] = _scatter(_list_of_floats(scores), target, n_flat)
    risk = None
    if taggers.risk is not None:
        sel = np.flatnonzero(_is(roles, SEEKER))
        risk = _risk_turns([texts[i] for i in sel], idx[sel], parents, turns, taggers)
        fields.update(_scatter_risk(risk, n_flat))
    new_flat = pa.StructArray.from_arrays([fields[f.name].cast(f.type) for f in turn_type], fields=list(turn_type))
    new_turns = pa.ListArray.from_arrays(turns.offsets, new_flat, type=pa.list_(turn_type), mask=turns.is_null())
    speakers = _speakers(flat, parents, idx, texts, len(turns), taggers)
    return (new_turns, speakers, parents[idx], affect, _is(roles, SEEKER),
            np.where(spoken_turn, SPOKEN, WRITTEN).astype(np.int8),
            _str_chars(texts), risk)


@dataclass
class RiskTurns:
    """The seeker turns' risk: flat position, record row, index in the record's turns, level index (0 none,
    1 concern, 2 high), confidence and evidence span."""

    flat: np.ndarray
    rows: np.ndarray
    turn: np.ndarray
    level: np.ndarray
    confidence: np.ndarray
    spans: list[tuple[int, int] | None]


def _risk_turns(texts: list[str], flat: np.ndarray, parents: np.ndarray, turns: pa.ListArray, taggers: Taggers) -> RiskTurns:
    """Level, confidence and evidence of each seeker turn (`flat`: their positions among the batch's turns)."""
    assert taggers.risk is not None
    proba = (taggers.proba(RISK, taggers.risk.model_texts(texts), None, None) if texts
             else np.zeros((0, len(RISK_LEVELS))))
    res = assess(texts, taggers.models[RISK], taggers.risk, proba)
    rows = parents[flat]
    offsets = turns.offsets.to_numpy()
    starts = offsets[rows] - offsets[0] if len(flat) else np.zeros(0, dtype=np.int64)  # flat positions start at 0
    return RiskTurns(flat, rows, flat - starts, res.level, res.confidence, res.spans)


def _scatter_risk(risk: RiskTurns, n_flat: int) -> dict[str, pa.Array]:
    """The turn fields `risk`, `risk_confidence`, `risk_span` over the batch's flat turns."""
    levels = pa.array(RISK_LEVELS, type=pa.string()).take(pa.array(risk.level, type=pa.int64()))
    spans = pa.array([list(s) if s else None for s in risk.spans], type=pa.list_(pa.int32()))
    return {RISK: _scatter(levels, risk.flat, n_flat),
            f"{RISK}_confidence": _scatter(pa.array(risk.confidence, type=pa.float32()), risk.flat, n_flat),
            f"{RISK}_span": _scatter(spans, risk.flat, n_flat)}


def _record_risk(batch: pa.Table, risk: RiskTurns, drop: bool) -> pa.Table:
    """Record `risk` (the highest seeker-turn level) and `risk_evidence` (the first turn at it, and its span);
    with `drop`, kept `high` records become `risk_high` rejects."""
    n = batch.num_rows
    best = np.full(n, -1, dtype=np.int64)
    np.maximum.at(best, risk.rows, risk.level)
    at_best = np.flatnonzero(risk.level == best[risk.rows])  # flat order: row-major, turns in order
    first = at_best[np.unique(risk.rows[at_best], return_index=True)[1]] if len(at_best) else at_best
    has = best >= 0
    batch = _set(batch, RISK, pa.array(RISK_LEVELS, type=pa.string()).take(pa.array(np.maximum(best, 0), mask=~has)))
    flagged = first[risk.level[first] > 0]
    evidence_type = arrow_schema().field("risk_evidence").type
    span = np.array([risk.spans[i] or (0, 0) for i in flagged], dtype=np.int32).reshape(-1, 2)
    ev = pa.StructArray.from_arrays([pa.array(risk.turn[flagged], type=pa.int32()), pa.array(span[:, 0]), pa.array(span[:, 1])],
                                    fields=list(evidence_type))
    batch = _set(batch, "risk_evidence", _scatter(ev, risk.rows[flagged], n))
    if drop and "drop_reason" in batch.column_names:
        high = np.flatnonzero((best == 2) & _kept_rows(batch))
        if len(high):
            where = dict(zip(risk.rows[flagged].tolist(), zip(risk.turn[flagged].tolist(), span.tolist(), strict=True),
                             strict=True))
            detail: list[str | None] = [None] * n
            for r in high.tolist():
                turn, (a, b) = where[r]
                detail[r] = f"crisis risk high: seeker turn {turn}, evidence characters {a}-{b} (the job's risk.drop)"
            mask = pa.array(np.isin(np.arange(n), high))
            batch = _set(batch, "drop_reason", pc.if_else(mask, pa.scalar(RISK_HIGH), batch["drop_reason"]))
            batch = _set(batch, "drop_detail", pc.if_else(mask, pa.array(detail, type=pa.string()), batch["drop_detail"]))
    return batch


def speaker_contexts(rows: np.ndarray, speakers: pa.Array, texts: list[str]) -> list[tuple[str, ...]]:
    """Each turn's speaker context: the same speaker's other turns of the same record, joined as in training
    (`cped.speaker_context`): the speaker's joined turns with the turn's own span cut out, in one Polars pass."""
    frame = pl.DataFrame({"row": rows, "speaker": pl.Series(speakers.to_pylist(), dtype=pl.String).fill_null(""),
                          "text": pl.Series(texts, dtype=pl.String)})
    length = pl.col("text").str.len_chars()
    group = ("row", "speaker")
    others = frame.select(
        full=pl.col("text").str.join("").over(group),
        start=(length.cum_sum() - length).over(group),
        end=length.cum_sum().over(group),
    ).select(pl.concat_str(pl.col("full").str.slice(0, pl.col("start")), pl.col("full").str.slice(pl.col("end"))))
    return [(x,) for x in others.to_series().to_list()]


def _scatter(values: pa.Array, target: np.ndarray, n: int) -> pa.Array:
    pos = np.full(n, -1, dtype=np.int64)
    pos[target] = np.arange(len(target))
    return values.take(pa.array(pos, mask=pos < 0))


def _speakers(flat: pa.StructArray, parents: np.ndarray, idx: np.ndarray, texts: list[str], n_rows: int,
              taggers: Taggers) -> pa.Array:
    """One `speaker` struct per (record, speaker) of the kept rows, in order of first turn; persona filled."""
    speaker_type = arrow_schema().field("speakers").type.value_type
    take = pa.array(idx)
    turns = pl.DataFrame({"row": pl.Series(parents[idx], dtype=pl.Int64),
                          "speaker": pl.from_arrow(flat.field("speaker").take(take)).cast(pl.String).fill_null(""),
                          "role": pl.from_arrow(flat.field("role").take(take)).cast(pl.String)})
    persona = any(f.name in taggers.models for f in speaker_type)
    per_group = [pl.col("role").first(), pl.len().cast(pl.Int32).alias("n_turns")]
    if persona:  # a speaker's turns joined, for the persona models only
        turns = turns.with_columns(text=pl.Series(texts, dtype=pl.String))
        per_group.append(pl.col("text").str.join("\n"))
    # one group per (record, speaker) in order of its first turn, with that turn's role
    groups = turns.group_by("row", "speaker", maintain_order=True).agg(per_group)
    g_row = groups["row"].to_numpy()
    cols: dict[str, pa.Array] = {"speaker": groups["speaker"].to_arrow().cast(pa.string()),
                                 "role": groups["role"].to_arrow().cast(pa.string()),
                                 "n_turns": groups["n_turns"].to_arrow().cast(pa.int32())}
    joined = groups["text"].to_list() if persona else []
    cache = FeatureCache(joined)
    for f in speaker_type:
        if f.name in cols:
            continue
        if f.name in taggers.models and joined:
            scores = taggers.proba(f.name, joined, None, cache)
            cols[f.name] = top_labels(label_set(_label_set_of(f.name)), scores)
        else:
            cols[f.name] = pa.nulls(len(g_row), type=f.type)
    structs = pa.StructArray.from_arrays([cols[f.name] for f in speaker_type], fields=list(speaker_type))
    counts = np.bincount(g_row, minlength=n_rows) if len(g_row) else np.zeros(n_rows, np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), structs, type=pa.list_(speaker_type), mask=pa.array(counts == 0))


def _record_affect(batch: pa.Table, unit_rows: np.ndarray, unit_scores: dict[str, np.ndarray],
                   unit_register: np.ndarray, weights: dict[str, np.ndarray], unit_seeker: np.ndarray,
                   taggers: Taggers) -> pa.Table:
    """Record-level emotion / sentiment: the mean of the units' probabilities weighted by the task's `weights`
    (`record_scores`), corrected by the written card's `record_bias` where the units are a help-seeker's, then
    the top label and its probability; the label is null below the thresholds of the model that read the units (a
    register's own where every unit is of that register, else the written one's): its record-level ones for a
    help-seeker's dialogue, its per-unit ones for other records."""
    n = batch.num_rows
    low, high = np.full(n, WEB, dtype=np.int8), np.full(n, WRITTEN, dtype=np.int8)
    np.minimum.at(low, unit_rows, unit_register)
    np.maximum.at(high, unit_rows, unit_register)
    seeker_rows = np.bincount(unit_rows[unit_seeker], minlength=n) > 0 if len(unit_rows) else np.zeros(n, bool)
    for task, scores in unit_scores.items():
        labels = label_set(task)
        rows, mean = record_scores(unit_rows, scores, weights[task], n)
        if task in taggers.record_bias and seeker_rows[rows].any():
            shift = seeker_rows[rows]
            mean[shift] = apply_log_bias(mean[shift], taggers.record_bias[task])
        register = np.where(low[rows] == high[rows], low[rows], WRITTEN)
        # the record-level thresholds were chosen on help-seekers' dialogues: other records keep the per-unit ones
        floors = taggers.floor(task, register, record=seeker_rows[rows])
        batch = _set(batch, task, _scatter(top_labels(labels, mean, floors), rows, n))
        batch = _set(batch, f"{task}_confidence", _scatter(_confidence(mean), rows, n))
        if task == "emotion":  # the record schema keeps a distribution for emotion only
            batch = _set(batch, "emotion_scores", _scatter(_list_of_floats(mean), rows, n))
    return batch
