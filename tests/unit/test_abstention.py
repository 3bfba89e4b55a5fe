"""`min_confidence` as one number or one per label: checking, thresholds per label, withholding, choosing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from curate.job import JobError, parse_job
from curate.models.abstention import check_min_confidence, choose_per_label, describe, label_floors, withheld
from curate.models.card import CardError, read_card
from curate.stages.tag import top_labels

LABELS = ("a", "b", "c")


def test_a_mapping_gives_each_label_its_threshold_and_1_means_never() -> None:
    np.testing.assert_array_equal(label_floors({"default": 0.2, "b": 0.6}, LABELS), [0.2, 0.6, 0.2])
    np.testing.assert_array_equal(label_floors({"c": 1.0}, LABELS), [0.0, 0.0, np.inf])
    np.testing.assert_array_equal(label_floors(0.3, LABELS), [0.3, 0.3, 0.3])
    np.testing.assert_array_equal(label_floors(None, LABELS), [0.0, 0.0, 0.0])


def test_a_label_is_withheld_below_its_own_threshold() -> None:
    scores = np.array([[0.5, 0.3, 0.2],    # a at 0.5: a's threshold 0.4 -> kept
                       [0.2, 0.5, 0.3],    # b at 0.5: b's threshold 0.6 -> withheld
                       [0.1, 0.2, 0.7],    # c: never emitted
                       [0.05, 0.9, 0.05]])  # b at 0.9 -> kept
    floors = label_floors({"a": 0.4, "b": 0.6, "c": 1.0}, LABELS)
    assert withheld(scores, floors).tolist() == [False, True, True, False]
    assert top_labels(LABELS, scores, floors).to_pylist() == ["a", None, None, "b"]
    # one row of thresholds per unit (units read by models of different registers)
    per_row = np.vstack([floors, np.zeros(3), np.zeros(3), np.ones(3)])
    assert top_labels(LABELS, scores, per_row).to_pylist() == ["a", "b", "c", None]


@pytest.mark.parametrize(("value", "message"), [
    ({"a": 0.5, "z": 0.1}, r"where: unknown label\(s\) \['z'\]"),
    ({"a": 1.5}, r"where.a: must be a number from 0 to 1, got 1.5"),
    (True, r"where: must be a number"),
    ("high", r"where: must be a number"),
])
def test_a_wrong_min_confidence_is_named(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_min_confidence(value, LABELS, "where")


def test_per_label_choice_takes_each_labels_smallest_threshold_that_is_right_often_enough() -> None:
    # a: right at any confidence; b: right only above 0.8; c: never right
    proba = np.array([[0.9, 0.05, 0.05]] * 6 + [[0.1, 0.6, 0.3]] * 6 + [[0.05, 0.9, 0.05]] * 6 + [[0.1, 0.1, 0.8]] * 6)
    gold = ["a"] * 6 + ["c"] * 6 + ["b"] * 6 + ["a"] * 6
    chosen = choose_per_label(list(LABELS), gold, proba, [0.0, 0.5, 0.7, 0.9], target=0.7, min_emitted=5)
    assert chosen == {"a": 0.0, "b": 0.7, "c": 1.0}
    assert describe(chosen) == "a 0.00, b 0.70, never: c, other labels 0.00"


def test_a_card_and_a_job_take_a_per_label_min_confidence_and_name_a_wrong_one(repo, tmp_path: Path) -> None:
    card = yaml.safe_load((repo / "classifiers" / "emotion.yaml").read_text(encoding="utf-8"))
    card["model"] = str(repo / "classifiers" / "emotion.ftz")
    card["min_confidence"] = {"default": 1.0, "worried": 0.4}
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(card, allow_unicode=True), encoding="utf-8")
    assert read_card(good).min_confidence == {"default": 1.0, "worried": 0.4}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**card, "min_confidence": {"anxious": 0.4}}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CardError, match=r"bad.yaml: min_confidence: unknown label\(s\) \['anxious'\]"):
        read_card(bad)

    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    job = parse_job({"inputs": [{"path": "in.jsonl", "kind": "web"}],
                     "tags": {"emotion": {"min_confidence": {"worried": 0.5, "default": 0.9}}}}, tmp_path)
    assert job.tags["emotion"].min_confidence == {"worried": 0.5, "default": 0.9}
    with pytest.raises(JobError, match=r"tags.emotion.min_confidence: unknown label\(s\) \['anxious'\]"):
        parse_job({"inputs": [{"path": "in.jsonl", "kind": "web"}],
                   "tags": {"emotion": {"min_confidence": {"anxious": 0.5}}}}, tmp_path)


def test_the_tag_stage_emits_only_the_labels_a_job_lets_through(repo) -> None:
    from curate.job import ModelSpec
    from curate.schema import label_set
    from curate.stages.tag import Taggers, tag_batch

    from .test_tag_units import _dialogues

    cards = repo / "classifiers"
    spec = ModelSpec(str(cards / "emotion.yaml"), min_confidence={"default": 1.0, "worried": 0.0},
                     spoken=str(cards / "emotion-spoken.yaml"))
    out = tag_batch(_dialogues(), Taggers({"emotion": spec}))
    turns = [t for r in out.to_pylist() for t in r["turns"]]
    labels = [t["emotion"] for t in turns]
    top = [label_set("emotion")[int(np.argmax(t["emotion_scores"]))] for t in turns]
    assert labels == [lab if lab == "worried" else None for lab in top]
    assert "worried" in labels and None in labels  # both sides of the rule are exercised
    assert all(t["emotion_confidence"] is not None for t in turns)
