"""How a dialogue reads as one text: the rendering that models are trained on and that the pipeline scores.

A dialogue record's `text` is its turns as `speaker：utterance` lines joined by newlines. The pipeline
renders it vectorised over Arrow columns (`curate.stages.normalize`, with the separators defined here);
the training-data builders (`curate.models.training_data`) render their dialogues with `render_dialogue`, naming
each turn's speaker as the pipeline's readers do, so a model sees in training the text it scores.
`tests/unit/test_render.py` checks that the two agree on real SMILECHAT and EmoLLM dialogues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SPEAKER_SEPARATOR = "："  # between a turn's speaker and its utterance
TURN_SEPARATOR = "\n"  # between the turns of a dialogue

# The keys of an xtuner `conversation` item (EmoLLM), in turn order; the readers name each turn by its key.
XTUNER_KEYS = ("system", "input", "output")


def render_turn(speaker: str | None, text: str | None) -> str:
    """One turn as a line: `speaker：utterance` (a missing speaker or utterance renders as empty)."""
    return f"{speaker or ''}{SPEAKER_SEPARATOR}{text or ''}"


def render_dialogue(turns: Iterable[tuple[str | None, str | None]]) -> str:
    """(speaker, utterance) turns as the text a model sees: one `speaker：utterance` line per turn."""
    return TURN_SEPARATOR.join(render_turn(speaker, text) for speaker, text in turns)


def xtuner_turns(conversation: Iterable[Mapping[str, object]]) -> list[tuple[str, str]]:
    """(speaker, utterance) turns of an xtuner `conversation` as the pipeline reads them (style `xtuner`):
    per item its system prompt (when not empty), input and output, each named by its key."""
    turns: list[tuple[str, str]] = []
    for item in conversation:
        for key in XTUNER_KEYS:
            value = item.get(key)
            if key == "system" and not value:
                continue
            turns.append((key, "" if value is None else str(value)))
    return turns
