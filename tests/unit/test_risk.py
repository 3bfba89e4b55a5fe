"""Crisis risk: the cue lexicon on hand-written sentences (negation, third person, past, plans, idioms), the
decision, and the tag stage on a small batch (turn levels, evidence, record max, risk.drop) without Ray."""

from __future__ import annotations

import pyarrow as pa
import pytest

from curate.job import ModelSpec
from curate.models.risk_cues import load_cues
from curate.schema import arrow_schema, conform
from curate.stages.tag import RISK_HIGH, Taggers, tag_batch


def level(text: str) -> str:
    return load_cues().read(text).level


@pytest.mark.parametrize(("text", "expected"), [
    ("我真的不想活了。", "high"),
    ("我已经攒了一瓶安眠药，打算这周末吃掉。", "high"),           # a plan and means
    ("我每天都在查怎么死才不会痛。", "high"),
    ("昨天又用小刀划手了。", "high"),                            # self-harm, now
    ("如果他离开我，我就去死。", "high"),                        # a conditional of one's own death
    ("虽然没勇气自杀，但我每天都在想这件事。", "high"),          # a hedge keeps the wish
    ("我不想死，但是真的不想活了。", "high"),                    # the second clause affirms
    ("我不会自杀的，你放心。", "concern"),                       # negation
    ("我从来没有想过自杀。", "concern"),
    ("我朋友想自杀，我该怎么办？", "concern"),                   # third person
    ("我女儿一直在自残。", "concern"),
    ("以前想过死，现在好多了。", "concern"),                     # past
    ("我高中时割过手，后来就没有了。", "concern"),
    ("高中时割过手，最近又开始了。", "high"),                    # past, but it came back
    ("为什么有人会自杀呢？", "concern"),                         # a general question
    ("我觉得自己就是家里的累赘。", "concern"),                   # a burden
    ("活着真的好累，不知道为了什么。", "concern"),
    ("我难受得想死的心都有了。", "concern"),                     # the idiom
    ("加班到十二点，真是累死了。", "none"),                      # 死 as an intensifier
    ("笑死我了，今天太好玩了。", "none"),
    ("他们总让我去死。", "none"),                                # someone else's words
    ("我男朋友很绝望。", "none"),                                # third-person hopelessness (clause by clause)
    ("我最近总是焦虑，晚上睡不着。", "none"),
    ("我想好好规划自己的学业。", "none"),                        # 划自己 inside 规划自己
    ("我想告别这个世界。", "high"),
    ("我真的想放弃自己的生命。", "high"),
    ("我不会放弃生命的。", "concern"),                           # negation
    ("为了工作放弃生命中最重要的东西，值得吗？", "none"),        # a thing in one's life
    ("每天都过得生不如死。", "concern"),
])
def test_weak_labeller_on_written_sentences(text: str, expected: str) -> None:
    assert level(text) == expected


def test_evidence_is_the_deciding_clause() -> None:
    text = "最近压力很大，我真的不想活了，每天都在哭。"
    hit = load_cues().read(text)
    assert hit.level == "high" and text[hit.span[0]:hit.span[1]] == "我真的不想活了"
    assert load_cues().read("今天天气不错。").span is None


def test_batch_reading_equals_one_by_one() -> None:
    texts = ["我不会自杀的", None, "", "我好想死", "今天很开心", "我朋友想自杀", "活着没有意义"]
    assert load_cues().read_batch(texts) == [load_cues().read(t) for t in texts]


def _batch(dialogues: list[list[tuple[str, str]]], extra: list[dict] | None = None) -> pa.Table:
    rows = []
    for i, turns in enumerate(dialogues):
        rows.append({"id": f"d{i}", "kind": "dialogue", "source": "t", "source_file": "t.jsonl", "source_line": i + 1,
                     "schema_version": "x", "pipeline_version": "x", "text": "",
                     "turns": [{"speaker": r, "role": r, "role_raw": r, "text": t} for r, t in turns]})
    for row in extra or []:
        rows.append({"id": row["id"], "kind": "web", "source": "t", "source_file": "t.jsonl", "source_line": 99,
                     "schema_version": "x", "pipeline_version": "x", "text": row["text"]})
    return conform(pa.Table.from_pylist(rows, schema=arrow_schema()))


