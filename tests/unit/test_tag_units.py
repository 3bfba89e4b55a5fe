"""The tag stage's pieces that training must agree with: the speaker context and the withheld labels."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from curate.models.training_data.cped import speaker_context
from curate.stages.tag import speaker_contexts, top_labels


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["甲", "乙", None]), st.text("你好吗我们 \n", max_size=6)),
                max_size=40))
def test_speaker_context_in_the_stage_equals_the_training_one(turns: list[tuple[int, str | None, str]]) -> None:
    turns = sorted(turns, key=lambda t: t[0])  # a batch's turns come grouped by record
    rows = np.array([t[0] for t in turns], dtype=np.int64)
    speakers = [t[1] for t in turns]
    texts = [t[2] for t in turns]
    got = speaker_contexts(rows, pa.array(speakers, type=pa.string()), texts)
    expected = [(speaker_context(texts[j] for j in range(len(turns))
                                 if rows[j] == rows[i] and (speakers[j] or "") == (speakers[i] or "") and j != i),)
                for i in range(len(turns))]
    assert got == expected


def test_labels_below_min_confidence_are_null() -> None:
    rng = random.Random(1)
    scores = np.array([[rng.random() for _ in range(3)] for _ in range(50)])
    scores /= scores.sum(axis=1, keepdims=True)
    got = top_labels(("a", "b", "c"), scores, 0.5).to_pylist()
    for row, label in zip(scores, got, strict=True):
        assert label == (("a", "b", "c")[int(row.argmax())] if row.max() >= 0.5 else None)
    assert None in got and any(got)
