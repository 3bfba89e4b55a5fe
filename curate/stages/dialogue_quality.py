"""finish: `dialogue_quality` (0-1) for every live dialogue with a seeker and a supporter, from the job's
dialogue-quality card (`curate.models.dialogue_quality`), after the dialogue signals it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from curate.stages.base import Settings, Stage

if TYPE_CHECKING:
    from curate.models.dialogue_quality import DialogueQualityModel

TASK = COLUMN = "dialogue_quality"


def _load(settings: Settings) -> DialogueQualityModel:
    from curate.models.dialogue_quality import load_model

    return load_model(settings.scores[TASK].card)


def _score(table: pa.Table, model: DialogueQualityModel) -> pa.Table:
    import pyarrow.compute as pc

    from curate.models.dialogue_quality import score_table

    if not pc.any(pc.equal(table.column("kind"), "dialogue")).as_py():  # web documents: no score, no work
        return table
    q, rows = score_table(model, table)
    values = pa.array(q, type=pa.float32(), mask=~rows)
    return table.set_column(table.schema.get_field_index(COLUMN), COLUMN, values)


DIALOGUE_QUALITY = Stage("dialogue_quality", reads=("turns", "kind", "drop_reason", "sig_*", "risk_unaddressed"),
                         adds=(COLUMN,), apply=_score, setup=_load,
                         active=lambda s: TASK in s.scores and "dialogue" in s.kinds, models=True)
