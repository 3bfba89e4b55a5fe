"""`record_min_confidence`: the record-level tag's own thresholds in a card and a job (checked as
`min_confidence` is), used by the tag stage for records only, and `curate eval` on whole-dialogue labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from curate.job import JobError, ModelSpec, parse_job
from curate.models.card import CardError, read_card
from curate.schema import label_set


def _card(repo: Path, tmp_path: Path, name: str, **keys: object) -> Path:
    card = yaml.safe_load((repo / "classifiers" / "emotion.yaml").read_text(encoding="utf-8"))
    card["model"] = str(repo / "classifiers" / "emotion.ftz")
    card.pop("record_min_confidence", None)
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**card, **keys}, allow_unicode=True), encoding="utf-8")
    return path


def test_a_card_takes_record_min_confidence_and_names_a_wrong_one(repo: Path, tmp_path: Path) -> None:
    good = _card(repo, tmp_path, "good.yaml", record_min_confidence={"default": 1.0, "worried": 0.3})
    assert read_card(good).record_min_confidence == {"default": 1.0, "worried": 0.3}
    assert read_card(_card(repo, tmp_path, "plain.yaml")).record_min_confidence is None
    with pytest.raises(CardError, match=r"bad.yaml: record_min_confidence: unknown label\(s\) \['anxious'\]"):
        read_card(_card(repo, tmp_path, "bad.yaml", record_min_confidence={"anxious": 0.4}))
    with pytest.raises(CardError, match=r"big.yaml: record_min_confidence.worried: must be a number from 0 to 1"):
        read_card(_card(repo, tmp_path, "big.yaml", record_min_confidence={"worried": 2}))


def test_a_job_takes_record_min_confidence_and_names_a_wrong_one(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    inputs = [{"path": "in.jsonl", "kind": "web"}]
    job = parse_job({"inputs": inputs, "tags": {"emotion": {"record_min_confidence": {"worried": 0.5}}}}, tmp_path)
    assert job.tags["emotion"].record_min_confidence == {"worried": 0.5}
    assert job.tags["emotion"].min_confidence is None
    assert parse_job({"inputs": inputs, "tags": {"emotion": {"record_min_confidence": 0.4}}},
                     tmp_path).tags["emotion"].record_min_confidence == 0.4
    with pytest.raises(JobError, match=r"tags.emotion.record_min_confidence: unknown label\(s\) \['anxious'\]"):
        parse_job({"inputs": inputs, "tags": {"emotion": {"record_min_confidence": {"anxious": 0.5}}}}, tmp_path)
    with pytest.raises(JobError, match=r"tags.emotion.record_min_confidence: expected a number between 0 and 1"):
        parse_job({"inputs": inputs, "tags": {"emotion": {"record_min_confidence": "high"}}}, tmp_path)


def _tag(repo: Path, card: Path | None = None, **spec: object) -> list[dict]:
    from curate.stages.tag import Taggers, tag_batch

    from .test_tag_units import _dialogues

    cards = repo / "classifiers"
    taggers = Taggers({"emotion": ModelSpec(str(card or cards / "emotion.yaml"),
                                            spoken=str(cards / "emotion-spoken.yaml"), **spec)})
    return tag_batch(_dialogues(), taggers).to_pylist()


def test_a_record_is_withheld_below_its_record_threshold_and_emitted_above(repo: Path, tmp_path: Path) -> None:
    rec = _tag(repo, min_confidence=1.0, record_min_confidence={"default": 1.0})[0]  # the seeker dialogue
    top = label_set("emotion")[int(np.argmax(rec["emotion_scores"]))]
    conf = rec["emotion_confidence"]
    assert rec["emotion"] is None and all(t["emotion"] is None for t in rec["turns"])
    # the job's min_confidence covers turns only: a card's record thresholds still decide the record
    card = _card(repo, tmp_path, "records.yaml", record_min_confidence={"default": 0.0})
    assert _tag(repo, card, min_confidence=1.0)[0]["emotion"] == top
    # without them the record follows min_confidence, here the job's
    plain = _card(repo, tmp_path, "plain.yaml", record_min_confidence=None)
    assert read_card(plain).record_min_confidence is None
    assert _tag(repo, plain, min_confidence=1.0)[0]["emotion"] is None
    assert _tag(repo, plain, min_confidence=0.0)[0]["emotion"] == top
    below = _tag(repo, min_confidence=1.0, record_min_confidence={"default": 1.0, top: conf + 1e-3})[0]
    above = _tag(repo, min_confidence=1.0, record_min_confidence={"default": 1.0, top: conf - 1e-3})[0]
    assert below["emotion"] is None and above["emotion"] == top
    # the turns keep min_confidence; the record's scores stay either way
    assert all(t["emotion"] is None for t in above["turns"])
    assert below["emotion_scores"] == above["emotion_scores"] == rec["emotion_scores"]


def test_without_record_thresholds_the_record_uses_min_confidence(repo: Path, tmp_path: Path) -> None:
    from curate.stages.tag import Taggers, tag_batch

    from .test_tag_units import _dialogues

    plain = _card(repo, tmp_path, "plain.yaml", min_confidence=0.0)
    own = _card(repo, tmp_path, "own.yaml", min_confidence=0.0, record_min_confidence=1.0)
    recs = {name: tag_batch(_dialogues(), Taggers({"emotion": ModelSpec(str(card))})).to_pylist()[0]
            for name, card in (("plain", plain), ("own", own))}
    assert recs["plain"]["emotion"] is not None and recs["own"]["emotion"] is None
    assert recs["own"]["turns"][0]["emotion"] is not None  # turns keep the card's min_confidence


def test_eval_on_whole_dialogue_labels_goes_through_the_tag_stage(repo: Path, fixture_data: Path,
                                                                   tmp_path: Path) -> None:
    from curate.annotations import SMILECHAT, load_dialogues, seeker_sha12
    from curate.models.evaluate import eval_task
    from curate.models.metrics import format_report
    from curate.models.record_eval import tag_gold_records

    dialogues = load_dialogues(fixture_data, (SMILECHAT,))
    ids = list(dialogues)[:4]
    labels = ["worried", "sadness", "worried", "negative-other"]
    parts = ["select", "select", "select", "test"]
    gold = tmp_path / "records.jsonl"
    gold.write_text("".join(json.dumps({"dialogue_id": d, "sha1": seeker_sha12(dialogues[d]), "label": lab,
                                        "part": p, "note": "hand-made for a test"}) + "\n"
                            for d, lab, p in zip(ids, labels, parts, strict=True)), encoding="utf-8")
    card = _card(repo, tmp_path, "card.yaml", record_min_confidence=0.0)
    rep, what = eval_task("emotion", [str(gold)], card=str(card), data_root=fixture_data, part="select")
    assert rep["n"] == 3 and "records, part select" in what
    assert rep["baseline"]["majority_label"] == "worried" and rep["baseline"]["accuracy"] == round(2 / 3, 4)
    assert rep["groups"]["name"] == "emotion six-way"
    tagged = tag_gold_records(read_card(card), gold, fixture_data, "select")
    top = [label_set("emotion")[i] for i in tagged.scores.argmax(axis=1)]
    assert tagged.emitted == top  # record_min_confidence 0: every record's top label is emitted
    assert rep["accuracy"] == round(np.mean([t == g for t, g in zip(top, labels[:3], strict=True)]), 4)
    a = rep["abstention"]
    assert a["emitted"] == 1.0 and a["n_emitted"] == 3 and 0.0 <= a["interval_95"][0] <= a["interval_95"][1] <= 1.0
    assert "95 % interval" in format_report(rep)
    # the tag stage's own thresholds decide what is emitted: nothing passes 1.0
    never = tag_gold_records(read_card(_card(repo, tmp_path, "never.yaml", record_min_confidence=1.0)), gold,
                             fixture_data)
    assert never.emitted == [None] * 4 and np.allclose(never.scores[:3], tagged.scores)


def test_wilson_interval() -> None:
    from curate.models.record_eval import wilson

    low, high = wilson(36, 51)
    assert 0.56 < low < 0.58 and 0.81 < high < 0.83
    assert wilson(0, 0) == (0.0, 0.0)


def test_eval_reads_emollm_dialogues_by_their_position_and_smilechat_ones_in_one_file(
        repo: Path, fixture_data: Path, tmp_path: Path) -> None:
    from curate.annotations import EMOLLM, SMILECHAT, load_dialogues, seeker_sha12
    from curate.models.record_eval import tag_gold_records

    smile = load_dialogues(fixture_data, (SMILECHAT,))
    emollm = load_dialogues(fixture_data, (EMOLLM,))
    picked = [("emollm-3", emollm), (next(iter(smile)), smile), ("emollm-0", emollm)]
    gold = tmp_path / "records.jsonl"
    gold.write_text("".join(json.dumps({"dialogue_id": d, "sha1": seeker_sha12(src[d]), "label": "worried",
                                        "part": "test", "note": "hand-made for a test"}) + "\n"
                            for d, src in picked), encoding="utf-8")
    tagged = tag_gold_records(read_card(repo / "classifiers" / "emotion.yaml"), gold, fixture_data)
    assert tagged.scores.shape == (3, len(label_set("emotion")))
    assert tagged.tagged is not None
    # each gold row is its own dialogue: the seeker turns the tag stage read are the gold dialogue's
    for (did, src), turns in zip(picked, tagged.tagged.column("turns").to_pylist(), strict=True):
        seeker = [t["text"] for t in turns if t["role"] == "seeker"]
        assert seeker == [t["content"].strip() for t in src[did] if t["role"] in ("client", "input")], did


def test_eval_reads_whole_dialogue_emotion_labels_for_record_sentiment_through_a_label_map(
        repo: Path, fixture_data: Path, tmp_path: Path) -> None:
    from curate.annotations import SMILECHAT, load_dialogues, seeker_sha12
    from curate.models.evaluate import eval_task
    from curate.models.record_eval import tag_gold_records

    dialogues = load_dialogues(fixture_data, (SMILECHAT,))
    ids = list(dialogues)[:3]
    gold = tmp_path / "records.jsonl"
    gold.write_text("".join(json.dumps({"dialogue_id": d, "sha1": seeker_sha12(dialogues[d]), "label": lab,
                                        "part": "test", "note": "hand-made for a test"}) + "\n"
                            for d, lab in zip(ids, ["worried", "sadness", "grateful"], strict=True)), encoding="utf-8")
    rep, what = eval_task("sentiment", [str(gold)], data_root=fixture_data, label_map_name="emotion")
    assert rep["n"] == 3 and "records" in what and rep["baseline"]["majority_label"] == "negative"
    card = read_card(repo / "classifiers" / "sentiment.yaml")
    tagged = tag_gold_records(card, gold, fixture_data, label_values=card.label_maps["emotion"])
    assert tagged.gold == ["negative", "negative", "positive"]
    # what the stage emitted (the card's record thresholds: negative only) and, from a pass withholding nothing,
    # every record's top label and its confidence as the scores' maximum
    assert set(e for e in tagged.emitted if e is not None) <= {"negative"}
    assert rep["abstention"]["n_emitted"] == sum(e is not None for e in tagged.emitted)
    top = [label_set("sentiment")[i] for i in tagged.scores.argmax(axis=1)]
    assert all(e is None or e == t for e, t in zip(tagged.emitted, top, strict=True))
    np.testing.assert_allclose(tagged.scores.max(axis=1), tagged.tagged.column("sentiment_confidence").to_numpy(),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"label 'worried' is not one of .*map the file's labels with --map NAME"):
        eval_task("sentiment", [str(gold)], data_root=fixture_data)
