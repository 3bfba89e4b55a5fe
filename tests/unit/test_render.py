"""One rendering of a dialogue for training and for scoring: `curate.render` is what the pipeline's
normalize stage renders."""

from __future__ import annotations

from curate.render import SPEAKER_SEPARATOR, TURN_SEPARATOR, render_dialogue, render_turn, xtuner_turns
from tests.unit.test_normalize import dialogue_row, normalize_rows, turn


def test_render_dialogue_is_speaker_lines():
    assert SPEAKER_SEPARATOR == "：" and TURN_SEPARATOR == "\n"
    assert render_dialogue([("client", "我很难过"), ("counselor", "发生什么了？")]) == "client：我很难过\ncounselor：发生什么了？"
    assert render_turn(None, "嗯") == "：嗯" and render_turn("A", None) == "A："
    assert render_dialogue([]) == ""


def test_render_dialogue_equals_the_normalize_stage_rendering():
    dialogues = [
        [("client", "你好"), ("counselor", "你好，请说"), ("client", "我睡不着")],
        [(None, "无名"), ("A", None), ("B", "")],
        [("于春晓", "怎么了")],
        [],
    ]
    rows = [dialogue_row([turn(s, t) for s, t in d], id=f"d{i}") for i, d in enumerate(dialogues)]
    assert [r["text"] for r in normalize_rows(rows)] == [render_dialogue(d) for d in dialogues]


def test_xtuner_turns_are_the_readers_turns():
    conversation = [{"system": "你是心理咨询师", "input": "我很焦虑", "output": "慢慢说"},
                    {"system": "", "input": "睡不着", "output": "多久了？"}, {"input": "一个月", "output": "嗯"}]
    assert xtuner_turns(conversation) == [("system", "你是心理咨询师"), ("input", "我很焦虑"), ("output", "慢慢说"),
                                          ("input", "睡不着"), ("output", "多久了？"), ("input", "一个月"),
                                          ("output", "嗯")]
