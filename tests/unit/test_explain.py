"""`curate rules explain`: the function agrees with per_record on the same record, and the CLI prints its verdicts.

Real texts: the committed SMILECHAT and COLD fixtures with the demo's web pages; and, where the full datasets
are present (marked `data`), ChineseWebText's CommonCrawl pages and quality examples (never committed).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from curate.assets import resolve_asset
from curate.cli import main
from curate.explain import dialogue_text_signals, explain, format_explanation
from curate.job import DialogueSpec, ModelSpec, NormalizeSpec, RiskSpec
from curate.models.risk_explain import explain_risk
from curate.pii.spec import PiiSpec
from curate.run import per_record
from curate.schema import conform, record_schema
from curate.stages.base import Settings
from curate.stages.rules import load_rule_set
from curate.stages.tag import Taggers, tag_batch
from tests.conftest import FIXTURES, REPO, SMILECHAT_FIXTURE

RULE_FILES = ["default.yaml", "dialogue.yaml"]
COMPARED = ["text", "norm_flags", "rule_flags", "drop_reason", "drop_detail", *record_schema().signal_columns]

SYNTHETIC_WEB = [
    "",
    "太短了",
    "你好" * 150,
    "這個問題真的很重要，我們需要認真討論。" * 12,
    "今天天气很好。\n\n\n\n我们去公园散步吧。\r\n" * 10,
    "ＡＢＣ１２３，全角字符。\u200b零宽字符。" * 10,
    "博彩\n巨乳\n" + "这是一个正常的句子，用来凑够长度。" * 10,
    "Only English text without any Chinese characters at all. " * 6,
    "一行\n" * 120,
]

SYNTHETIC_DIALOGUES = [
    "来访者：我好难过\n咨询师：发生什么了？",
    "来访者：我好难过",
    "A：你好\nA：你好\nA：你好",
    "client: 我失眠了\ncounselor: 多久了？\nclient: 一个月",
    "甲：今天怎么样？\n乙：还行。\n\n甲：那就好。",
    "来访者：\u200b\n咨询师：你还在吗？",
]

# ------------------------------------------------------------------------------------------------ data


def _jsonl(path: Path, n: int) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(n), f, strict=False)]


def _demo_pages() -> list[dict]:
    """The demo's web pages, one of each `demo_group` (written to trip every web rule), in file order."""
    seen: dict[str, dict] = {}
    for r in _jsonl(REPO / "demo" / "web.jsonl", 10_000):
        seen.setdefault(r.get("demo_group", r["id"]), r)
    return list(seen.values())[:20]


@pytest.fixture(scope="module", params=["fixtures", pytest.param("cwt", marks=pytest.mark.data)])
def web_texts(request) -> list[str]:
    """Synthetic edge cases, plus: the demo's pages (one per group) and COLD comments; or real pages (raw
    CommonCrawl, ChineseWebText's clean and dirty examples) from the full datasets."""
    if request.param == "fixtures":
        real = [r["text"] for r in _demo_pages()]
        with (FIXTURES / "cold" / "dev.csv").open(encoding="utf-8", newline="") as f:
            real += [row["TEXT"] for _, row in zip(range(4), csv.DictReader(f), strict=False)]
        return real + SYNTHETIC_WEB
    web = request.getfixturevalue("shared_data") / "web"
    real = [r["raw_content"] for r in _jsonl(web / "cwt-commoncrawl-sample.jsonl", 8)]
    real += [r["text"] for r in _jsonl(web / "cwt-quality-clean.jsonl", 3)]
    real += [r["text"] for r in _jsonl(web / "cwt-quality-dirty.jsonl", 3)]
    return real + SYNTHETIC_WEB


def _one_line(text: str) -> bool:
    return len(text.splitlines()) == 1 and text.strip() != ""


@pytest.fixture(scope="module")
def dialogues() -> list[list[tuple[str, str]]]:
    """(speaker, utterance) lists: real SMILECHAT dialogues (the fixtures) whose utterances are single lines,
    and synthetic ones."""
    real = []
    for record in _jsonl(SMILECHAT_FIXTURE, 200):
        turns = [(t["role"], t["content"]) for t in record["turns"]]
        if all(_one_line(u) for _, u in turns):
            real.append(turns)
        if len(real) == 8:
            break
    synthetic = [
        [tuple(part.strip() for part in line.replace(":", "：", 1).split("：", 1)) for line in text.splitlines()
         if line.strip()]
        for text in SYNTHETIC_DIALOGUES
    ]
    return real + synthetic


def render(turns: list[tuple[str, str]]) -> str:
    return "\n".join(f"{speaker}：{utterance}" for speaker, utterance in turns)


