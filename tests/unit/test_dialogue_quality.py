"""Dialogue-quality signals, one at a time, on hand-made dialogues whose values are worked out by hand; crisis
risk left unaddressed; the dialogue_quality score's caps and the rows it scores; the finish rules."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from curate.assets import asset_dir
from curate.explain import risk_tagger
from curate.job import NormalizeSpec
from curate.models.dialogue_quality import cap, load_model, score_table
from curate.run import per_record
from curate.schema import conform, label_map, label_set, record_schema
from curate.stages import dedup_global
from curate.stages import generic_replies as gr
from curate.stages.base import Settings
from curate.stages.dialogue import (
    dialogue_signals,
    risk_unaddressed,
    seeker_risk,
    seeker_valence,
    strategy_entropy,
)
from curate.stages.signals import SignalInput, compute_signals
from curate.stages.tag import tag_batch

TURNS = record_schema().arrow.field("turns").type


def turns_array(dialogues: list[list[dict]]) -> pa.Array:
    return pa.array(dialogues, type=TURNS)


def sk(text: str, **kw: object) -> dict:
    return {"speaker": "来访者", "role": "seeker", "role_raw": "client", "text": text, **kw}


def sp(text: str, **kw: object) -> dict:
    return {"speaker": "咨询师", "role": "supporter", "role_raw": "counselor", "text": text, **kw}


def text_signals(dialogues: list[list[dict]], columns: list[str]) -> dict[str, list]:
    texts = pl.Series(["\n".join(t["text"] for t in d) for d in dialogues])
    out = compute_signals(SignalInput(texts, turns_array(dialogues), None), columns)
    return {c: list(np.asarray(out[c], dtype=np.float64)) for c in columns}


def records(dialogues: list[list[dict]], **kw: object) -> pa.Table:
    base = {"kind": "dialogue", "source": "test", "source_file": "test", "source_line": 1,
            "schema_version": record_schema().version, "pipeline_version": "test"}
    rows = [{"id": f"d{i}", **base, "turns": d, "exact_hash": 1000 + i, **kw} for i, d in enumerate(dialogues)]
    keys = [f.name for f in record_schema().arrow if f.name in rows[0]]
    return conform(pa.Table.from_pylist(rows, schema=pa.schema([record_schema().arrow.field(k) for k in keys])))


# ------------------------------------------------------------------------------------------- support style

S1 = "我理解你的感受，压力大的时候确实难熬。能说说是什么让你压力这么大吗？"  # opening, question
S2 = "听到你这么说我很难过，你并不孤单。你愿意多说一些吗？"  # opening, slogan, question
S3 = "你可以试着把担心写下来，再和领导约个时间谈谈。"  # none of them
S4 = "不客气，作为一个AI，我无法替你做决定，加油！"  # opening, AI boilerplate, slogan
STYLE = [sk("最近压力很大，睡不着。"), sp(S1), sk("工作上的事。"), sp(S2), sk("嗯。"), sp(S3), sk("谢谢"), sp(S4)]
NO_SUPPORTER = [sk("有人吗？"), sk("算了。")]


@pytest.fixture(scope="module")
def style() -> dict[str, list]:
    return text_signals([STYLE, NO_SUPPORTER], ["sig_sup_mean_chars", "sig_sup_cv_chars", "sig_sup_question_frac",
                                                "sig_sup_opening_frac", "sig_sup_ai_frac", "sig_sup_slogan_frac"])


def test_supporter_turn_length(style):
    lengths = [len(s) for s in (S1, S2, S3, S4)]
    assert style["sig_sup_mean_chars"] == pytest.approx([sum(lengths) / 4, 0.0])


def test_supporter_turn_length_variation(style):
    lengths = [len(s) for s in (S1, S2, S3, S4)]
    mean = sum(lengths) / 4
    std = math.sqrt(sum((x - mean) ** 2 for x in lengths) / 4)
    assert style["sig_sup_cv_chars"] == pytest.approx([std / mean, 0.0], rel=1e-6)


def test_supporter_questions(style):
    assert style["sig_sup_question_frac"] == pytest.approx([2 / 4, 0.0])


def test_formulaic_openings(style):
    assert style["sig_sup_opening_frac"] == pytest.approx([3 / 4, 0.0])


def test_ai_boilerplate(style):
    assert style["sig_sup_ai_frac"] == pytest.approx([1 / 4, 0.0])
    for line in ("我是一个语言模型，没有个人经历。", "很抱歉，我无法回答这个问题。"):
        assert text_signals([[sk("你好"), sp(line)]], ["sig_sup_ai_frac"])["sig_sup_ai_frac"] == [1.0]


def test_slogans(style):
    assert style["sig_sup_slogan_frac"] == pytest.approx([2 / 4, 0.0])


# ------------------------------------------------------------------------------------------- support substance

SUBSTANCE = [
    sk("考试没考好，妈妈一直骂我。"),
    sp("妈妈骂你的时候你心里是什么感觉？能说说当时发生了什么吗？"),  # open: 什么 twice, 说说
    sk("很委屈。"),
    sp("首先，别太在意。其次，多运动。"),  # a list
    sk("谢谢"),
    sp("不客气，祝你好运！"),  # a closing
    sk("嗯"),
    sp("1. 早睡\n2. 早起"),  # a numbered list (no Chinese content pair across the digits)
]


def test_open_questions_per_supporter_turn():
    got = text_signals([SUBSTANCE, NO_SUPPORTER], ["sig_sup_open_questions"])["sig_sup_open_questions"]
    assert got == pytest.approx([3 / 4, 0.0])
    # a yes/no question is not an open one
    assert text_signals([[sk("嗯"), sp("你睡得好吗？")]], ["sig_sup_open_questions"])["sig_sup_open_questions"] == [0.0]


def test_stock_closings_and_advice_lists():
    got = text_signals([SUBSTANCE, NO_SUPPORTER], ["sig_sup_closing_frac", "sig_sup_list_frac"])
    assert got["sig_sup_closing_frac"] == pytest.approx([1 / 4, 0.0])
    assert got["sig_sup_list_frac"] == pytest.approx([2 / 4, 0.0])


def test_content_bigrams_count_distinct_pairs_without_function_characters():
    # 妈妈骂你的时候…: Chinese characters only, pairs with 你/的/是/什/么/能/了/吗… left out, repeats once
    turn = "妈妈妈妈，考试考试！"  # 妈妈 and 妈妈 again (once), 妈考 across the comma, 考试, 试考
    got = text_signals([[sk("嗯"), sp(turn), sk("嗯"), sp("你的"), sk("嗯"), sp("ok 123")]],
                       ["sig_sup_content_bigrams"])["sig_sup_content_bigrams"]
    assert got == pytest.approx([4 / 3])  # {妈妈, 妈考, 考试, 试考}, then none, none
    assert text_signals([NO_SUPPORTER], ["sig_sup_content_bigrams"])["sig_sup_content_bigrams"] == [0.0]


def test_a_question_ending_in_ma_without_a_mark_counts():
    got = text_signals([[sk("你好"), sp("你最近睡得好吗。"), sk("不好"), sp("那你白天呢，累不累。")]],
                       ["sig_sup_question_frac"])
    assert got["sig_sup_question_frac"] == [1.0]


# ------------------------------------------------------------------------------------------- seeker engagement


def test_seeker_engagement():
    # the opening post does not count; later turns of 20, 10, 4, 2 characters: mean 9, late half / early half
    later = ["一" * 20, "二" * 10, "三" * 4, "四" * 2]
    turns = [sk("一个很长的开场帖子" * 10)]
    for t in later:
        turns += [sp("嗯，然后呢？"), sk(t)]
    got = text_signals([turns, [sk("只说一次"), sp("好的")], [sk("开场"), sp("嗯？"), sk("就一句")]],
                       ["sig_seek_reply_chars", "sig_seek_reply_trend"])
    assert got["sig_seek_reply_chars"] == pytest.approx([9.0, 0.0, 3.0])
    assert got["sig_seek_reply_trend"] == pytest.approx([(4 + 2) / (20 + 10), 1.0, 1.0])


# ------------------------------------------------------------------------------------------- generic replies


def test_generic_reply_share_and_clusters(tmp_path: Path):
    # 6 dialogues share the closing 不客气，祝你生活愉快 (不客气 is under 4 characters and is not counted);
    # each also has one reply of its own, and one has two
    own = ["你可以先从每天散步十分钟开始", "试着把想说的话写成一封信", "周末约老朋友吃顿饭聊聊", "睡前一小时放下手机看书",
           "和老师约个时间谈谈成绩", "把大任务拆成三件小事", "先照顾好自己的身体"]
    dialogues = [[sk("谢谢你"), sp(own[i]), sk("嗯"), sp("不客气，祝你生活愉快。")] for i in range(6)]
    dialogues[0] += [sk("还有"), sp(own[6])]
    table = gr.clause_column(records(dialogues), Settings())
    rows = gr.clause_rows(table)
    assert set(gr.generic_clauses(rows, None, 6)["clause"].to_pylist()) == set(
        gr.generic_clauses(rows, None, 5)["clause"].to_pylist())
    generic = pl.from_arrow(gr.generic_clauses(rows, None, 6)["clause"])
    assert len(generic) == 1
    frac, live = gr.generic_reply_frac(table, generic)
    assert frac.tolist() == pytest.approx([1 / 3] + [1 / 2] * 5) and live.all()
    # dialogues 0 and 1 in one near-duplicate cluster count once: the clause is in 5 dialogues, not 6
    comps = tmp_path / "components.parquet"
    pl.DataFrame({"node": [1000, 1001], "component": [1000, 1000]},
                 schema={"node": pl.UInt64, "component": pl.UInt64}).write_parquet(comps)
    assert gr.generic_clauses(rows, str(comps), 6).num_rows == 0
    assert gr.generic_clauses(rows, str(comps), 5).num_rows == 1


class InProcessEngine:
    """The engine's keyed regrouping done in this process: every row in one block."""

    def group_and_collect(self, paths, columns, rows, rows_kwargs, key, n_rows, groups, groups_kwargs, schema):
        import pyarrow.parquet as pq

        block = pa.concat_tables([rows(pq.read_table(p, columns=columns), **rows_kwargs) for p in paths])
        return groups(block, **groups_kwargs).cast(schema)


