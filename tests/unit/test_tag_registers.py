"""Which model reads which unit: a web record's sentences go to the task's web card (emotion-web), help-seekers'
and supporters' turns to the written card, and a task without a web card (sentiment) reads web text with its
written one. Synthetic text, no Ray."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from curate.job import JobError, default_tags, parse_models
from curate.models.classifier import load_classifier
from curate.schema import arrow_schema, conform, label_set
from curate.stages.tag import Taggers, tag_batch, unit_weights

SENTENCES = ["今天终于收到了录取通知书，太开心了！", "可是回家路上钱包被偷了，气死我了。", "明天还要早起上班。"]
SEEKER = "最近总是睡不着，心里很慌，不知道该怎么办。"
CHARS = np.array([len(s) for s in SENTENCES])  # a web record's affect weighs each sentence by its length


def _batch() -> pa.Table:
    base = {"source": "t", "source_file": "t.jsonl", "schema_version": "x", "pipeline_version": "x"}
    rows = [{**base, "id": "d", "kind": "dialogue", "source_line": 1, "text": "",
             "turns": [{"speaker": "a", "role": "seeker", "role_raw": "client", "text": SEEKER},
                       {"speaker": "b", "role": "supporter", "role_raw": "counselor", "text": "我在听，你慢慢说。"}]},
            {**base, "id": "w", "kind": "web", "source_line": 2, "text": "".join(SENTENCES)}]
    return conform(pa.Table.from_pylist(rows, schema=arrow_schema()))


def _ordered(card: str, texts: list[str]) -> np.ndarray:
    """The card's probabilities in the schema's emotion label order."""
    clf = load_classifier(card)
    return clf.predict_proba(texts)[:, [clf.labels.index(lab) for lab in label_set(clf.card.task)]]


def test_default_tags_pair_emotion_with_its_web_card() -> None:
    specs = parse_models(None, default_tags(), "tags")
    assert specs["emotion"].web and specs["emotion"].web.endswith("emotion-web.yaml")
    assert specs["emotion"].spoken and specs["emotion"].spoken.endswith("emotion-spoken.yaml")
    assert specs["sentiment"].web is None                      # no web sentiment card: the written one reads web text
    off = parse_models({"emotion": {"card": "emotion.yaml", "web": False}}, default_tags(), "tags")
    assert off["emotion"].web is None
    with pytest.raises(JobError, match="tags.emotion.web"):
        parse_models({"emotion": {"web": "sentiment.yaml"}}, default_tags(), "tags")


def test_a_web_records_emotion_comes_from_the_web_card() -> None:
    specs = parse_models({"emotion": True, "sentiment": True}, default_tags(), "tags")
    out = tag_batch(_batch(), Taggers(specs)).to_pylist()
    dialogue, web = out
    # the web record: the mean of the web card's probabilities over its sentences, weighted by their length
    # alone (the positive-mass discount is for help-seekers' turns only)
    web_emotion = _ordered(specs["emotion"].web, SENTENCES)
    weights = unit_weights(CHARS)
    expected = np.average(web_emotion, axis=0, weights=weights)
    assert np.allclose(web["emotion_scores"], expected, atol=1e-5)
    written = np.average(_ordered(specs["emotion"].card, SENTENCES), axis=0, weights=weights)
    assert not np.allclose(expected, written, atol=1e-3)        # the two cards disagree here: the test tells them apart
    floor = load_classifier(specs["emotion"].web).card.min_confidence or 0.0
    assert web["emotion"] == (label_set("emotion")[int(expected.argmax())] if expected.max() >= floor else None)
    # sentiment has no web card: the written one reads the sentences, with the same weights as emotion
    sentiment = np.average(_ordered(specs["sentiment"].card, SENTENCES), axis=0, weights=weights)
    assert web["sentiment_confidence"] == pytest.approx(sentiment.max(), abs=1e-5)
    # the seeker's turn keeps the written card (a dialogue's record emotion is its seeker turns')
    seeker = _ordered(specs["emotion"].card, [SEEKER])[0]
    assert np.allclose(dialogue["turns"][0]["emotion_scores"], seeker, atol=1e-5)
    assert np.allclose(dialogue["emotion_scores"], seeker, atol=1e-5)


def test_a_job_may_read_web_text_with_the_written_card() -> None:
    specs = parse_models({"emotion": {"card": "emotion.yaml", "web": False}}, default_tags(), "tags")
    web = tag_batch(_batch(), Taggers(specs)).to_pylist()[1]
    written = _ordered(specs["emotion"].card, SENTENCES)
    assert np.allclose(web["emotion_scores"], np.average(written, axis=0, weights=unit_weights(CHARS)), atol=1e-5)


def test_eval_reads_web_posts_with_the_web_card() -> None:
    from curate.models.evaluate import default_card

    assert default_card("emotion", "ewect").name == "emotion-web.yaml"        # EWECT: Weibo posts
    assert default_card("emotion").name == "emotion.yaml"                      # the gold seeker turns, any file
    assert default_card("sentiment", "chnsenticorp").name == "sentiment.yaml"  # no web sentiment card
