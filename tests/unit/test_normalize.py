"""Normalisation: NFKC that keeps Chinese punctuation, invisible characters, whitespace, traditional to
simplified, `norm_flags`, dialogue rendering, and malformed rows left as read."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from curate.job import NormalizeSpec
from curate.schema import conform, record_schema
from curate.stages.normalize import SPEAKER_SEPARATOR, normalize, normalize_texts, to_simplified


def norm(text: str | None, **spec: bool) -> tuple[str, list[str]]:
    texts, flags = normalize_texts(pl.Series([text], dtype=pl.String), NormalizeSpec(**spec))
    return texts[0], flags[0].to_list()


_IDENTITY = {"source": "test", "source_file": "test.jsonl", "schema_version": record_schema().version,
             "pipeline_version": "test"}


def to_table(rows: list[dict]) -> pa.Table:
    keys = [f.name for f in record_schema().arrow if any(f.name in r for r in rows)]
    return conform(pa.Table.from_pylist(rows, schema=pa.schema([record_schema().arrow.field(k) for k in keys])))


def web_row(text: str | None, id: str = "w", **kw: object) -> dict:
    return {"id": id, "kind": "web", "source_line": 1, **_IDENTITY, "text": text, **kw}


def dialogue_row(turns: list[dict] | None, id: str = "d", **kw: object) -> dict:
    return {"id": id, "kind": "dialogue", "source_line": 1, **_IDENTITY, "turns": turns, **kw}


def turn(speaker: str | None, text: str | None, role: str = "other") -> dict:
    return {"speaker": speaker, "role": role, "role_raw": speaker, "text": text}


def normalize_rows(rows: list[dict], **spec: bool) -> list[dict]:
    return normalize(to_table(rows), NormalizeSpec(**spec)).to_pylist()


# ------------------------------------------------------------------------------------------------ NFKC


def test_nfkc_turns_full_width_ascii_into_ascii():
    assert norm("ＡＢＣａｂｃ１２３＠＃") == ("ABCabc123@#", ["nfkc"])


@pytest.mark.parametrize("punct", list("，！？：；（）～"))
def test_nfkc_keeps_chinese_full_width_punctuation(punct):
    text = f"你好{punct}世界"
    assert norm(text) == (text, [])


def test_nfkc_keeps_chinese_punctuation_next_to_converted_characters():
    assert norm("ＡＩ（人工智能）：好！") == ("AI（人工智能）：好！", ["nfkc"])


def test_nfkc_folds_compatibility_forms():
    assert norm("ｶﾞ①ﬁ")[0] == "ガ1fi"


def test_nfkc_can_be_switched_off():
    assert norm("ＡＢＣ", nfkc=False) == ("ＡＢＣ", [])


def test_ideographic_full_stop_and_enumeration_comma_are_untouched():
    assert norm("一、二。三")[0] == "一、二。三"


# ------------------------------------------------------------------------------------------------ invisible characters


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\ufeff", "\u00ad", "\u2060",
                                  "\u202a", "\u202e", "\u2066", "\u2069", "\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_invisible_and_control_characters_are_removed(char):
    assert norm(f"前{char}后") == ("前后", ["invisible_removed"])


@pytest.mark.parametrize(("text", "expected"), [
    ("e\u200b\u0301", "\u00e9"),  # a zero-width space between a letter and its combining accent
    ("\u1100\u200b\u1161", "\uac00"),  # ... between two Hangul jamo
    ("A\u00ad\u030a", "\u00c5"),  # a soft hyphen between a letter and its ring above
])
def test_invisible_characters_go_before_nfkc_so_the_result_is_nfkc(text, expected):
    # found by tests/unit/test_fuzz.py: removing the invisible character after NFKC left text that was not
    # NFKC, and a second pass changed it again
    out, flags = norm(text)
    assert out == expected and flags == ["invisible_removed", "nfkc"]
    assert norm(out) == (out, [])


def test_bom_at_the_start_is_removed():
    assert norm("\ufeff标题")[0] == "标题"


def test_tab_and_newline_are_not_invisible():
    assert norm("甲\t乙\n丙")[0] == "甲 乙\n丙"


# ------------------------------------------------------------------------------------------------ whitespace


def test_crlf_and_lone_cr_become_lf():
    assert norm("一\r\n二\r三") == ("一\n二\n三", ["whitespace_collapsed"])


def test_runs_of_spaces_tabs_and_wide_spaces_collapse_to_one_space():
    assert norm("a  \t b\u3000\u3000c\u00a0d")[0] == "a b c d"


def test_three_or_more_newlines_become_two():
    assert norm("一\n\n\n\n\n二\n\n三\n四")[0] == "一\n\n二\n\n三\n四"


def test_lines_are_stripped_and_the_text_is_trimmed():
    assert norm("  \n  第一行  \n\t第二行\t\n\n  ")[0] == "第一行\n第二行"


def test_blank_lines_made_of_spaces_count_as_empty():
    assert norm("一\n   \n   \n   \n二")[0] == "一\n\n二"


# ------------------------------------------------------------------------------------------------ flags


def test_unchanged_text_has_no_flags():
    assert norm("这是一段干净的文字。") == ("这是一段干净的文字。", [])


def test_flags_list_every_step_that_changed_the_text_in_order():
    assert norm("ＡＢ\u200b  c\r\n", to_simplified=True)[1] == ["invisible_removed", "nfkc", "whitespace_collapsed"]
    assert norm("Ａ這\u200b個  x", to_simplified=True)[1] == [
        "invisible_removed", "nfkc", "whitespace_collapsed", "traditional_converted"]


def test_null_text_becomes_empty_without_flags():
    assert norm(None) == ("", [])


# ------------------------------------------------------------------------------------------------ traditional


def test_to_simplified_converts_traditional_and_flags_it():
    assert norm("這個問題", to_simplified=True) == ("这个问题", ["traditional_converted"])


def test_traditional_text_is_kept_by_default():
    assert norm("這個問題") == ("這個問題", [])


def test_to_simplified_keeps_nulls():
    assert to_simplified(pl.Series(["這個", None], dtype=pl.String)).to_list() == ["这个", None]


# ------------------------------------------------------------------------------------------------ rows


def test_web_row_text_and_flags_are_filled():
    row = normalize_rows([web_row("  ＨＥＬＬＯ，世界  ")])[0]
    assert row["text"] == "HELLO，世界"
    assert row["norm_flags"] == ["nfkc", "whitespace_collapsed"]
    assert row["turns"] is None


def test_dialogue_turns_are_normalised_and_rendered_as_speaker_lines():
    turns = [turn("来访者", "  我最近\u200b很难过  ", "seeker"), turn("咨询师", "發生什麼了？", "supporter")]
    row = normalize_rows([dialogue_row(turns)], to_simplified=True)[0]
    assert [t["text"] for t in row["turns"]] == ["我最近很难过", "发生什么了？"]
    assert row["text"] == "来访者：我最近很难过\n咨询师：发生什么了？"
    assert SPEAKER_SEPARATOR == "："
    assert row["norm_flags"] == ["invisible_removed", "traditional_converted", "whitespace_collapsed"]


def test_dialogue_rendering_replaces_any_input_text():
    row = normalize_rows([dialogue_row([turn("A", "你好"), turn("B", "嗯")], text="stale")])[0]
    assert row["text"] == "A：你好\nB：嗯"


def test_dialogue_keeps_speakers_roles_and_turn_order():
    turns = [turn("B", "第二", "supporter"), turn("A", "第一", "seeker"), turn("B", "第三", "supporter")]
    row = normalize_rows([dialogue_row(turns)])[0]
    assert [(t["speaker"], t["role"], t["role_raw"]) for t in row["turns"]] == [
        ("B", "supporter", "B"), ("A", "seeker", "A"), ("B", "supporter", "B")]
    assert row["text"].split("\n") == ["B：第二", "A：第一", "B：第三"]


def test_clean_web_row_has_empty_flags():
    assert normalize_rows([web_row("你好。")])[0]["norm_flags"] == []


def test_clean_dialogue_has_empty_flags_like_a_clean_web_row():
    row = normalize_rows([dialogue_row([turn("A", "你好"), turn("B", "嗯")])])[0]
    assert row["norm_flags"] == []


def test_turn_with_null_speaker_or_text_renders_as_empty():
    row = normalize_rows([dialogue_row([turn(None, "你好"), turn("B", None)])])[0]
    assert row["text"] == "：你好\nB："


def test_mixed_batch_normalises_each_row_by_its_kind():
    rows = normalize_rows([
        web_row("ＡＢ", id="w1"),
        dialogue_row([turn("A", "  嗨  ")], id="d1"),
        web_row("甲\r\n乙", id="w2"),
    ])
    assert [r["id"] for r in rows] == ["w1", "d1", "w2"]
    assert [r["text"] for r in rows] == ["AB", "A：嗨", "甲\n乙"]
    assert [r["norm_flags"] for r in rows] == [["nfkc"], ["whitespace_collapsed"], ["whitespace_collapsed"]]


def test_malformed_rows_are_left_as_read():
    raw = "{\"text\": \"ＡＢ\u200b\r\n"
    bad_web = web_row(raw, id="bw", drop_reason="malformed_input", drop_detail="invalid JSON")
    bad_dlg = dialogue_row([turn("A", "  ＡＢ  ")], id="bd", text=raw, drop_reason="malformed_input")
    rows = normalize_rows([bad_web, bad_dlg, web_row("ＡＢ", id="ok")])
    assert rows[0]["text"] == raw and rows[0]["norm_flags"] is None
    assert rows[1]["text"] == raw and rows[1]["norm_flags"] is None
    assert rows[1]["turns"][0]["text"] == "  ＡＢ  "
    assert rows[2]["text"] == "AB"


def test_empty_table_is_returned_as_is():
    empty = record_schema().arrow.empty_table()
    assert normalize(empty, NormalizeSpec()).num_rows == 0


def test_nfkc_keeps_nulls_and_only_touches_texts_that_need_it() -> None:
    import polars as pl

    from curate.stages.normalize import nfkc

    assert nfkc(pl.Series(["ＡＢＣ，你好", None, "你好，世界"])).to_list() == ["ABC，你好", None, "你好，世界"]


def test_plain_characters_are_left_alone_by_nfkc_wherever_they_stand() -> None:
    """`_PLAIN`'s characters decompose to nothing else, have combining class 0 and are never the second
    character of a composition, so a text of them alone is in NFKC (the pre-check in `nfkc` relies on it)."""
    import unicodedata

    from curate.stages.normalize import _CJK_PUNCT, _PLAIN, _SHIELD

    seconds = {ch for c in range(0x110000) for ch in unicodedata.normalize("NFD", chr(c))[1:]}
    assert set(_CJK_PUNCT) <= set(_PLAIN)  # shielded: their stand-ins are checked instead
    for c in {*(set(_PLAIN) - set(_CJK_PUNCT)), *_SHIELD}:
        assert unicodedata.normalize("NFKD", c) == c and unicodedata.combining(c) == 0 and c not in seconds, hex(ord(c))


def test_nfkc_checks_every_text_with_a_character_outside_the_plain_ones() -> None:
    import polars as pl

    from curate.stages.normalize import nfkc

    texts = ["中文，“好”。", "e\u0301", "…", "ｱ", "\u3000中", "﨑", "한", "x\U000f0000（", "", None]
    assert nfkc(pl.Series(texts)).to_list() == ["中文，“好”。", "\xe9", "...", "ア", " 中", "﨑", "한", "x\U000f0000（", "", None]
