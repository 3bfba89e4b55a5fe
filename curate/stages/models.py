"""The model stages: scores (quality, domain, toxicity, ESC relevance) and affect tags, over kept rows.

Declared here without importing the model runtimes: a run without models never loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from curate.stages.base import Settings, Stage

if TYPE_CHECKING:
    from curate.stages.classify import Scorers
    from curate.stages.tag import Taggers


@dataclass
class Models:
    """The job's scorers and taggers, loaded once per actor."""

    scorers: Scorers | None
    taggers: Taggers | None


def load_models(settings: Settings) -> Models:
    """Load the job's models; the scorers' per-row `models` column also names every tagger."""
    from curate.job import REGISTERS
    from curate.models import SIGNAL_SCORES
    from curate.models.card import read_card
    from curate.stages.classify import Scorers
    from curate.stages.tag import Taggers

    text_scores = {t: s for t, s in settings.scores.items() if t not in SIGNAL_SCORES}
    scorers = Scorers(text_scores) if text_scores else None
    taggers = Taggers(settings.tags) if settings.tags else None
    if scorers and taggers:
        scorers.add_versions({**taggers.models, **{f"{t}-{register}": m for register in REGISTERS
                                                   for t, m in getattr(taggers, register).items()}})
    if scorers and "dialogue" in settings.kinds:  # the signal scores' own stage runs them (on dialogues); the
        # row's `models` names them too
        scorers.add_versions({t: _Carded(read_card(s.card)) for t, s in settings.scores.items() if t in SIGNAL_SCORES})
    return Models(scorers, taggers)


@dataclass
class _Carded:
    """A model known by its card alone (what `Scorers.add_versions` reads)."""

    card: Any


def _score(table: pa.Table, models: Models) -> pa.Table:
    return models.scorers(table) if models.scorers is not None else table


def _tag(table: pa.Table, models: Models) -> pa.Table:
    return models.taggers(table) if models.taggers is not None else table


SCORES = Stage("scores", reads=("text", "turns", "drop_reason"),
               adds=("quality", "domain", "domain_scores", "toxicity", "toxic", "esc_relevance", "models"),
               apply=_score, setup=load_models, active=lambda s: bool(s.scores), models=True)
TAGS = Stage("tags", reads=("turns", "speakers", "drop_reason"),
             adds=("turns.emotion", "turns.sentiment", "turns.dialogue_act", "turns.strategy", "speakers.*",
                   "emotion", "sentiment"),
             apply=_tag, setup=load_models, active=lambda s: bool(s.tags), models=True)


def models_report(settings: Settings) -> dict[str, Any]:
    """The models that scored and tagged a run: task → name, version, backend, file hash, card, threshold,
    min_confidence, record_min_confidence (the record-level tag's; None: it uses min_confidence); a tagging
    task's spoken model (role-other turns) as `TASK-spoken`, its web model (web records' sentences) as
    `TASK-web`."""
    from curate.job import REGISTERS
    from curate.models.card import read_card

    out: dict[str, Any] = {}
    for task, spec in sorted({**settings.scores, **settings.tags}.items()):
        partners = ((f"{task}-{register}", getattr(spec, register)) for register in REGISTERS)
        for key, path in ((task, spec.card), *((key, path) for key, path in partners if path)):
            card = read_card(path)
            out[key] = {"name": card.name, "version": card.version, "backend": card.backend, "sha256": card.sha256,
                        "card": path, "threshold": spec.threshold if spec.threshold is not None else card.threshold,
                        "min_confidence": spec.min_confidence if spec.min_confidence is not None else card.min_confidence,
                        "record_min_confidence": (spec.record_min_confidence if spec.record_min_confidence is not None
                                                  else card.record_min_confidence)}
    return out
