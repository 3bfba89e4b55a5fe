"""Which model reads which unit: a web record's sentences go to the task's web card (emotion-web), help-seekers'
and supporters' turns to the written card, and a task without a web card (sentiment) reads web text with its
written one. Synthetic text, no Ray."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from curate.job import JobError, default_tags, parse_models
from curate.models.abstention import label_floors
from curate.models.classifier import load_classifier
from curate.models.label_shift import apply_log_bias, bias_vector
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
    # the seeker's turn keeps the written card (a dialogue's record emotion is its seeker turns', corrected for a
    # help-seeker's label priors by the card's record_bias)
    seeker = _ordered(specs["emotion"].card, [SEEKER])[0]
    assert np.allclose(dialogue["turns"][0]["emotion_scores"], seeker, atol=1e-5)
    bias = bias_vector(load_classifier(specs["emotion"].card).card.record_bias, label_set("emotion"))
    assert np.allclose(dialogue["emotion_scores"], apply_log_bias(seeker[None, :], bias)[0], atol=1e-5)


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
    assert default_card("emotion", spoken=True).name == "emotion-spoken.yaml"  # CPED-style TV utterances
    assert default_card("sentiment", spoken=True).name == "sentiment-spoken.yaml"
    assert default_card("dialogue_act", spoken=True).name == "dialogue_act.yaml"  # one register only


def test_record_level_thresholds_bind_help_seekers_dialogues_only() -> None:
    # a cheerful page and the same words as a seeker's turn (written for this test): the sentiment card's record
    # thresholds, chosen on help-seekers' dialogues, emit only `negative`; the web record keeps its per-unit ones
    text = "今天天气特别好，我们一家人去公园野餐，孩子们玩得非常开心。真是美好又幸福的一天！"
    base = {"source": "t", "source_file": "t.jsonl", "schema_version": "x", "pipeline_version": "x"}
    rows = [{**base, "id": "w", "kind": "web", "source_line": 1, "text": text},
            {**base, "id": "d", "kind": "dialogue", "source_line": 2, "text": "",
             "turns": [{"speaker": "a", "role": "seeker", "role_raw": "client", "text": text}]}]
    specs = parse_models({"sentiment": True}, default_tags(), "tags")
    web, dialogue = tag_batch(conform(pa.Table.from_pylist(rows, schema=arrow_schema())), Taggers(specs)).to_pylist()
    card = load_classifier(specs["sentiment"].card).card
    record_floors = label_floors(card.record_min_confidence, label_set("sentiment"))
    assert not np.isfinite(record_floors[label_set("sentiment").index("positive")])
    assert web["sentiment"] == "positive" and dialogue["turns"][0]["sentiment"] == "positive"
    assert dialogue["sentiment"] is None and dialogue["sentiment_confidence"] > 0.5