DIALOGUES = [
    [("seeker", "最近工作压力很大，睡不好。"), ("supporter", "你最近有没有想过伤害自己？"),
     ("seeker", "有时候会想，活着真的好累。"), ("supporter", "谢谢你愿意告诉我。"),
     ("seeker", "说实话，我已经攒了一些安眠药，我真的不想活了。")],
    [("seeker", "我朋友说她想自杀，我不知道怎么帮她。"), ("supporter", "你可以先陪着她。")],
    [("seeker", "谢谢你的建议，我会试试的。"), ("supporter", "不客气，加油！")],
    [("supporter", "你好，有什么可以帮你？"), ("supporter", "我在。")],
]


def test_tag_stage_fills_turn_and_record_risk(repo) -> None:
    taggers = Taggers({"risk": ModelSpec(str(repo / "classifiers" / "risk.yaml"))})
    out = tag_batch(_batch(DIALOGUES, [{"id": "web", "text": "我真的不想活了。"}]), taggers).to_pylist()
    first = out[0]["turns"]
    assert [t["risk"] for t in first] == ["none", None, "concern", None, "high"]  # seeker turns only
    assert first[4]["risk_span"] is not None and first[0]["risk_span"] is None
    a, b = first[4]["risk_span"]
    assert "不想活" in first[4]["text"][a:b] or "安眠药" in first[4]["text"][a:b]
    assert all(t["risk_confidence"] is not None for t in first if t["role"] == "seeker")
    assert out[0]["risk"] == "high" and out[0]["risk_evidence"] == {"turn": 4, "start": a, "end": b}
    assert out[1]["risk"] == "concern" and out[1]["risk_evidence"]["turn"] == 0    # third person
    assert out[2]["risk"] == "none" and out[2]["risk_evidence"] is None
    assert out[3]["risk"] is None                                                  # no seeker turn
    assert out[4]["risk"] is None                                                  # a web document is not read
    assert all(r["drop_reason"] is None for r in out)                              # drop is off by default


def test_risk_drop_rejects_high_records_only(repo) -> None:
    taggers = Taggers({"risk": ModelSpec(str(repo / "classifiers" / "risk.yaml"), drop=True)})
    batch = _batch(DIALOGUES)
    reasons = batch["drop_reason"].to_pylist()
    reasons[2] = "cwt_too_short"  # an already-rejected row keeps its reason and gets no risk
    batch = batch.set_column(batch.column_names.index("drop_reason"), "drop_reason", pa.array(reasons))
    out = tag_batch(batch, taggers).to_pylist()
    assert [r["drop_reason"] for r in out] == [RISK_HIGH, None, "cwt_too_short", None]
    assert "seeker turn 4" in out[0]["drop_detail"]
    assert out[2]["risk"] is None


def test_export_where_selects_by_risk(tmp_path) -> None:
    import polars as pl

    from curate.export import export_run
    from curate.export.select import where_expr
    from curate.export.spec import ExportSpec

    def dialogue(i: int, risk: str | None) -> dict:
        return {"id": f"d{i}", "source": "s", "kind": "dialogue", "text": "x", "risk": risk,
                "turns": [{"role": "seeker", "role_raw": "client", "text": f"求助{i}"},
                          {"role": "supporter", "role_raw": "counselor", "text": "我在。"}]}

    rows = [dialogue(0, "high"), dialogue(1, "concern"), dialogue(2, "none"), dialogue(3, None)]
    schema = {"id": pl.String, "source": pl.String, "kind": pl.String, "text": pl.String, "risk": pl.String,
              "turns": pl.List(pl.Struct({"role": pl.String, "role_raw": pl.String, "text": pl.String}))}
    df = pl.DataFrame(rows, schema=schema)
    assert df.filter(where_expr("risk = 'high'", df.schema))["id"].to_list() == ["d0"]
    assert df.filter(where_expr("risk != 'high'", df.schema))["id"].to_list() == ["d1", "d2"]  # null does not pass
    assert df.filter(where_expr("coalesce(risk, 'none') != 'high'", df.schema))["id"].to_list() == ["d1", "d2", "d3"]
    df.write_parquet(tmp_path / "shard.parquet")
    high = export_run(ExportSpec(tmp_path / "shard.parquet", tmp_path / "high", where="risk = 'high'"))
    rest = export_run(ExportSpec(tmp_path / "shard.parquet", tmp_path / "rest", where="risk != 'high'"))
    assert high.summary["selection"]["matched"] == 1 and high.summary["counts"]["rows"] == 1
    assert rest.summary["selection"]["matched"] == 2 and rest.summary["counts"]["rows"] == 2
    assert "求助0" in (tmp_path / "high" / "high.jsonl").read_text(encoding="utf-8")