@pytest.mark.parametrize("driver_rows", [dedup_global.DRIVER_GROUP_ROWS, 0], ids=["in the driver", "on the engine"])
def test_generic_step_small_and_large(tmp_path: Path, monkeypatch, driver_rows: int):
    # the whole-run step over checkpoint files: the driver path (small runs) and the engine's regrouping agree
    import pyarrow.parquet as pq

    monkeypatch.setattr(dedup_global, "DRIVER_GROUP_ROWS", driver_rows)
    closing = "不客气，祝你生活愉快。"
    dialogues = [[sk("谢谢你"), sp(f"第{i}个建议是每天散步{i}分钟"), sk("嗯"), sp(closing)] for i in range(6)]
    table = gr.clause_column(records(dialogues), Settings())
    paths = []
    for k, part in enumerate((table.slice(0, 3), table.slice(3))):
        paths.append(str(tmp_path / f"part-{k}.parquet"))
        pq.write_table(part, paths[-1])
    work = tmp_path / "work"
    work.mkdir()
    result = gr.generic_global(paths, work, Settings(), InProcessEngine())
    assert result.report["dialogues"] == 6 and result.report["min_dialogues"] == 5
    assert pl.read_parquet(result.path)["clause"].len() == result.report["generic_clauses"] == 1