def per_record_rows(rows: list[dict]) -> list[dict]:
    """per_record on all rows in one batch (explain runs each alone: the outcome must not depend on the batch)."""
    base = {"source": "test", "source_file": "test", "source_line": 1,
            "schema_version": record_schema().version, "pipeline_version": "test"}
    rows = [{"id": f"r{i}", **base, **row} for i, row in enumerate(rows)]
    keys = [f.name for f in record_schema().arrow if any(f.name in r for r in rows)]
    table = conform(pa.Table.from_pylist(rows, schema=pa.schema([record_schema().arrow.field(k) for k in keys])))
    out = per_record(table, Settings(rule_files=tuple(RULE_FILES), normalize=NormalizeSpec(), pii=PiiSpec()))
    # a run's finish stage fills the dialogue signals no rule read; explain shows them all
    return (dialogue_text_signals(out) if rows[0]["kind"] == "dialogue" else out).to_pylist()


def assert_same_outcome(explained: dict, direct: dict) -> None:
    for col in COMPARED:
        assert explained[col] == direct[col], col


# ------------------------------------------------------------------------------------------------ function


@pytest.fixture(scope="module")
def explained_web(web_texts) -> list[dict]:
    return [explain(text)[0] for text in web_texts]


@pytest.fixture(scope="module")
def explained_dialogues(dialogues) -> list[dict]:
    return [explain(render(turns), kind="dialogue")[0] for turns in dialogues]


def test_explain_agrees_with_per_record_on_web_texts(web_texts, explained_web):
    assert len(web_texts) >= 20
    direct = per_record_rows([{"kind": "web", "text": text} for text in web_texts])
    for explained, row in zip(explained_web, direct, strict=True):
        assert_same_outcome(explained, row)


def test_explain_agrees_with_per_record_on_dialogues(dialogues, explained_dialogues):
    assert len(dialogues) >= 12
    spec = DialogueSpec()
    direct = per_record_rows([
        {"kind": "dialogue", "turns": [{"speaker": s, "role": spec.role_of(s), "role_raw": s, "text": u} for s, u in turns]}
        for turns in dialogues
    ])
    for explained, row in zip(explained_dialogues, direct, strict=True):
        assert_same_outcome(explained, row)
        assert [t["text"] for t in explained["turns"]] == [t["text"] for t in row["turns"]]


def test_the_compared_texts_include_keeps_and_several_drop_reasons(explained_web, explained_dialogues):
    for rows in (explained_web, explained_dialogues):
        reasons = [r["drop_reason"] for r in rows]
        assert None in reasons
        assert len({r for r in reasons if r}) >= 2


def test_web_verdicts_cover_the_active_web_rules_in_order():
    row, verdicts = explain("太短了")
    assert [v.rule for v in verdicts] == [r.id for r in load_rule_set("default.yaml").active]
    assert [v.rule for v in verdicts if v.fires] == row["rule_flags"]
    assert all(v.rule_set == "default" for v in verdicts)


def test_dialogue_verdicts_cover_the_active_dialogue_rules():
    row, verdicts = explain("来访者：我好难过", kind="dialogue")
    assert [v.rule for v in verdicts] == [r.id for r in load_rule_set("dialogue.yaml").active]
    assert [v.rule for v in verdicts if v.fires] == row["rule_flags"]


def test_verdict_shows_the_signal_value_and_threshold():
    row, verdicts = explain("太短了")
    v = next(v for v in verdicts if v.rule == "cwt_too_short")
    assert (v.signal, v.value, v.threshold, v.fires) == ("sig_char_len", 3, "<= 200", True)
    assert v.source.startswith("CWT2")


def test_dialogue_lines_take_roles_from_the_default_role_map():
    # pii off: a speaker label that is not a known role is a name, and the pii stage would redact it
    row, _ = explain("client：我睡不着\ncounselor：多久了？\n路人：哦", kind="dialogue", pii=PiiSpec(mode="off"))
    assert [(t["speaker"], t["role"]) for t in row["turns"]] == [
        ("client", "seeker"), ("counselor", "supporter"), ("路人", "other")]


def test_explain_uses_the_normalisation_options():
    row, _ = explain("這個問題", norm=NormalizeSpec(to_simplified=True))
    assert row["text"] == "这个问题"
    assert "traditional_converted" in row["norm_flags"]


# ------------------------------------------------------------------------------------------------ CLI


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["rules", "explain", *args])
    assert result.exit_code == 0, result.output
    return result.output


def expected_verdict(row: dict) -> str:
    return f"verdict: DROP ({row['drop_reason']})" if row["drop_reason"] else "verdict: KEEP"


