"""The crisis-risk decision: the tagger's probabilities and the cue lexicon → one level and its evidence per turn.

The risk card's `decision` mapping says how (the thresholds are chosen on the gold `select` part by
`experiments/risk.py`; the `test` part only reports them):

* `high`: a turn is `high` when the model's P(high) is at least this;
* `concern`: otherwise `concern` when P(concern) + P(high) is at least this;
* `cues`: the cue file (`classifiers/train/risk-cues.yaml`); with `cue_high: true` an unnegated first-person
  high cue makes the turn `high` whatever the model says (the lexicon's recall on explicit statements is
  what `high` needs most), with `cue_concern: true` a concern cue makes it at least `concern`, and with
  `cue_veto: true` a high cue the lexicon demoted (negated, someone else's, past, a general question) keeps
  the model from calling the turn `high`: the model reads character n-grams and cannot tell 我不会自杀 or
  我朋友想自杀 from 我想自杀, which the guide keeps apart.

A turn's evidence is the deciding cue's clause when the lexicon fired at the turn's level, else the clause
the model scores highest for that level (turns are cut into clauses as the lexicon cuts them, and only the
few flagged turns are cut).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from curate.models.classifier import Classifier
from curate.models.risk_cues import LEVEL, CueHit, RiskCues, load_cues
from curate.schema import label_set

LEVELS = label_set("risk")


@dataclass(frozen=True)
class Decision:
    """The decision settings of a risk card."""

    high: float
    concern: float
    cues: RiskCues | None
    cue_high: bool
    cue_concern: bool
    cue_veto: bool = False

    def model_texts(self, texts: Sequence[str | None]) -> list[str]:
        """What the tagger reads of each turn: the text with the lexicon's figures of speech cut out."""
        return self.cues.masked(texts) if self.cues is not None else [t or "" for t in texts]

    @classmethod
    def of(cls, decision: dict[str, Any]) -> Decision:
        """From a card's `decision` mapping (missing thresholds: arg-max-like 0.5)."""
        cues = load_cues(decision["cues"]) if decision.get("cues") else None
        return cls(float(decision.get("high", 0.5)), float(decision.get("concern", 0.5)), cues,
                   bool(decision.get("cue_high", cues is not None)), bool(decision.get("cue_concern", False)),
                   bool(decision.get("cue_veto", False)))


def levels(proba: np.ndarray, cue_levels: np.ndarray, d: Decision, demoted: np.ndarray | None = None) -> np.ndarray:
    """Level index (0 none, 1 concern, 2 high) per row of `proba` (columns in `LEVELS` order); `demoted`: the
    rows where the lexicon demoted a high cue (for `cue_veto`)."""
    high = proba[:, 2] >= d.high
    if d.cue_veto and demoted is not None:
        high &= ~demoted
    concern = proba[:, 1] + proba[:, 2] >= d.concern
    if d.cue_high:
        high |= cue_levels == 2
    if d.cue_concern:
        concern |= cue_levels >= 1
    return np.where(high, 2, np.where(concern, 1, 0))


@dataclass
class RiskResult:
    """Per turn: level index, its confidence (the model's probability mass for the level: P(none),
    P(concern) + P(high) or P(high); low where the lexicon alone set the level) and the evidence span (None
    for none)."""

    level: np.ndarray
    confidence: np.ndarray
    spans: list[tuple[int, int] | None]


def assess(texts: Sequence[str | None], model: Classifier, d: Decision, proba: np.ndarray | None = None) -> RiskResult:
    """Level, confidence and evidence span of every text (model probabilities in `LEVELS` order of
    `d.model_texts(texts)`, or `proba`)."""
    order = [model.labels.index(lab) for lab in LEVELS]
    p = model.predict_proba(d.model_texts(texts))[:, order] if proba is None else proba
    hits = d.cues.read_batch(texts) if d.cues is not None else [CueHit(LEVELS[0])] * len(texts)
    cue = np.array([LEVEL[h.level] for h in hits], dtype=np.int64)
    lev = levels(p, cue, d, np.array([h.demoted for h in hits], dtype=bool))
    # the model's mass for the level: P(none), P(concern) + P(high), P(high); low where the lexicon alone set it
    mass = np.stack([p[:, 0], p[:, 1] + p[:, 2], p[:, 2]], axis=1)
    conf = mass[np.arange(len(p)), lev] if len(p) else np.zeros(0)
    spans: list[tuple[int, int] | None] = [None] * len(p)
    need: list[int] = []
    for i in np.flatnonzero(lev > 0):
        if hits[i].span is not None and cue[i] == lev[i]:
            spans[i] = hits[i].span
        else:
            need.append(int(i))
    if need:
        _model_spans(texts, need, lev, model, order, d, spans)
    return RiskResult(lev, conf.astype(np.float32), spans)


def _model_spans(texts: Sequence[str | None], rows: list[int], lev: np.ndarray, model: Classifier, order: list[int],
                 d: Decision, spans: list[tuple[int, int] | None]) -> None:
    """Evidence for turns the model alone flagged: the clause it scores highest for the turn's level."""
    cut = d.cues.clause_end if d.cues is not None else re.compile(r"[，。！？!?；;…\n]+")
    first: list[int] = []  # index of each row's first clause in `clauses`
    bounds: list[tuple[int, int]] = []
    clauses: list[str] = []
    for i in rows:
        first.append(len(clauses))
        text, start = texts[i] or "", 0
        for m in [*cut.finditer(text), None]:
            end = m.start() if m else len(text)
            piece = text[start:end]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                bounds.append((start + lead, start + len(piece.rstrip())))
                clauses.append(piece.strip())
            if m is None:
                break
            start = m.end()
    first.append(len(clauses))
    p = model.predict_proba(d.model_texts(clauses))[:, order] if clauses else np.zeros((0, 3))
    for r, i in enumerate(rows):
        a, b = first[r], first[r + 1]
        if a < b:
            score = p[a:b, 2] if lev[i] == 2 else p[a:b, 1] + p[a:b, 2]
            spans[i] = bounds[a + int(np.argmax(score))]