def test_min_dialogues_grows_with_the_run():
    assert gr.min_dialogues(100) == 5
    assert gr.min_dialogues(12_647) == 7


# ------------------------------------------------------------------------------------------- tag signals


def _one_hot(labels: list[str], label: str) -> list[float]:
    return [1.0 if x == label else 0.0 for x in labels]


def test_strategy_entropy():
    labels = label_set("strategy")
    a, b, c = labels[0], labels[1], labels[2]
    turns = [sk("你好", strategy_scores=_one_hot(labels, b)), sp("一", strategy_scores=_one_hot(labels, a)),
             sp("二", strategy_scores=_one_hot(labels, a)), sp("三", strategy_scores=_one_hot(labels, b)),
             sp("四", strategy_scores=_one_hot(labels, c)), sp("五")]  # the untagged turn does not count
    same = [sk("你好"), sp("一", strategy_scores=_one_hot(labels, a)), sp("二", strategy_scores=_one_hot(labels, a))]
    ent, ok = strategy_entropy(turns_array([turns, same, [sk("没人回答")]]), 3)
    assert ent.tolist() == pytest.approx([1.5, 0.0, 0.0])  # p = 1/2, 1/4, 1/4
    assert ok.tolist() == [True, True, False]


def test_seeker_valence():
    labels = label_set("emotion")
    coarse = label_map("emotion_coarse")
    sad = next(e for e in labels if coarse[e] == "sad")
    happy = next(e for e in labels if coarse[e] == "happy")
    neutral = next(e for e in labels if coarse[e] == "neutral")
    turns = [sk("我好难过", emotion_scores=_one_hot(labels, sad)), sp("怎么了？", emotion_scores=_one_hot(labels, sad)),
             sk("说出来好多了", emotion_scores=_one_hot(labels, neutral)), sp("嗯"),
             sk("谢谢你，我开心多了", emotion_scores=_one_hot(labels, happy))]
    shift, last, ok = seeker_valence(turns_array([turns, [sk("没有标签"), sp("嗯")]]), 2)
    assert shift.tolist() == pytest.approx([2.0, 0.0])
    assert last.tolist() == pytest.approx([1.0, 0.0])
    assert ok.tolist() == [True, False]


