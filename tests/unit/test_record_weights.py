"""A record's affect is the length-weighted mean of its units: a long distressed opening outweighs short thanks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.schema import label_set
from curate.stages.tag import record_scores, unit_weights

# a help-seeker's long opening post, then two short closing thanks (written for this test)
OPENING = ("最近半年我每天都很焦虑，工作上一直出错，领导找我谈了好几次话，我担心自己随时会被辞退。晚上躺在床上翻来覆去"
           "睡不着，脑子里全是房贷和父母的身体，越想越害怕，不知道以后该怎么办，也不敢跟家里人说。")
TURNS = [("seeker", OPENING), ("supporter", "听起来你承受了很大的压力，我们可以一起看看哪些事情是你现在能做的。"),
         ("seeker", "谢谢你"), ("supporter", "不客气，随时可以来聊。"), ("seeker", "好的，谢谢")]


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


def test_a_long_distressed_opening_outweighs_two_short_thanks(repo: Path) -> None:
    from curate.job import ModelSpec
    from curate.schema import arrow_schema, conform
    from curate.stages.tag import Taggers, tag_batch

    rows = [{"id": "d0", "kind": "dialogue", "source": "t", "source_file": "t.jsonl", "source_line": 1,
             "schema_version": "x", "pipeline_version": "x", "text": "",
             "turns": [{"speaker": r, "role": r, "role_raw": r, "text": t} for r, t in TURNS]}]
    batch = conform(pa.Table.from_pylist(rows, schema=arrow_schema()))
    rec = tag_batch(batch, Taggers({"emotion": ModelSpec(str(repo / "classifiers" / "emotion.yaml"))})).to_pylist()[0]
    labels = label_set("emotion")
    seeker = [t for t in rec["turns"] if t["role"] == "seeker"]
    turn_scores = np.array([t["emotion_scores"] for t in seeker])
    chars = np.array([len(t["text"]) for t in seeker], dtype=np.float64)
    np.testing.assert_allclose(rec["emotion_scores"], chars @ turn_scores / chars.sum(), atol=1e-6)
    opening = labels[int(turn_scores[0].argmax())]
    # the thanks would win a plain mean; weighted by length the record follows the opening
    assert labels[int(turn_scores.mean(axis=0).argmax())] == "grateful" != opening
    assert labels[int(np.argmax(rec["emotion_scores"]))] == opening
