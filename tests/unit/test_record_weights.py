"""A record's affect is the weighted mean of its units, each weighing its length and, for a help-seeker's turn,
times 1 - its positive-class mass: a long distressed opening outweighs short thanks, and effusive thanks too
(guide §5.2: ritual); in sentiment, by its own probability of `positive`. Other units weigh by length alone. A
help-seeker record's emotion is then corrected by the card's `record_bias` (label shift); other records are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.models.card import read_card
from curate.models.label_shift import apply_log_bias, bias_vector
from curate.schema import label_set
from curate.stages.tag import RITUAL_FLOOR, record_scores, unit_weights

# a help-seeker's long opening post, then two short closing thanks (written for this test)
OPENING = ("最近半年我每天都很焦虑，工作上一直出错，领导找我谈了好几次话，我担心自己随时会被辞退。晚上躺在床上翻来覆去"
           "睡不着，脑子里全是房贷和父母的身体，越想越害怕，不知道以后该怎么办，也不敢跟家里人说。")
REPLY = "听起来你承受了很大的压力，我们可以一起看看哪些事情是你现在能做的。"
TURNS = [("seeker", OPENING), ("supporter", REPLY), ("seeker", "谢谢你"), ("supporter", "不客气，随时可以来聊。"),
         ("seeker", "好的，谢谢")]
# the same opening, then three long effusive thanks: together more of the seeker's characters than the opening
EFFUSIVE = [("seeker", OPENING), ("supporter", REPLY),
            ("seeker", "真的太谢谢你了！你说得特别对，我感觉好多了，非常感谢你这么耐心地听我说这么多，谢谢谢谢！"),
            ("supporter", "不客气，随时可以来聊。"),
            ("seeker", "好的好的，真的非常感谢老师，您的建议对我很有帮助，我会试着去做的，太感谢了，祝您一切顺利！"),
            ("supporter", "加油。"), ("seeker", "谢谢老师！非常感谢您的耐心和鼓励，我会好好调整的，真的很感激，再见！")]


def test_record_scores_are_the_weighted_mean_of_each_records_units() -> None:
    rows = np.array([0, 0, 2, 2, 2])
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.8], [0.6, 0.4], [1.0, 0.0]])
    weights = np.array([3.0, 1.0, 1.0, 2.0, 1.0])
    got_rows, got = record_scores(rows, scores, weights, 3)
    assert got_rows.tolist() == [0, 2]  # row 1 has no units: no scores
    np.testing.assert_allclose(got, [[0.75, 0.25], [(0.2 + 1.2 + 1.0) / 4, (0.8 + 0.8) / 4]], rtol=1e-6)
    assert got.dtype == np.float32


def test_a_unit_weighs_its_length_in_characters_and_an_empty_one_counts_as_one() -> None:
    assert unit_weights(np.array([96, 3, 0])).tolist() == [96.0, 3.0, 1.0]


def test_a_unit_weighs_its_length_times_its_mass_off_the_positive_class() -> None:
    labels = label_set("emotion")
    emotion = np.zeros((3, len(labels)))
    emotion[0, labels.index("worried")] = 1.0
    emotion[1, labels.index("grateful")], emotion[1, labels.index("happy")] = 0.5, 0.25  # 0.75 positive
    emotion[1, labels.index("sadness")] = 0.25
    emotion[2, labels.index("grateful")] = 1.0  # all thanks: the floor, never 0
    np.testing.assert_allclose(unit_weights(np.array([96, 8, 0]), emotion), [96.0, 2.0, RITUAL_FLOOR])


def _tag(repo: Path, turns: list[tuple[str, str]]) -> dict:
    from curate.job import ModelSpec
    from curate.schema import arrow_schema, conform
    from curate.stages.tag import Taggers, tag_batch

    rows = [{"id": "d0", "kind": "dialogue", "source": "t", "source_file": "t.jsonl", "source_line": 1,
             "schema_version": "x", "pipeline_version": "x", "text": "",
             "turns": [{"speaker": r, "role": r, "role_raw": r, "text": t} for r, t in turns]}]
    batch = conform(pa.Table.from_pylist(rows, schema=arrow_schema()))
    return tag_batch(batch, Taggers({"emotion": ModelSpec(str(repo / "classifiers" / "emotion.yaml"))})).to_pylist()[0]


def _seeker_correction(repo: Path, mean: np.ndarray) -> np.ndarray:
    """A help-seeker record's scores from its weighted mean: the shipped card's label-shift correction."""
    bias = read_card(repo / "classifiers" / "emotion.yaml").record_bias
    assert bias, "the shipped emotion card corrects help-seekers' records"
    return apply_log_bias(mean[None, :], bias_vector(bias, label_set("emotion")))[0]


def test_a_long_distressed_opening_outweighs_two_short_thanks(repo: Path) -> None:
    rec = _tag(repo, TURNS)
    labels = label_set("emotion")
    seeker = [t for t in rec["turns"] if t["role"] == "seeker"]
    turn_scores = np.array([t["emotion_scores"] for t in seeker])
    weights = unit_weights(np.array([len(t["text"]) for t in seeker]), turn_scores)
    mean = weights @ turn_scores / weights.sum()
    np.testing.assert_allclose(rec["emotion_scores"], _seeker_correction(repo, mean), atol=1e-6)
    assert not np.allclose(rec["emotion_scores"], mean, atol=1e-4)  # the correction moved them
    opening = labels[int(turn_scores[0].argmax())]
    # the thanks would win a plain mean; weighted, the record follows the opening
    assert labels[int(turn_scores.mean(axis=0).argmax())] == "grateful" != opening
    assert labels[int(np.argmax(rec["emotion_scores"]))] == opening


def test_effusive_thanks_longer_than_the_opening_do_not_outweigh_the_distress(repo: Path) -> None:
    rec = _tag(repo, EFFUSIVE)
    labels = label_set("emotion")
    seeker = [t for t in rec["turns"] if t["role"] == "seeker"]
    turn_scores = np.array([t["emotion_scores"] for t in seeker])
    chars = np.array([len(t["text"]) for t in seeker])
    opening = labels[int(turn_scores[0].argmax())]
    assert opening == "worried"
    assert chars[1:].sum() > chars[0]
    # weighted by length alone (the aggregation before) the thanks win; discounted by their positive mass, not
    assert labels[int((unit_weights(chars) @ turn_scores).argmax())] == "grateful"
    assert labels[int(np.argmax(rec["emotion_scores"]))] == opening


def test_the_ritual_discount_is_for_help_seekers_turns_only(repo: Path) -> None:
    # the same turns spoken by a TV show's speakers (role `other`: no seeker): every turn is a unit, by length,
    # and the record is not corrected for a help-seeker's label priors
    rec = _tag(repo, [("other", t) for _, t in EFFUSIVE])
    turn_scores = np.array([t["emotion_scores"] for t in rec["turns"]])
    length = unit_weights(np.array([len(t) for _, t in EFFUSIVE]))
    np.testing.assert_allclose(rec["emotion_scores"], length @ turn_scores / length.sum(), atol=1e-6)


def _tag_both(repo: Path, turns: list[tuple[str, str]], **sentiment: object) -> dict:
    from curate.job import ModelSpec
    from curate.schema import arrow_schema, conform
    from curate.stages.tag import Taggers, tag_batch

    rows = [{"id": "d0", "kind": "dialogue", "source": "t", "source_file": "t.jsonl", "source_line": 1,
             "schema_version": "x", "pipeline_version": "x", "text": "",
             "turns": [{"speaker": r, "role": r, "role_raw": r, "text": t} for r, t in turns]}]
    batch = conform(pa.Table.from_pylist(rows, schema=arrow_schema()))
    cards = {"emotion": ModelSpec(str(repo / "classifiers" / "emotion.yaml")),
             "sentiment": ModelSpec(str(repo / "classifiers" / "sentiment.yaml"), **sentiment)}
    return tag_batch(batch, Taggers(cards)).to_pylist()[0]


def _sentiment_probs(repo: Path, texts: list[str]) -> np.ndarray:
    from curate.models.classifier import load_classifier

    model = load_classifier(repo / "classifiers" / "sentiment.yaml")
    return model.predict_proba(texts)[:, [model.labels.index(lab) for lab in label_set("sentiment")]]


def test_record_sentiment_discounts_a_seekers_positive_turns(repo: Path) -> None:
    rec = _tag_both(repo, EFFUSIVE, record_min_confidence=0.0)
    seeker = [t for r, t in EFFUSIVE if r == "seeker"]
    probs = _sentiment_probs(repo, seeker)
    chars = np.array([len(t) for t in seeker])
    positive = label_set("sentiment").index("positive")
    weights = unit_weights(chars, probs, np.array([positive]))
    np.testing.assert_allclose(weights, unit_weights(chars) * np.maximum(1 - probs[:, positive], RITUAL_FLOOR))
    mean = weights @ probs / weights.sum()
    assert abs(rec["sentiment_confidence"] - mean.max()) < 1e-5
    # by length alone the effusive thanks would make the record positive; discounted, the distress decides
    assert label_set("sentiment")[int((unit_weights(chars) @ probs).argmax())] == "positive"
    assert rec["sentiment"] == "negative"


def test_record_sentiment_of_a_dialogue_without_a_seeker_weighs_by_length_and_keeps_the_turn_thresholds(
        repo: Path) -> None:
    # the same turns said by a seeker-less dialogue's speakers (role `supporter` only: written, no seeker)
    turns = [("supporter", t) for _, t in EFFUSIVE]
    rec = _tag_both(repo, turns, record_min_confidence=1.0)  # would withhold every seeker record's label
    probs = _sentiment_probs(repo, [t for _, t in turns])
    chars = np.array([len(t) for _, t in turns])
    mean = unit_weights(chars) @ probs / unit_weights(chars).sum()
    assert abs(rec["sentiment_confidence"] - mean.max()) < 1e-5
    assert rec["sentiment"] == label_set("sentiment")[int(mean.argmax())]  # the card's per-turn threshold, 0
    assert _tag_both(repo, EFFUSIVE, record_min_confidence=1.0)["sentiment"] is None
