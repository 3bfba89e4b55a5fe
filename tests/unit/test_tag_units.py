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


def _dialogues() -> pa.Table:
    from curate.schema import arrow_schema, conform

    dialogues = [
        [("seeker", "最近工作压力很大，睡不好。"), ("supporter", "听起来你很累，愿意多说一点吗？"),
         ("seeker", "我也不知道该怎么办。"), ("supporter", "我们可以一起想想办法。")],
        [("甲", "你今天怎么回来这么晚？"), ("乙", "路上堵车了，别生气嘛。"), ("甲", "我没生气，就是担心你。")],
    ]
    rows = [{"id": f"d{i}", "kind": "dialogue", "source": "t", "source_file": "t.jsonl", "source_line": i + 1,
             "schema_version": "x", "pipeline_version": "x", "text": "",
             "turns": [{"speaker": s, "role": s if s in ("seeker", "supporter") else "other", "role_raw": s, "text": t}
                       for s, t in turns]}
            for i, turns in enumerate(dialogues)]
    return conform(pa.Table.from_pylist(rows, schema=arrow_schema()))


def test_taggers_reading_the_same_turns_share_one_featurisation(repo, monkeypatch) -> None:
    from curate.job import ModelSpec
    from curate.models import features
    from curate.stages.tag import Taggers, tag_batch

    cards = repo / "classifiers"
    taggers = Taggers({"emotion": ModelSpec(str(cards / "emotion.yaml"), spoken=str(cards / "emotion-spoken.yaml")),
                       "sentiment": ModelSpec(str(cards / "sentiment.yaml"),
                                              spoken=str(cards / "sentiment-spoken.yaml")),
                       "dialogue_act": ModelSpec(str(cards / "dialogue_act.yaml")),
                       "strategy": ModelSpec(str(cards / "strategy.yaml"))})
    calls = []  # featurisations: every cut of a set of texts into character tokens (these cards read characters)
    ids = features._char_ids
    monkeypatch.setattr(features, "_char_ids", lambda *a: calls.append(a) or ids(*a))
    shared = tag_batch(_dialogues(), taggers)
    # the written turns of emotion and sentiment; all turns (dialogue act); the supporter's (strategy); the
    # spoken turns and their speaker contexts (emotion and sentiment spoken): one featurisation each
    assert len(calls) == 5
    # each model featurising for itself gives the same table
    monkeypatch.setattr(features.FeatureCache, "tokens", lambda self, mode, max_chars=2000:
                        features.tokens(self.texts, mode, max_chars))
    monkeypatch.setattr(features.FeatureCache, "tokens_with_context", lambda self, contexts, mode, max_chars=2000,
                        context=1: features.tokens_with_context(self.texts, contexts, mode, max_chars, context))
    calls.clear()
    alone = tag_batch(_dialogues(), taggers)
    assert len(calls) == 8
    assert alone.equals(shared)


@given(st.text("你好。！？!?…\n\r \t\u3000a", max_size=60))
def test_sentence_units_are_the_text_cut_after_sentence_ends_and_at_newlines(text: str) -> None:
    import re

    from curate.stages.tag import MAX_UNITS, sentence_units

    # the definition: split after each sentence end (zero width) and at runs of newlines, blanks dropped
    parts = [s for s in re.split(r"(?<=[。！？!?…])|\n+", text) if s and s.strip()]
    assert sentence_units(text) == (parts[:MAX_UNITS] or [text])


def test_sentence_units_keep_the_first_64() -> None:
    from curate.stages.tag import MAX_UNITS, sentence_units

    assert sentence_units("好。" * 100) == ["好。"] * MAX_UNITS
    assert sentence_units(None) == [""] and sentence_units(" \n ") == [" \n "]


def test_a_written_tagger_with_context_reads_the_previous_turn(repo) -> None:
    from curate.job import ModelSpec
    from curate.models.classifier import load_classifier
    from curate.schema import label_set
    from curate.stages.tag import Taggers, tag_batch

    card = repo / "classifiers" / "emotion-spoken.yaml"  # a card with context 1, here as the written model
    table = _dialogues()
    out = tag_batch(table, Taggers({"emotion": ModelSpec(str(card))}))
    model = load_classifier(card)
    assert model.context == 1
    for record in out.to_pylist():
        texts = [t["text"] for t in record["turns"]]
        contexts = [(texts[i - 1],) if i else () for i in range(len(texts))]
        proba = model.predict_proba(texts, contexts=contexts)[:, [model.labels.index(x) for x in label_set("emotion")]]
        got = np.array([t["emotion_scores"] for t in record["turns"]], dtype=np.float32)
        np.testing.assert_array_equal(got, proba.astype(np.float32))


def test_a_spoken_tagger_reads_the_context_its_card_names(repo, tmp_path) -> None:
    """A spoken card with `features.context_of: previous` reads the previous turn in the stage, as `curate train`
    and `curate eval` give it; with `speaker`, the same speaker's other turns."""
    import yaml

    from curate.job import ModelSpec
    from curate.models.classifier import load_classifier
    from curate.schema import label_set
    from curate.stages.tag import Taggers, tag_batch

    cards = repo / "classifiers"
    doc = yaml.safe_load((cards / "emotion-spoken.yaml").read_text(encoding="utf-8"))
    doc["features"]["context_of"] = "previous"
    doc["model"] = str(cards / doc["model"])
    previous = tmp_path / "emotion-spoken-previous.yaml"
    previous.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    for card, by_speaker in ((previous, False), (cards / "emotion-spoken.yaml", True)):
        out = tag_batch(_dialogues(), Taggers({"emotion": ModelSpec(str(cards / "emotion.yaml"), spoken=str(card))}))
        model = load_classifier(card)
        record = out.to_pylist()[1]  # the TV-style dialogue: every turn is role `other`
        texts = [t["text"] for t in record["turns"]]
        speakers = [t["speaker"] for t in record["turns"]]
        contexts = ([(speaker_context(texts[j] for j in range(len(texts)) if speakers[j] == speakers[i] and j != i),)
                     for i in range(len(texts))] if by_speaker else
                    [(texts[i - 1],) if i else () for i in range(len(texts))])
        proba = model.predict_proba(texts, contexts=contexts)[:, [model.labels.index(x) for x in label_set("emotion")]]
        got = np.array([t["emotion_scores"] for t in record["turns"]], dtype=np.float32)
        np.testing.assert_array_equal(got, proba.astype(np.float32))