# ------------------------------------------------------------------------------------------- crisis risk

# risk_unaddressed reads the seeker turns' `risk` tag (set here by hand; the tagger's own cases: test_risk.py)
RISK_CASES = {
    "ignored": ([sk("我真的不想活了。", risk="high"), sp("你愿意多说说最近发生了什么吗？")], True),
    "asked about safety": ([sk("我真的不想活了。", risk="high"), sp("你现在安全吗？有没有伤害自己的计划？")], False),
    "hotline": ([sk("我有时候想自杀。", risk="high"), sp("请拨打心理援助热线，和专业的人聊聊。")], False),
    "answered before, not after": ([sk("活着没有意义。", risk="concern"), sp("你是否有过结束生命的念头？"),
                                    sk("我想跳楼。", risk="high"), sp("加油，一切都会好起来的。")], True),
    "concern counts": ([sk("我觉得很绝望。", risk="concern"), sp("嗯嗯。")], True),
    "never answered": ([sk("我觉得很绝望。", risk="concern")], True),
    "tagged none": ([sk("今天上班累死了，烦死了。", risk="none"), sp("辛苦了。")], False),
    "a supporter's words are not the seeker's risk": ([sk("我和室友吵架了。", risk="none"), sp("你不会想自杀吧？")],
                                                       False),
}


@pytest.mark.parametrize("case", sorted(RISK_CASES))
def test_risk_unaddressed(case):
    turns, expected = RISK_CASES[case]
    flag, computed = risk_unaddressed(turns_array([turns]), 1)
    assert flag.tolist() == [expected] and computed.tolist() == [True]


def test_risk_is_the_tag_alone():
    # one source of truth: an untagged seeker turn counts for nothing, whatever it says, and a dialogue whose
    # seeker turns carry no tag (the job's risk: false) has no risk_unaddressed at all
    levels = seeker_risk(turns_array([[sk("最近什么都提不起劲。", risk="high"), sk("我想死。", risk="none"),
                                       sk("我想死。"), sp("嗯。")]]))
    assert levels.select("pos", "level").rows() == [(0, 2), (1, 0)]
    flag, computed = risk_unaddressed(turns_array([[sk("我想死。"), sp("嗯。")], [sk("提不起劲。", risk="high")]]), 2)
    assert computed.tolist() == [False, True] and flag.tolist() == [False, True]


def test_the_risk_tagger_feeds_risk_unaddressed():
    # the shipped tagger, as the tags stage runs it: 死 as an intensifier in a seeker's account is none; the
    # seeker's own wish is high, left unanswered or answered with a hotline
    cases = [[sk("最近工作好累，老板天天骂人，烦死了，不知道怎么办。"), sp("辛苦了。")],
             [sk("我真的不想活了。"), sp("你愿意多说说最近发生了什么吗？")],
             [sk("我真的不想活了。"), sp("请拨打心理援助热线，和专业的人聊聊。")]]
    table = tag_batch(records(cases), risk_tagger())
    flag, computed = risk_unaddressed(table.column("turns"), table.num_rows)
    assert computed.all() and flag.tolist() == [False, True, False]


