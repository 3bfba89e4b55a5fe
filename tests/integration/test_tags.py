"""Affect tags end to end: a real `curate run` over SMILECHAT and CPED (the committed fixtures) fills the
turn, speaker and record tags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.models import SPEAKER_TASKS
from curate.schema import label_set
from curate.stages.tag import unit_weights
from tests.conftest import CPED_FIXTURE, SMILECHAT_FIXTURE, make_job

KNOWN = {
    "id": "known-1",
    "turns": [
        {"role": "client", "content": "我最近工作压力很大，每天晚上都睡不着，心里特别慌。"},
        {"role": "counselor", "content": "你能具体说说是什么让你感到压力这么大吗？"},
        {"role": "client", "content": "主要是项目一直延期，领导天天催，我觉得自己什么都做不好。"},
        {"role": "counselor", "content": "你可以试着每天睡前做十分钟的放松练习，比如深呼吸，再把明天要做的事写下来。"},
        {"role": "client", "content": "谢谢你，我会试试的。"},
    ],
}


def _floors(task: str, spoken: bool = False, record: bool = False) -> np.ndarray:
    """The shipped card's min_confidence of each label (label-set order), written or spoken; with `record`, its
    record-level thresholds (record_min_confidence, where it has them)."""
    from curate.models.abstention import label_floors
    from curate.models.card import read_card
    from curate.models.evaluate import default_card

    path = default_card(task)
    spoken_card = path.with_name(f"{task}-spoken.yaml")
    card = read_card(spoken_card if spoken and spoken_card.exists() else path)
    chosen = card.record_min_confidence if record and card.record_min_confidence is not None else card.min_confidence
    return label_floors(chosen, label_set(task))


def _floor_of_top(frame: pl.DataFrame, task: str, spoken: np.ndarray, record: bool = False) -> np.ndarray:
    """Per row, the floor of its top label under the model that read it (`spoken`: the spoken card's)."""
    written, talk = _floors(task, record=record), _floors(task, spoken=True, record=record)
    if np.ptp(written) == 0 and np.ptp(talk) == 0:  # one number per card: no need for the top label
        return np.where(spoken, talk[0], written[0])
    top = frame[f"{task}_scores"].list.arg_max().fill_null(0).to_numpy()
    return np.where(spoken, talk[top], written[top])


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, ray_local) -> pl.DataFrame:
    """KNOWN and the 100 SMILECHAT dialogues of the fixture; the 30 CPED valid dialogues of the fixture."""
    from curate.run import run_job

    tmp = tmp_path_factory.mktemp("tags")
    lines = SMILECHAT_FIXTURE.read_text(encoding="utf-8").splitlines()
    (tmp / "smile.jsonl").write_text("\n".join([json.dumps(KNOWN, ensure_ascii=False), *lines]) + "\n", encoding="utf-8")
    (tmp / "cped.csv").write_bytes(CPED_FIXTURE.read_bytes())
    job = make_job(tmp, [
        {"name": "smilechat", "path": "smile.jsonl", "kind": "dialogue", "id_field": "id",
         "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}},
        {"name": "cped", "path": "cped.csv", "kind": "dialogue",
         "dialogue": {"style": "csv", "group_field": "Dialogue_ID", "speaker_field": "Speaker", "text_field": "Utterance"}},
    ], tags={"emotion": "emotion.yaml", "sentiment": "sentiment.yaml", "dialogue_act": "dialogue_act.yaml",
             "strategy": "strategy.yaml", **{t: f"{t}.yaml" for t in SPEAKER_TASKS}})   # persona named: it is off by default
    result = run_job(job)
    # the spoken models that read the TV turns and the web one that reads web sentences are recorded beside the
    # written ones, in the manifest and per row
    assert set(result.manifest["models"]) >= {"emotion", "emotion-spoken", "emotion-web", "sentiment-spoken",
                                              "dialogue_act", "strategy", *SPEAKER_TASKS}
    assert "sentiment-web" not in result.manifest["models"]      # no web sentiment card: the written one reads web text
    df = pl.read_parquet(result.out / "data")
    assert set(json.loads(df["models"][0])) >= {"emotion", "emotion-spoken", "emotion-web"}
    return df


def test_every_kept_turn_is_tagged_with_known_labels(tagged: pl.DataFrame) -> None:
    turns = tagged.select("source", "turns").explode("turns").unnest("turns")
    assert turns.height > 500 and set(tagged["source"]) == {"smilechat", "cped"}
    spoken = (turns["role"] == "other").to_numpy()
    for col in ("emotion", "sentiment", "dialogue_act"):
        # a label is withheld exactly where its confidence is below the min_confidence (of its top label, where
        # the card gives one per label) of the model that read it
        withheld = turns[f"{col}_confidence"].to_numpy() < _floor_of_top(turns, col, spoken)
        assert turns[col].null_count() == withheld.sum()
        assert (turns[col].is_null().to_numpy() == withheld).all()
        assert set(turns[col].drop_nulls().unique()) <= set(label_set(col))
        if col != "emotion":  # the written emotion card emits only the labels that are right often enough
            assert withheld.sum() < 0.3 * turns.height
    never = {lab for lab, f in zip(label_set("emotion"), _floors("emotion"), strict=True) if np.isinf(f)}
    assert not set(turns.filter(pl.col("role") != "other")["emotion"].drop_nulls()) & never
    assert (turns["emotion_scores"].list.len() == len(label_set("emotion"))).all()
    # every tag carries its top probability: the emotion_scores maximum
    assert (turns["emotion_confidence"] - turns["emotion_scores"].list.max()).abs().max() < 1e-6
    # strategy on supporter turns only: every counselor turn, no client or TV-dialogue turn
    supporters = turns.filter(pl.col("role") == "supporter")
    assert supporters.height > 100
    assert (supporters["strategy"].is_null() == (supporters["strategy_confidence"] < _floors("strategy")[0])).all()
    assert set(supporters["strategy"].drop_nulls().unique()) <= set(label_set("strategy"))
    assert turns.filter(pl.col("role") != "supporter")["strategy"].null_count() == turns.filter(pl.col("role") != "supporter").height


def test_speakers_and_record_affect(tagged: pl.DataFrame) -> None:
    speakers = tagged.select("speakers").explode("speakers").unnest("speakers")
    assert speakers["speaker"].null_count() == 0 and (speakers["n_turns"] > 0).all()
    for field in SPEAKER_TASKS:
        assert speakers[field].null_count() == 0
    n_turns = tagged.select(pl.col("turns").list.len()).to_series()
    assert (tagged.select(pl.col("speakers").list.eval(pl.element().struct.field("n_turns")).list.sum()).to_series()
            == n_turns).all()
    spoken = (tagged["source"] == "cped").to_numpy()  # TV dialogue: every unit read by the spoken card, no seeker
    for col in ("emotion", "sentiment"):  # every record tagged
        assert tagged[f"{col}_confidence"].null_count() == 0
    # a label withheld only below the bar: help-seekers' dialogues the written card's record-level thresholds, TV
    # dialogues the spoken card's per-turn ones
    below = tagged["emotion_confidence"].to_numpy() < _floor_of_top(tagged, "emotion", spoken, record=True)
    assert tagged["emotion"].null_count() == below.sum()
    # record sentiment keeps no scores, so its top label is known only where emitted: on help-seekers' dialogues
    # only the labels the card's record thresholds let through, on TV dialogues the spoken card's (0: every one)
    emittable = {lab for lab, f in zip(label_set("sentiment"), _floors("sentiment", record=True), strict=True)
                 if np.isfinite(f)}
    assert set(tagged.filter(~pl.Series(spoken))["sentiment"].drop_nulls()) <= emittable
    assert tagged.filter(~pl.Series(spoken))["sentiment"].drop_nulls().len() > 0
    assert _floors("sentiment", spoken=True).max() == 0 and tagged.filter(pl.Series(spoken))["sentiment"].null_count() == 0


def test_the_known_dialogue_makes_sense(tagged: pl.DataFrame) -> None:
    row = tagged.filter(pl.col("id") == "known-1")
    assert row.height == 1
    turns = row["turns"][0].to_list()
    assert turns[4]["dialogue_act"] == "thanking"            # 谢谢你，我会试试的。
    assert turns[1]["strategy"] == "Question"                # 你能具体说说……吗？
    assert turns[3]["strategy"] == "Providing Suggestions"   # 你可以试着……
    assert [t["strategy"] is None for t in turns] == [True, False, True, False, True]
    speakers = {s["speaker"]: s for s in row["speakers"][0]}
    assert speakers["client"]["n_turns"] == 3 and speakers["counselor"]["role"] == "supporter"


def test_seeker_turns_are_not_tagged_neutral_by_default(tagged: pl.DataFrame) -> None:
    """The written model on help-seekers: SMILECHAT clients voice worry, sadness, thanks, rarely nothing."""
    turns = tagged.filter(pl.col("source") == "smilechat").select("turns").explode("turns").unnest("turns")
    seekers = turns.filter(pl.col("role") == "seeker")
    assert seekers.height > 200
    assert (seekers["emotion"] == "neutral").mean() < 0.3
    records = tagged.filter(pl.col("source") == "smilechat")
    assert (records["emotion"] == "neutral").mean() < 0.3


def test_record_emotion_is_the_weighted_mean_of_its_seeker_turns(tagged: pl.DataFrame) -> None:
    row = tagged.filter(pl.col("id") == "known-1")
    turns = row["turns"][0].to_list()
    seeker = np.array([t["emotion_scores"] for t in turns if t["role"] == "seeker"])
    chars = np.array([len(t["text"]) for t in turns if t["role"] == "seeker"])
    # each seeker turn weighs its length times its mass off the positive emotions; then the written card's
    # label-shift correction for help-seekers
    from curate.models.card import read_card
    from curate.models.evaluate import default_card
    from curate.models.label_shift import apply_log_bias, bias_vector

    bias = bias_vector(read_card(default_card("emotion")).record_bias or {}, label_set("emotion"))
    mean = apply_log_bias(np.average(seeker, axis=0, weights=unit_weights(chars, seeker))[None, :], bias)[0]
    assert np.allclose(np.array(row["emotion_scores"][0].to_list()), mean, atol=1e-5)
    top = int(mean.argmax())
    # a distressed seeker: the record's scores say distress, not neutral or the closing thanks (stress and
    # self-doubt: worried before the label-shift correction, negative-other after it)
    assert label_set("emotion")[top] in ("worried", "negative-other")
    # the label itself is the top of the mean, withheld below that label's record-level threshold (the written
    # card's record_min_confidence)
    floor = _floors("emotion", record=True)[top]
    assert row["emotion"][0] == (label_set("emotion")[top] if mean[top] >= floor else None)


def test_tv_dialogue_turns_use_the_spoken_model_with_the_speaker_context(tagged: pl.DataFrame) -> None:
    from curate.models.classifier import load_classifier
    from curate.models.evaluate import default_card

    rec = tagged.filter(pl.col("source") == "cped").row(0, named=True)
    turns = rec["turns"]
    assert {t["role"] for t in turns} == {"other"}
    spoken = load_classifier(default_card("emotion").with_name("emotion-spoken.yaml"))
    contexts = [("".join(u["text"] for j, u in enumerate(turns) if u["speaker"] == t["speaker"] and j != i),)
                for i, t in enumerate(turns)]
    expected = spoken.predict_proba([t["text"] for t in turns], contexts=contexts)
    order = [spoken.labels.index(lab) for lab in label_set("emotion")]
    assert np.allclose(np.array([t["emotion_scores"] for t in turns]), expected[:, order], atol=1e-5)


def test_min_confidence_withholds_labels_and_keeps_scores(tmp_path: Path, ray_local) -> None:
    from curate.run import run_job

    (tmp_path / "d.jsonl").write_text(json.dumps(KNOWN, ensure_ascii=False) + "\n", encoding="utf-8")
    job = make_job(tmp_path, [{"name": "d", "path": "d.jsonl", "kind": "dialogue", "id_field": "id",
                               "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}}],
                   tags={"emotion": {"card": "emotion.yaml", "min_confidence": 0.999}}, scores=False)
    df = pl.read_parquet(run_job(job).out / "data")
    turns = df.select("turns").explode("turns").unnest("turns")
    withheld = turns["emotion_confidence"] < 0.999
    assert withheld.sum() >= 3                                        # labels below the bar are withheld ...
    assert (turns["emotion"].is_null() == withheld).all()
    assert turns["emotion_scores"].null_count() == 0                 # ... the scores and confidence kept
    assert df["emotion_confidence"].null_count() == 0
    assert df["emotion"].is_null()[0] == (df["emotion_confidence"][0] < 0.999)


def test_seeker_turns_and_records_carry_crisis_risk(tagged: pl.DataFrame) -> None:
    # risk is on by default: every kept seeker turn has a level, no other turn has one; a record's risk is the highest
    turns = tagged.select("id", "turns").explode("turns").unnest("turns")
    seeker = turns.filter(pl.col("role") == "seeker")
    assert seeker.height > 100 and seeker["risk"].null_count() == 0
    assert set(seeker["risk"].unique()) <= set(label_set("risk"))
    assert turns.filter(pl.col("role") != "seeker")["risk"].null_count() == turns.filter(pl.col("role") != "seeker").height
    order = {lab: i for i, lab in enumerate(label_set("risk"))}
    worst = seeker.group_by("id").agg(pl.col("risk").replace_strict(order).max().alias("w"))
    got = dict(zip(tagged["id"], tagged["risk"], strict=True))
    for rid, w in worst.iter_rows():
        assert got[rid] == label_set("risk")[w]
    assert tagged.filter(pl.col("source") == "cped")["risk"].null_count() == tagged.filter(pl.col("source") == "cped").height
    flagged = tagged.filter(pl.col("risk") != "none")
    for row in flagged.select("turns", "risk", "risk_evidence").iter_rows(named=True):
        ev = row["risk_evidence"]
        turn = row["turns"][ev["turn"]]
        assert turn["role"] == "seeker" and turn["risk"] == row["risk"] and turn["risk_span"] == [ev["start"], ev["end"]]