def test_gold_references_resolve_and_hold_no_text(repo, shared_data) -> None:
    import importlib.util
    import json
    import sys

    from curate.annotations import EMOLLM, SEEKER_ROLES, SMILECHAT, load_dialogues, problems, read_rows
    from curate.schema import label_set

    sys.path.insert(0, str(repo / "annotate"))
    spec = importlib.util.spec_from_file_location("risk_sample", repo / "annotate" / "risk_sample.py")
    sampler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sampler)
    dialogues = load_dialogues(shared_data, (SMILECHAT, EMOLLM))
    for name in ("risk-hand-labels.jsonl", "risk-hand-labels-second.jsonl"):
        path = repo / "classifiers" / "annotations" / name
        rows = read_rows(path)
        assert problems(rows, dialogues, SEEKER_ROLES, label_set("risk"), sampler.part_of) == []
        assert sampler.span_problems(rows, dialogues) == []
        # references only: no field carries a turn's text or a piece of it
        for r in rows:
            text = dialogues[r["dialogue_id"]][r["turn"]]["content"]
            assert set(r) <= {"dialogue_id", "turn", "sha1", "label", "part", "stratum", "span", "note"}
            assert not any(isinstance(v, str) and len(v) >= 4 and v in text for k, v in r.items() if k != "label"), r
        assert json.dumps(rows, ensure_ascii=False).count("smilechat-") + json.dumps(rows).count("emollm-") == len(rows)
    first = read_rows(repo / "classifiers" / "annotations" / "risk-hand-labels.jsonl")
    assert len(first) >= 400 and {r["stratum"] for r in first} == {"random", "candidate"}
    assert sum(r["label"] == "high" for r in first if r["part"] == "test") >= 30
    keys = {(r["dialogue_id"], r["turn"]) for r in first}
    assert all((r["dialogue_id"], r["turn"]) in keys for r in read_rows(repo / "classifiers" / "annotations" /
                                                                         "risk-hand-labels-second.jsonl"))


def test_job_risk_option(tmp_path) -> None:
    from curate.job import JobError, parse_job

    (tmp_path / "d.jsonl").write_text('{"id": "1", "turns": [{"role": "client", "content": "你好"}]}\n', encoding="utf-8")
    base = {"inputs": [{"path": "d.jsonl", "kind": "dialogue"}], "output": str(tmp_path / "out")}
    job = parse_job(base, tmp_path)
    assert (job.risk.tag, job.risk.drop) == (True, False) and not job.tags["risk"].drop   # the default
    job = parse_job({**base, "risk": {"drop": True}, "tags": False}, tmp_path)
    assert list(job.tags) == ["risk"] and job.tags["risk"].drop                          # its own switch
    assert "risk" not in parse_job({**base, "risk": False}, tmp_path).tags
    assert "risk" not in parse_job({**base, "risk": {"tag": False}}, tmp_path).tags
    for bad, message in (({"drop": "yes"}, "risk.drop"), ({"tag": False, "drop": True}, "risk.drop"),
                         ({"level": "high"}, "unknown key"), ({"card": "emotion.yaml"}, "not 'risk'")):
        with pytest.raises(JobError, match=message):
            parse_job({**base, "risk": bad}, tmp_path)
    with pytest.raises(JobError, match="tags"):
        parse_job({**base, "tags": {"risk": "risk.yaml"}}, tmp_path)   # risk is configured under risk:, not tags:


@pytest.mark.parametrize("text", ["今天上班累死了，烦死了。", "热死了", "他骂我让我去死。", "笑死我了"])
def test_figures_of_speech_are_none_for_the_tagger_too(repo, text) -> None:
    # the tagger reads the turn with the lexicon's `ignore` phrases cut out; it called these high at P ~ 1
    taggers = Taggers({"risk": ModelSpec(str(repo / "classifiers" / "risk.yaml"))})
    out = tag_batch(_batch([[("seeker", text)]]), taggers).to_pylist()
    assert out[0]["turns"][0]["risk"] == "none"
    assert "死" not in "".join(taggers.risk.model_texts([text]))