# ------------------------------------------------------------------------------------------- the score and the rules

GOOD = [sk("最近和男朋友总吵架，我很难过。"), sp("吵架之后你通常是什么感受？能说说最近一次是因为什么吗？"),
        sk("因为他总是忘记我们约好的事情。"), sp("被忘记会让人觉得自己不被重视。你有没有跟他说过这种感受？")]


def finished(dialogues: list[list[dict]], rule_files: tuple[str, ...] = ("dialogue.yaml",)) -> pa.Table:
    """per_record, the risk tagger (the tags stage), then the dialogue signals, as a run does."""
    settings = Settings(rule_files=rule_files, normalize=NormalizeSpec())
    return dialogue_signals(tag_batch(per_record(records(dialogues), settings), risk_tagger()), settings)


def test_dialogue_quality_caps_and_rows():
    model = load_model(asset_dir("classifiers") / "dialogue_quality.yaml")
    risky = [*GOOD, sk("说实话我有时候想自杀。"), sp("嗯，我明白。")]
    ai = [sk("我很难过。"), sp("作为一个AI，我没有情感。"), sk("那你能帮我吗？"), sp("很抱歉，我无法提供帮助。")]
    table = finished([GOOD, risky, ai, NO_SUPPORTER], rule_files=())  # dlg_ai_boilerplate would drop `ai`
    assert table.column("risk_unaddressed").to_pylist() == [False, True, False, False]
    q, rows = score_table(model, table)
    assert rows.tolist() == [True, True, True, False]  # no supporter: no score
    assert 0.0 <= q[0] <= 1.0
    assert q[1] <= cap() + 1e-9
    assert q[2] == 0.0


def test_risk_rule_is_evaluated_after_the_tags(tmp_path: Path):
    rules = tmp_path / "risk.yaml"
    rules.write_text("name: risk_test\nversion: 1\napplies_to: [dialogue]\nrules:\n"
                     "  - {id: t_risk, signal: risk_unaddressed, op: '==', value: true, source: test}\n",
                     encoding="utf-8")
    table = finished([GOOD, [sk("我不想活了。"), sp("哦。")]], ("dialogue.yaml", str(rules)))
    assert table.column("drop_reason").to_pylist() == [None, "t_risk"]
    assert table.column("rule_flags").to_pylist() == [[], ["t_risk"]]


def test_inactive_without_dialogue_inputs(tmp_path: Path):
    # a job of web inputs alone runs none of the dialogue-quality stages (no clause column, no global step, no
    # finish work, no model load); with a dialogue input, all four run under the default scores
    from curate.job import parse_job
    from curate.run import settings_of
    from curate.stages.dialogue import DIALOGUE_SIGNALS
    from curate.stages.dialogue_quality import DIALOGUE_QUALITY

    web = tmp_path / "web.jsonl"
    web.write_text('{"text": "一篇网页。"}\n', encoding="utf-8")
    steps = (gr.REPLY_CLAUSES, gr.GENERIC_REPLIES, DIALOGUE_SIGNALS, DIALOGUE_QUALITY)
    inputs = [{"name": "web", "kind": "web", "path": str(web)}]
    only_web = settings_of(parse_job({"name": "w", "inputs": inputs, "output": str(tmp_path / "o")}, tmp_path))
    assert "dialogue_quality" in only_web.scores and only_web.kinds == ("web",)
    assert [s.active(only_web) for s in steps] == [False] * 4
    dlg = tmp_path / "dlg.jsonl"
    dlg.write_text('{"turns": []}\n', encoding="utf-8")
    both = settings_of(parse_job({"name": "b", "inputs": [*inputs, {"name": "d", "kind": "dialogue", "path": str(dlg),
                                                                      "dialogue": {"style": "turns"}}],
                                  "output": str(tmp_path / "o")}, tmp_path))
    assert [s.active(both) for s in steps] == [True] * 4
