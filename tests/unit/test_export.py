"""Unit tests of the export's pieces on small hand-built records: the conversation rule (merge, trim, empty
turns, roles, system), alpaca rows, the --where checks and the seeded selection plan."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from curate.export.convert import SKIP_EMPTY, SKIP_ROLE, SKIP_WEB, to_alpaca, to_messages, to_sharegpt
from curate.export.select import check_balance_column, plan, where_expr
from curate.export.spec import ExportError, ExportSpec, parse_roles


def turn(role: str, text: str | None, strategy: str | None = None, role_raw: str | None = None) -> dict:
    raw = role_raw or {"seeker": "client", "supporter": "counselor", "other": "someone"}[role]
    return {"role": role, "role_raw": raw, "text": text, "strategy": strategy}


def records(*dialogues: list[dict], web: int = 0) -> pl.DataFrame:
    rows = [{"id": f"d{i}", "source": "s", "kind": "dialogue", "text": "x", "turns": t} for i, t in enumerate(dialogues)]
    rows += [{"id": f"w{i}", "source": "web", "kind": "web", "text": f"网页正文{i}", "turns": None} for i in range(web)]
    return pl.DataFrame(rows, schema={"id": pl.String, "source": pl.String, "kind": pl.String, "text": pl.String,
                                      "turns": pl.List(pl.Struct({"role": pl.String, "role_raw": pl.String,
                                                                  "text": pl.String, "strategy": pl.String}))})


def spec(**kw) -> ExportSpec:
    return ExportSpec(Path("in"), Path("/tmp/unused"), **kw)


def sharegpt(df: pl.DataFrame, **kw) -> tuple[list[dict], dict]:
    out = to_sharegpt(df, spec(**kw))
    return out.rows.to_dicts(), dict(out.skipped)


def test_alternating_dialogue_is_kept_as_is():
    rows, _ = sharegpt(records([turn("seeker", "我很难过"), turn("supporter", "发生什么了？"),
                                turn("seeker", "失恋了"), turn("supporter", "听起来很痛苦。")]))
    assert [(m["from"], m["value"]) for m in rows[0]["conversations"]] == [
        ("human", "我很难过"), ("gpt", "发生什么了？"), ("human", "失恋了"), ("gpt", "听起来很痛苦。")]
    assert rows[0]["id"] == "d0" and rows[0]["system"] is None


def test_consecutive_turns_of_one_side_are_merged_and_ends_trimmed():
    rows, _ = sharegpt(records([turn("supporter", "你好"), turn("seeker", "我"), turn("seeker", "睡不着"),
                                turn("supporter", "多久了？"), turn("supporter", "慢慢说"), turn("seeker", "谢谢")]))
    conv = rows[0]["conversations"]
    assert [(m["from"], m["value"]) for m in conv] == [("human", "我\n睡不着"), ("gpt", "多久了？\n慢慢说")]


def test_empty_turns_never_exported_and_do_not_break_merging():
    rows, _ = sharegpt(records([turn("seeker", "在吗"), turn("supporter", "  "), turn("seeker", "我好累"),
                                turn("supporter", None), turn("supporter", "我在。")]))
    assert [(m["from"], m["value"]) for m in rows[0]["conversations"]] == [("human", "在吗\n我好累"), ("gpt", "我在。")]


def test_dialogue_without_an_exchange_is_left_out_with_a_reason():
    rows, skipped = sharegpt(records([turn("supporter", "你好")], [turn("seeker", "有人吗")], []))
    assert rows == [] and skipped[SKIP_EMPTY] == 3


def test_other_role_skips_the_dialogue_by_default_and_can_be_dropped_or_mapped():
    df = records([turn("other", "旁白"), turn("seeker", "我怕"), turn("supporter", "别怕")],
                 [turn("other", "甲说"), turn("other", "乙说")])
    rows, skipped = sharegpt(df)
    assert rows == [] and skipped[SKIP_ROLE] == 2
    rows, skipped = sharegpt(df, roles=parse_roles(["other=drop"]))
    assert [r["id"] for r in rows] == ["d0"] and skipped[SKIP_EMPTY] == 1
    rows, _ = sharegpt(df, roles=parse_roles(["other=user"]))
    assert [(m["from"], m["value"]) for m in rows[0]["conversations"]] == [("human", "旁白\n我怕"), ("gpt", "别怕")]


def test_system_turn_becomes_the_system_prompt_and_system_option_overrides():
    df = records([turn("other", "你是咨询师", role_raw="system"), turn("seeker", "我怕"), turn("supporter", "别怕")])
    rows, skipped = sharegpt(df)
    assert rows[0]["system"] == "你是咨询师" and len(rows[0]["conversations"]) == 2 and not skipped[SKIP_ROLE]
    rows, _ = sharegpt(df, system="温暖一点")
    assert rows[0]["system"] == "温暖一点"
    msgs = to_messages(df, spec()).rows.to_dicts()[0]["messages"]
    assert [(m["role"], m["content"]) for m in msgs] == [("system", "你是咨询师"), ("user", "我怕"), ("assistant", "别怕")]


def test_turn_tags_ride_along_and_merge():
    df = records([turn("seeker", "我怕"), turn("supporter", "别怕", "Affirmation and Reassurance"),
                  turn("supporter", "能说说吗？", "Question")])
    rows, _ = sharegpt(df, turn_tags=("strategy",))
    assert [m["strategy"] for m in rows[0]["conversations"]] == [None, "Affirmation and Reassurance|Question"]
    rows, _ = sharegpt(df)
    assert set(rows[0]["conversations"][0]) == {"from", "value"}


def test_web_documents_are_left_out_of_conversations():
    rows, skipped = sharegpt(records([turn("seeker", "a"), turn("supporter", "b")], web=2))
    assert len(rows) == 1 and skipped[SKIP_WEB] == 2


def test_alpaca_one_row_per_assistant_turn_with_bounded_history():
    df = records([turn(r, f"{r}{i}") for i in range(4) for r in ("seeker", "supporter")], web=1)
    out = to_alpaca(df, spec(format="alpaca", history=2))
    rows = out.rows.to_dicts()
    assert [(r["instruction"], r["output"]) for r in rows] == [(f"seeker{i}", f"supporter{i}") for i in range(4)]
    assert rows[0]["history"] == [] and rows[1]["history"] == [["seeker0", "supporter0"]]
    assert rows[3]["history"] == [["seeker1", "supporter1"], ["seeker2", "supporter2"]]
    assert out.skipped[SKIP_WEB] == 1 and out.exported_recs.to_list() == [0]
    web = to_alpaca(df, spec(format="alpaca", web_instruction="写一段话")).rows.filter(pl.col("source") == "web")
    assert web.row(0, named=True)["output"] == "网页正文0" and web.row(0, named=True)["instruction"] == "写一段话"


SCHEMA = pl.Schema({"id": pl.String, "source": pl.String, "quality": pl.Float32, "domain": pl.String,
                    "turns": pl.List(pl.Struct({"text": pl.String}))})


@pytest.mark.parametrize(("where", "message"), [
    ("qualty > 0.5", "unknown column 'qualty'; did you mean quality"),
    ("quality >", "not an expression"),
    ("quality", "gives Float32, not true/false"),
    ("quality > 'x'", "cannot compare"),
])
def test_where_errors_name_the_expression_and_the_problem(where, message):
    with pytest.raises(ExportError, match="--where") as e:
        where_expr(where, SCHEMA)
    assert message in str(e.value)


def test_where_reads_sql_and_null_scores_do_not_pass():
    df = pl.DataFrame({"id": ["a", "b", "c"], "source": ["s"] * 3, "quality": [0.9, None, 0.2],
                       "domain": ["news", "law", None]}, schema_overrides={"quality": pl.Float32})
    assert df.filter(where_expr("quality > 0.5", df.schema))["id"].to_list() == ["a"]
    assert df.filter(where_expr("domain in ('law', 'news') and quality is null", df.schema))["id"].to_list() == ["b"]
    assert df.filter(where_expr(None, df.schema)).height == 3


def test_balance_column_must_be_a_flat_label():
    check_balance_column("domain", SCHEMA)
    with pytest.raises(ExportError, match="did you mean domain"):
        check_balance_column("domian", SCHEMA)
    with pytest.raises(ExportError, match="label column"):
        check_balance_column("turns", SCHEMA)


def keys_frame() -> pl.LazyFrame:
    n = 300
    return pl.LazyFrame({"id": [f"r{i:03d}" for i in range(n)], "source": [("a", "b", "c")[i % 3] for i in range(n)],
                         "label": [("x", "y", "y", "z", None)[i % 5] for i in range(n)]})


def test_plan_is_seeded_and_independent_of_row_order():
    lf = keys_frame()
    a, _ = plan(lf, spec(sample=50, seed=3))
    b, _ = plan(lf.reverse(), spec(sample=50, seed=3))
    c, _ = plan(lf, spec(sample=50, seed=4))
    assert a.height == 50 and a.sort("id").equals(b.sort("id")) and not a.sort("id").equals(c.sort("id"))


def test_plan_caps_sources_balances_labels_then_samples():
    keys, report = plan(keys_frame(), spec(max_per_source=40, balance="label", seed=1))
    joined = keys.join(keys_frame().collect(), on=["source", "id"])
    assert report["matched"] == 300 and report["after_max_per_source"] == 120
    counts = joined.group_by("label").len()
    assert joined["label"].null_count() == 0 and counts["len"].n_unique() == 1
    assert report["per_label"] == counts["len"][0] and report["after_balance"] == keys.height
    keys, report = plan(keys_frame(), spec(balance="label", sample=30))
    assert keys.height == 30 and report["per_label"] == 10


def test_spec_rejects_bad_options():
    with pytest.raises(ExportError, match="--role"):
        parse_roles(["other"])
    with pytest.raises(ExportError, match="unknown role 'client'"):
        spec(roles=parse_roles(["client=user"]))
    with pytest.raises(ExportError, match="--format"):
        spec(format="jsonl")
    with pytest.raises(ExportError, match="--sample 0"):
        spec(sample=0)


def test_export_of_plain_shards_warns_when_a_where_column_was_never_computed(tmp_path):
    from curate.export import export_run

    df = records([turn("seeker", "我怕"), turn("supporter", "别怕")], web=1).with_columns(
        pl.lit(None, pl.Float32).alias("quality"))
    df.write_parquet(tmp_path / "shard.parquet")
    result = export_run(ExportSpec(tmp_path / "shard.parquet", tmp_path / "exp", where="quality > 0.5"))
    assert result.summary["counts"]["rows"] == 0 and result.summary["selection"]["matched"] == 0
    assert "'quality' is null in every record" in result.summary["warnings"][0]
    assert "**Warning**" in (tmp_path / "exp" / "README.md").read_text(encoding="utf-8")
    assert (tmp_path / "exp" / "exp.jsonl").read_text() == ""
    result = export_run(ExportSpec(tmp_path / "shard.parquet", tmp_path / "exp", overwrite=True))
    assert result.summary["warnings"] == [] and result.summary["counts"]["rows"] == 1
    assert "unknown (no manifest)" in (tmp_path / "exp" / "README.md").read_text(encoding="utf-8")
