"""The dialogue-quality model: how good a support dialogue is as training data for a supporter model, 0-1.

A ridge regression of the 1-5 rating of `classifiers/annotations/dialogue-quality-guide.md` on the
dialogue's signals (`FEATURES`, columns of the record) and one text score (`curate.models.hashed_text` over
the supporter's turns), fitted on the `select` part of the hand ratings. The predicted rating r, stretched
around the mean rating so that its spread on the rated dialogues matches theirs (`spread`) and clipped to
1-5, becomes dialogue_quality = (r - 1) / 4; a dialogue with `risk_unaddressed` is capped at the rubric's
rating 2 (0.25), whatever else it does well, and one made of AI-assistant boilerplate at the rubric's 1 (0).
Card backend `linear`: the card's `model` is the JSON of
features, standardisation and coefficients, beside it the text model's `.npz`. Runs as the
`dialogue_quality` finish stage (`curate.stages.dialogue_quality`); trained by `curate train
dialogue_quality` (`train`), measured by `curate eval dialogue_quality` (`evaluate_gold`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.models.card import ModelCard, read_card
from curate.models.hashed_text import HashedTextModel
from curate.stages.signals import turn_frame

TASK = "dialogue_quality"
TEXT_FEATURE = "supporter_text"  # the hashed-n-gram score of the supporter's turns, as a feature name
RATING_RANGE = (1.0, 5.0)
RISK_CAP_RATING = 2.0  # the rubric: risk spoken of and left unaddressed is at most a 2
# the rubric: a dialogue made of AI-assistant refusals and self-descriptions is a 1. The rated corpora hold none,
# so no weight could be fitted for it: a cap from the rubric instead (supporter turns with boilerplate over this)
AI_CAP_RATING, AI_CAP_SHARE = 1.0, 0.5
TRANSFORMS = {"identity": lambda v: v, "log1p": np.log1p}


@dataclass
class Feature:
    """One input of the linear layer: a record column (or the text score), its transform and standardisation."""

    name: str
    coef: float
    mean: float = 0.0
    scale: float = 1.0
    transform: str = "identity"


@dataclass
class DialogueQualityModel:
    """The fitted model (what the card's JSON holds) and its text sub-model."""

    features: list[Feature]
    intercept: float
    text: HashedTextModel | None = None
    # ridge predictions crowd the mean rating; `spread` stretches them around it so that their spread on the
    # rated dialogues matches the ratings' (a monotone map: ranks unchanged), and 0-1 uses the rubric's range
    spread: float = 1.0
    card: ModelCard | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The record columns the model reads (its features but the text score)."""
        return [f.name for f in self.features if f.name != TEXT_FEATURE]

    def rating(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """The predicted 1-5 rating for feature values (raw, before transform; NaN = missing → the mean)."""
        n = len(next(iter(values.values()))) if values else 0
        z = np.zeros(n)
        for f in self.features:
            x = TRANSFORMS[f.transform](np.asarray(values[f.name], dtype=np.float64))
            std = (x - f.mean) / (f.scale or 1.0)
            z += f.coef * np.where(np.isfinite(std), std, 0.0)
        return np.clip(self.intercept + self.spread * z, *RATING_RANGE)

    def quality(self, values: dict[str, np.ndarray], risk: np.ndarray | None = None,
                ai_share: np.ndarray | None = None) -> np.ndarray:
        """dialogue_quality in 0-1 from feature values, capped where `risk` (risk left unaddressed) is true and
        where `ai_share` (supporter turns with AI-assistant boilerplate) exceeds AI_CAP_SHARE."""
        q = _unit(self.rating(values))
        if risk is not None:
            q = np.where(risk, np.minimum(q, cap()), q)
        if ai_share is not None:
            q = np.where(np.nan_to_num(ai_share) > AI_CAP_SHARE, np.minimum(q, _unit(AI_CAP_RATING)), q)
        return q

    def to_dict(self) -> dict[str, Any]:
        """The JSON the card points to."""
        return {"features": [vars(f) for f in self.features], "intercept": self.intercept, "spread": self.spread,
                "rating_range": list(RATING_RANGE), "risk_cap": cap(),
                "ai_cap": {"share_above": AI_CAP_SHARE, "score": float(_unit(AI_CAP_RATING))},
                "text_model": self.meta.get("text_model"),
                **{k: v for k, v in self.meta.items() if k != "text_model"}}


def _unit(rating: float | np.ndarray) -> float | np.ndarray:
    """A 1-5 rating on the 0-1 scale of dialogue_quality."""
    return (rating - RATING_RANGE[0]) / (RATING_RANGE[1] - RATING_RANGE[0])


def cap() -> float:
    """dialogue_quality's ceiling for a dialogue with risk left unaddressed."""
    return float(_unit(RISK_CAP_RATING))


def load_model(card: str | Path | ModelCard) -> DialogueQualityModel:
    """The model a `linear` card describes: its JSON (`model`) and the text model file it names."""
    card = card if isinstance(card, ModelCard) else read_card(card)
    if card.backend != "linear":
        raise ValueError(f"{card.path}: a dialogue-quality card has backend linear, not {card.backend!r}")
    doc = json.loads(card.model_path.read_text(encoding="utf-8"))
    text = doc.get("text_model")
    return DialogueQualityModel([Feature(**f) for f in doc["features"]], float(doc["intercept"]),
                                HashedTextModel.load(str(card.model_path.parent / text)) if text else None,
                                float(doc.get("spread", 1.0)), card, {"text_model": text})


def supporter_texts(turns: pa.Array | pa.ChunkedArray, n: int) -> pa.Array:
    """Each record's supporter turns joined by newlines ("" when it has none)."""
    frame = turn_frame(turns).filter(pl.col("role") == "supporter").group_by("row", maintain_order=True).agg(
        pl.col("text").str.join("\n"))
    full = pl.DataFrame({"row": np.arange(n)}).join(frame, on="row", how="left", maintain_order="left")
    return full["text"].fill_null("").to_arrow()


def scorable(table: pa.Table) -> np.ndarray:
    """Live dialogues with both a seeker and a supporter turn: the rows dialogue_quality is computed for."""
    n = table.num_rows
    live = pc.fill_null(pc.and_(pc.is_null(table.column("drop_reason")), pc.equal(table.column("kind"), "dialogue")),
                        False).to_numpy(zero_copy_only=False)
    roles = turn_frame(table.column("turns")).group_by("row").agg(
        seeker=(pl.col("role") == "seeker").any(), supporter=(pl.col("role") == "supporter").any())
    full = pl.DataFrame({"row": np.arange(n)}).join(roles, on="row", how="left", maintain_order="left")
    both = (full["seeker"].fill_null(False) & full["supporter"].fill_null(False)).to_numpy()
    return live & both


def feature_values(model: DialogueQualityModel, table: pa.Table) -> dict[str, np.ndarray]:
    """The model's raw feature values for every row of `table` (NaN where a column is null)."""
    values = {c: pc.fill_null(table.column(c).cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
              for c in model.columns}
    if model.text is not None:
        values[TEXT_FEATURE] = model.text.score(supporter_texts(table.column("turns"), table.num_rows))
    return values


def score_table(model: DialogueQualityModel, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """dialogue_quality for the scorable rows of `table` (`scorable`), and that mask."""
    rows = scorable(table)
    q = np.zeros(table.num_rows)
    if rows.any():
        sub = table.filter(pa.array(rows))
        risk = pc.fill_null(sub.column("risk_unaddressed"), False).to_numpy(zero_copy_only=False)
        ai = pc.fill_null(sub.column("sig_sup_ai_frac").cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        q[rows] = model.quality(feature_values(model, sub), risk, ai)
    return q, rows