@pytest.mark.parametrize("index", range(len(SYNTHETIC_WEB)))
def test_cli_prints_every_web_rule_and_the_functions_verdict(index):
    text = SYNTHETIC_WEB[index]
    output = run_cli(text)
    row, verdicts = explain(text)
    assert format_explanation(row, verdicts) + "\n\nrisk:" in output
    assert output.startswith("pii:\n")  # the pii stage's findings come first
    for rule in load_rule_set("default.yaml").active:
        assert f" {rule.id} " in output
    assert expected_verdict(row) in output.splitlines()


def test_cli_prints_drop_detail_for_a_dropped_text():
    output = run_cli("太短了")
    assert "verdict: DROP (cwt_too_short)" in output.splitlines()
    assert "detail:  sig_char_len=3 <= 200" in output.splitlines()


@pytest.mark.parametrize("source", ["demo", pytest.param("cwt", marks=pytest.mark.data)])
def test_cli_keeps_a_clean_page(source, request):
    """A fluent article: the demo's first `good` page; ChineseWebText's first clean example (full datasets)."""
    if source == "demo":
        text = next(r["text"] for r in _jsonl(REPO / "demo" / "web.jsonl", 10_000) if r.get("demo_group") == "good")
    else:
        text = _jsonl(request.getfixturevalue("shared_data") / "web" / "cwt-quality-clean.jsonl", 1)[0]["text"]
    row, _ = explain(text)
    assert row["drop_reason"] is None
    assert "verdict: KEEP" in run_cli(text).splitlines()


@pytest.mark.parametrize("text", SYNTHETIC_DIALOGUES)
def test_cli_prints_every_dialogue_rule_and_the_functions_verdict(text):
    output = run_cli("--kind", "dialogue", text)
    row, verdicts = explain(text, kind="dialogue")
    assert format_explanation(row, verdicts) + "\n\nrisk:" in output
    for rule in load_rule_set("dialogue.yaml").active:
        assert f" {rule.id} " in output
    assert not any(f" {r.id} " in output for r in load_rule_set("default.yaml").active)
    assert expected_verdict(row) in output.splitlines()


def test_cli_reads_the_text_from_stdin():
    result = CliRunner().invoke(main, ["rules", "explain", "--kind", "dialogue", "-f", "-"],
                                input="来访者：我好难过\n咨询师：发生什么了？")
    assert result.exit_code == 0, result.output
    assert "verdict: KEEP" in result.output.splitlines()


def test_cli_without_text_is_a_usage_error():
    result = CliRunner().invoke(main, ["rules", "explain"])
    assert result.exit_code == 2
    assert "give TEXT or --file" in result.output


def test_cli_with_an_unknown_rule_file_fails_cleanly():
    result = CliRunner().invoke(main, ["rules", "explain", "--rules", "no_such_rules.yaml", "文本"])
    assert result.exit_code != 0
    assert "no_such_rules.yaml" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ------------------------------------------------------------------------------------------- crisis risk


RISK_DIALOGUE = "来访者：最近真的不想活了，安眠药已经攒了一些\n咨询师：你现在安全吗？\n来访者：我不会自杀的，就是很累\n来访者：我朋友想自杀"


def test_risk_reads_seeker_turns_with_the_runs_decision():
    row, _ = explain(RISK_DIALOGUE, kind="dialogue")
    report = explain_risk(row["turns"])
    assert [t.turn for t in report.turns] == [0, 2, 3]  # the supporter's turn is not read
    first, negated, friend = report.turns
    assert first.level == "high" and first.cue_level == "high" and "不想活" in (first.evidence or "")
    # the guide: a negated or someone else's statement is not the seeker at high risk, but not none either
    assert negated.level == friend.level == "concern" and negated.demoted and friend.demoted
    assert report.level == "high"

    # the same levels the tag stage writes on the same (redacted) turns in a run
    taggers = Taggers({"risk": ModelSpec(str(resolve_asset(RiskSpec().card, "classifiers")))})
    tagged = tag_batch(pa.Table.from_pylist([row], schema=record_schema().arrow), taggers).to_pylist()[0]
    assert [t["risk"] for t in tagged["turns"]] == ["high", None, "concern", "concern"]
    assert tagged["risk"] == report.level


def test_cli_prints_the_risk_of_each_seeker_turn():
    output = CliRunner().invoke(main, ["rules", "explain", "--kind", "dialogue", RISK_DIALOGUE]).output
    risk = output[output.index("\nrisk: "):]
    assert risk.startswith("\nrisk: high")
    assert "turn 0: high" in risk and "turn 2: concern" in risk and "turn 1:" not in risk
    assert "read on help-seekers' turns of dialogues only" in run_cli("我不想活了")
