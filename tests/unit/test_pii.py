"""PII detection and redaction: each type's positive and negative surface forms, numbers that must survive,
placeholders consistent within a record, speaker names, flag and off modes, the settings file and the job's
`pii:` mapping, the explanation, and a pass over real SMILECHAT and CPED dialogues."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from curate.job import JobError, NormalizeSpec, parse_job
from curate.pii.config import PiiConfigError, load_pii_rules, parse_pii_rules, pii_types
from curate.pii.explain import explain_pii, format_pii
from curate.pii.spec import PiiSpec, PiiSpecError, parse_pii
from curate.pii.validators import id15_ok, id18_ok, id_check_char, luhn_check_digit, luhn_ok
from curate.render import render_dialogue
from curate.schema import arrow_schema, conform, label_set, record_schema
from curate.stages.normalize import normalize
from curate.stages.pii import detect_batch, pii_stage

_IDENTITY = {"source": "test", "source_file": "test.jsonl", "schema_version": record_schema().version,
             "pipeline_version": "test", "source_line": 1}


def to_table(rows: list[dict]) -> pa.Table:
    keys = [f.name for f in record_schema().arrow if any(f.name in r for r in rows)]
    return conform(pa.Table.from_pylist(rows, schema=pa.schema([record_schema().arrow.field(k) for k in keys])))


def web(text: str, id: str = "w", **kw: object) -> dict:
    return {"id": id, "kind": "web", **_IDENTITY, "text": text, **kw}


def dialogue(turns: list[tuple[str, str]], id: str = "d", roles: dict[str, str] | None = None) -> dict:
    roles = roles or {"client": "seeker", "counselor": "supporter"}
    return {"id": id, "kind": "dialogue", **_IDENTITY,
            "turns": [{"speaker": s, "role": roles.get(s, "other"), "role_raw": s, "text": t} for s, t in turns]}


def found(text: str, spec: PiiSpec | None = None) -> list[tuple[str, str]]:
    """(type, value) of every finding in one web text."""
    result = detect_batch(to_table([web(text)]), spec or PiiSpec())
    return [(f.type, text[f.start:f.end]) for f in result.findings]


def redact(rows: list[dict], mode: str = "redact", **kw: object) -> list[dict]:
    table = normalize(to_table(rows), NormalizeSpec())
    return pii_stage(table, PiiSpec(mode=mode, **kw)).to_pylist()


def an_id(first17: str = "11010519491231002") -> str:
    return first17 + id_check_char(first17)


def a_card(partial: str = "622202123456789012") -> str:
    return partial + luhn_check_digit(partial)


# ------------------------------------------------------------------------------------------------ numbers


@pytest.mark.parametrize("typed", ["13912345678", "139 1234 5678", "139-1234-5678", "+86 139 1234 5678",
                                   "+8613912345678", "＋86 139 1234 5678", "１３９１２３４５６７８", "１３９ １２３４ ５６７８"])
def test_mobile_numbers_as_people_type_them(typed):
    assert found(f"我电话是{typed}，有事找我") == [("phone", typed)]


@pytest.mark.parametrize("text", ["1391234567", "12345678901", "139123456789", "订单号2139123456789", "3.13912345678"])
def test_numbers_that_are_not_mobiles(text):
    assert [t for t, _ in found(text)] == []


@pytest.mark.parametrize("typed", ["010-62345678", "(0755)86668888", "0571-8765432", "021 62345678", "０２１－６２３４５６７８"])
def test_landlines_with_an_area_code(typed):
    assert found(f"座机{typed}。") == [("landline", typed)]


def test_a_number_after_a_year_is_still_found():
    assert found("2023 139 1234 5678") == [("phone", "139 1234 5678")]


def test_resident_id_numbers_with_their_check_digit():
    good = an_id()
    assert found(f"身份证号{good}") == [("id_card", good)]
    with_x = an_id("32010219900101007")
    assert with_x.endswith("X") and found(f"身份证{with_x}") == [("id_card", with_x)]
    assert found(f"身份证 {with_x[:6]} {with_x[6:14]} {with_x[14:]}") == [("id_card", f"{with_x[:6]} {with_x[6:14]} {with_x[14:]}")]
    assert found(f"老身份证{good[:6]}{good[8:17]}") == [("id_card", good[:6] + good[8:17])]  # the 15-digit form


def test_an_id_number_with_a_wrong_check_digit_is_not_an_id_nor_a_card():
    good = an_id()
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    assert found(f"身份证号{bad}") == []
    assert not id18_ok(bad) and id18_ok(good)


def test_an_id_number_with_an_impossible_birth_date_is_not_an_id():
    assert not id18_ok(an_id("11010519901301002"))  # month 13
    assert not id15_ok("110105901301002")


def test_bank_cards_pass_luhn():
    card = a_card()
    spaced = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    assert luhn_ok(card) and found(f"卡号{spaced}") == [("bank_card", spaced)]
    assert found(f"卡号{a_card('622848012345678')}") == [("bank_card", a_card("622848012345678"))]  # 16 digits
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert not luhn_ok(wrong) and found(f"卡号{wrong}") == []


@pytest.mark.parametrize("text", [
    "2023年5月12日下午见", "2023-05-12 13:45", "13:45:30 到", "¥1399", "1399元", "3201人参加", "3201年", "第3201名",
    "打110或者120", "拨打12355", "心理援助热线400-161-9995", "800-810-1117", "12356", "北京心理危机干预中心010-82951332",
    "20230512", "2023.5.12", "1.5倍", "99.9%", "价格12,345元", "版本1.2.3",
])
def test_dates_prices_counts_times_years_and_hotlines_survive(text):
    assert found(text) == []
    assert redact([web(text)])[0]["text"] == text


# ---------------------------------------------------------------------------------------- ASCII types


def test_email_url_ip():
    assert found("邮箱abc.d_1@qq.com，") == [("email", "abc.d_1@qq.com")]
    assert found("我的微博https://weibo.com/u/1234567890。") == [("url", "https://weibo.com/u/1234567890")]
    assert found("主页space.bilibili.com/12345678") == [("url", "space.bilibili.com/12345678")]
    assert found("可以看看https://www.xinli001.com/info/100，") == []  # an article, not a person
    assert found("IP是192.168.1.10。") == [("ip", "192.168.1.10")]
    assert found("地址fe80::1ff:fe23:4567:890a") == [("ip", "fe80::1ff:fe23:4567:890a")]
    assert found("12:30:45 出发，第8.9.10.11天") == []


def test_qq_and_wechat_by_their_cue_words():
    assert found("加我QQ 12345678吧") == [("qq", "12345678")]
    assert found("我的企鹅号：987654321") == [("qq", "987654321")]
    assert found("QQ号13912345678") == [("qq", "13912345678")]  # after a QQ cue an 11-digit number is a QQ number
    assert found("加我微信abc_123") == [("wechat", "abc_123")]
    assert found("vx: wxid_abc123，") == [("wechat", "wxid_abc123")]
    assert found("微信13912345678") == [("phone", "13912345678")]  # WeChat by phone number
    assert found("加我 hello_world1") == [("wechat", "hello_world1")]
    for text in ("微信聊天记录", "QQ群12345678", "vxworks", "加我好友吧", "微信pay"):
        assert found(text) == [], text


def test_licence_plates():
    assert found("车牌粤B12345，") == [("plate", "粤B12345")]
    assert found("京A·D12345") == [("plate", "京A·D12345")]
    assert found("苏A的车，京ABCDEF") == []


def test_addresses():
    assert found("我家住在南京市鼓楼区中山路100号3栋2单元501室，") == [("address", "南京市鼓楼区中山路100号3栋2单元501室")]
    assert found("住幸福小区3栋2单元") == [("address", "幸福小区3栋2单元")]
    assert found("地址：石家庄市和平区和平路12号") == [("address", "石家庄市和平区和平路12号")]
    assert found("中山路很堵，100号选手") == []


def test_addresses_among_other_text():
    # the address search looks only at the runs of address characters that hold a number before 号 or a
    # building word: the rest of the text, however long, is skipped, and every address in it still found
    text = ("小区门口很吵，3号线也挤。我家住在南京市鼓楼区中山路100号3栋2单元501室，"
            "他家住幸福小区3栋2单元\n另一行：石家庄市和平区和平路12号")
    assert found(text) == [("address", "南京市鼓楼区中山路100号3栋2单元501室"), ("address", "幸福小区3栋2单元"),
                           ("address", "石家庄市和平区和平路12号")]
    assert found("和平路一二三四五六七八九十百零〇两号") == [("address", "和平路一二三四五六七八九十百零〇两号")]


# ------------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize("text,name", [
    ("我叫王晓明，今年二十", "王晓明"), ("我叫王明今年二十岁", "王明"), ("王老师您好", "王"), ("张伟同学在吗", "张伟"),
    ("主任王老师", "王"), ("有事找小王", "小王"), ("老李说的", "老李"), ("欧阳娜娜医生", "欧阳娜娜"), ("她的名字是李医生", "李"),
])
def test_names_where_the_text_marks_them(text, name):
    assert found(text) == [("name", name)]


@pytest.mark.parametrize("text", ["高中老师很好", "全班同学", "邻居阿姨", "小时候", "和老师聊过", "老师说", "班主任说",
                                  "尽管医生没说", "经常有同学来", "符合老师的期待", "小区门口", "小于五个", "我叫他别走",
                                  "小叶榕干浸膏"])
def test_words_that_contain_a_surname_are_not_names(text):
    assert found(text) == []


def test_a_title_takes_no_surname_from_the_text_before():
    # texts are scanned joined by line breaks: a title opening one text has nothing before it
    result = detect_batch(to_table([web("我姓王", id="a"), web("老师您好，张伟老师", id="b")]), PiiSpec())
    assert [(f.unit, f.type, f.key) for f in result.findings] == [(1, "name", "张伟")]


# ------------------------------------------------------------------------------- placeholders and stage


def test_one_placeholder_per_value_across_turns():
    rows = redact([dialogue([
        ("client", "我叫王晓明，电话139 1234 5678"),
        ("counselor", "王晓明你好，你的电话13912345678我记下了"),
        ("client", "对，王晓明就是我，另一个号码13812345678"),
    ])])
    texts = [t["text"] for t in rows[0]["turns"]]
    assert texts == ["我叫<NAME_1>，电话<PHONE_1>", "<NAME_1>你好，你的电话<PHONE_1>我记下了",
                     "对，<NAME_1>就是我，另一个号码<PHONE_2>"]
    assert rows[0]["text"] == render_dialogue((t["speaker"], t["text"]) for t in rows[0]["turns"])
    assert rows[0]["pii_counts"]["phone"] == 3 and rows[0]["pii_counts"]["name"] == 3
    assert "王晓明" not in rows[0]["text"] and "1234" not in rows[0]["text"]


def test_placeholders_restart_in_each_record():
    rows = redact([web("电话13912345678", id="a"), web("电话13812345678，再说一遍13812345678", id="b")])
    assert rows[0]["text"] == "电话<PHONE_1>"
    assert rows[1]["text"] == "电话<PHONE_1>，再说一遍<PHONE_1>"


def test_a_qq_number_found_by_its_cue_is_redacted_where_it_is_repeated_bare():
    rows = redact([dialogue([("client", "我QQ 12345678"), ("counselor", "好的，12345678对吧，不是123456789")])])
    assert [t["text"] for t in rows[0]["turns"]] == ["我QQ <QQ_1>", "好的，<QQ_1>对吧，不是123456789"]


def test_speaker_names_are_redacted_everywhere():
    rows = redact([dialogue([("于春晓", "王柏川你来了"), ("王柏川", "春晓，于春晓！"), ("外卖小哥", "您的外卖")])])
    row = rows[0]
    assert [(t["speaker"], t["role_raw"]) for t in row["turns"]] == [
        ("<NAME_1>", "<NAME_1>"), ("<NAME_2>", "<NAME_2>"), ("<NAME_3>", "<NAME_3>")]
    assert [t["text"] for t in row["turns"]] == ["<NAME_2>你来了", "<NAME_1>，<NAME_1>！", "您的外卖"]
    assert row["text"] == "<NAME_1>：<NAME_2>你来了\n<NAME_2>：<NAME_1>，<NAME_1>！\n<NAME_3>：您的外卖"
    assert row["pii_counts"]["name"] == 3 + 3  # three speakers, three mentions


def test_role_words_are_not_names():
    rows = redact([dialogue([("client", "你好"), ("counselor", "你好呀"), ("来访者", "嗯"), ("user", "hi")])])
    assert [t["speaker"] for t in rows[0]["turns"]] == ["client", "counselor", "来访者", "user"]
    assert rows[0]["pii_counts"]["name"] == 0
    table = normalize(to_table([dialogue([("张三", "你好"), ("小李", "嗯")])]), NormalizeSpec())
    out = pii_stage(table, PiiSpec(), extra_roles=["张三"]).to_pylist()[0]  # the job maps 张三 to a role
    assert [t["speaker"] for t in out["turns"]] == ["张三", "<NAME_1>"]


def test_the_speakers_column_is_relabelled_too():
    table = normalize(to_table([dialogue([("于春晓", "你好"), ("client", "嗯")])]), NormalizeSpec())
    speaker_type = arrow_schema().field("speakers").type
    speakers = pa.array([[{"speaker": "于春晓", "role": "other", "n_turns": 1},
                          {"speaker": "client", "role": "seeker", "n_turns": 1}]], speaker_type)
    table = table.set_column(table.schema.get_field_index("speakers"), "speakers", speakers)
    out = pii_stage(table, PiiSpec()).to_pylist()[0]
    assert [s["speaker"] for s in out["speakers"]] == ["<NAME_1>", "client"]


def test_flag_mode_counts_and_changes_nothing():
    rows = [web("电话13912345678，我叫王晓明"), dialogue([("于春晓", "QQ 12345678")])]
    before = normalize(to_table(rows), NormalizeSpec())
    after = pii_stage(before, PiiSpec(mode="flag"))
    assert after.drop_columns(["pii_counts"]).equals(before.drop_columns(["pii_counts"]))
    counts = after.column("pii_counts").to_pylist()
    assert counts[0]["phone"] == 1 and counts[0]["name"] == 1 and counts[1]["qq"] == 1 and counts[1]["name"] == 1
    assert set(counts[0]) == set(pii_types())


def test_off_mode_leaves_the_batch_alone():
    table = normalize(to_table([web("电话13912345678")]), NormalizeSpec())
    assert pii_stage(table, PiiSpec(mode="off")).equals(table)
    assert table.column("pii_counts").null_count == 1


def test_only_the_types_asked_for():
    rows = redact([web("电话13912345678，我叫王晓明")], types=("name",))
    assert rows[0]["text"] == "电话13912345678，我叫<NAME_1>" and rows[0]["pii_counts"]["phone"] == 0


def test_every_record_gets_counts_and_rejected_rows_are_redacted_too():
    rows = [web("今天天气很好"), web('{"text": "电话13912345678"', id="bad", drop_reason="malformed_input")]
    out = pii_stage(to_table(rows), PiiSpec()).to_pylist()
    assert out[0]["pii_counts"] == dict.fromkeys(pii_types(), 0)
    assert out[1]["text"] == '{"text": "电话<PHONE_1>"' and out[1]["drop_reason"] == "malformed_input"


# ------------------------------------------------------------------------------------- settings and spec


def test_the_schema_counts_every_type():
    assert [f.name for f in arrow_schema().field("pii_counts").type] == list(label_set("pii_type"))
    assert set(load_pii_rules().types) == set(pii_types()) and set(load_pii_rules().labels) == set(pii_types())


def _settings_copy(tmp_path: Path, edit) -> Path:
    src = Path(load_pii_rules().path)
    shutil.copy(src.parent / "surnames.txt", tmp_path / "surnames.txt")
    target = tmp_path / "my-pii.yaml"
    target.write_text(edit(src.read_text(encoding="utf-8")), encoding="utf-8")
    return target


def test_the_placeholder_spelling_is_configurable(tmp_path):
    path = _settings_copy(tmp_path, lambda s: s.replace('placeholder: "<{TYPE}_{n}>"', 'placeholder: "[{n}:{TYPE}]"')
                          .replace("phone: PHONE", "phone: 手机"))
    rows = redact([web("电话13912345678，13812345678")], config=str(path))
    assert rows[0]["text"] == "电话[1:手机]，[2:手机]"


def test_settings_errors_name_the_file_and_key(tmp_path):
    path = _settings_copy(tmp_path, lambda s: s.replace("placeholder:", "placeholdr:"))
    with pytest.raises(PiiConfigError, match=r"my-pii.yaml: top level: unknown key\(s\) \['placeholdr'\]"):
        parse_pii_rules(yaml.safe_load(path.read_text(encoding="utf-8")), path)
    path = _settings_copy(tmp_path, lambda s: s.replace("types: [phone,", "types: [phon,"))
    with pytest.raises(PiiConfigError, match="types: 'phon' is not a PII type"):
        parse_pii_rules(yaml.safe_load(path.read_text(encoding="utf-8")), path)


def test_the_jobs_pii_mapping(tmp_path):
    assert parse_pii(None) == PiiSpec(mode="redact")
    assert parse_pii(False).mode == "off"
    assert parse_pii({"mode": "flag", "types": ["name", "phone"]}).types == ("phone", "name")  # schema order
    for bad, message in [({"mode": "hide"}, "pii.mode: 'hide' is not one of"), ({"types": ["phon"]}, "pii.types"),
                         ({"extra": 1}, r"unknown key\(s\) \['extra'\]"), ({"config": "nope.yaml"}, "pii.config")]:
        with pytest.raises(PiiSpecError, match=message):
            parse_pii(bad)
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    job = parse_job({"inputs": [{"path": "a.jsonl"}], "scores": False, "tags": False}, tmp_path)
    assert job.pii.mode == "redact"
    flagged = parse_job({"inputs": [{"path": "a.jsonl"}], "scores": False, "tags": False, "pii": {"mode": "flag"}},
                        tmp_path)
    assert flagged.config_hash() != job.config_hash()
    with pytest.raises(JobError, match="pii.mode"):
        parse_job({"inputs": [{"path": "a.jsonl"}], "scores": False, "tags": False, "pii": {"mode": 1}}, tmp_path)


def test_explain_lists_findings_and_what_was_turned_down():
    bad_id = an_id()[:17] + ("1" if an_id()[17] != "1" else "2")
    lines = explain_pii(f"我叫王晓明，电话139 1234 5678，身份证{bad_id}，高中老师，010-82951332")
    kept = [(x.type, x.value, x.placeholder) for x in lines if x.kept]
    assert kept == [("name", "王晓明", "<NAME_1>"), ("phone", "139 1234 5678", "<PHONE_1>")]
    dropped = {x.value: x.why for x in lines if not x.kept}
    assert "check digit" in dropped[bad_id] and "高中" in dropped["高中"] and "allow list" in dropped["010-82951332"]
    text = format_pii(lines)
    assert "-> <PHONE_1>" in text and "kept (not PII)" in text
    turns = [{"speaker": "于春晓", "text": "王柏川你来了"}, {"speaker": "王柏川", "text": "嗯"}]
    speakers = [x for x in explain_pii("", kind="dialogue", turns=turns) if x.detector == "speaker" and x.turn is None]
    assert [(x.value, x.placeholder) for x in speakers] == [("于春晓", "<NAME_1>"), ("王柏川", "<NAME_2>")]


# ---------------------------------------------------------------------------------------------- real data

REAL_SAMPLE = {"smilechat": ("smilechat/dialogues.jsonl", "turns", 400), "cped": ("cped/valid.csv", "csv", 60)}


@pytest.fixture(scope="module")
def real_batches(shared_data: Path) -> dict[str, pa.Table]:
    """A few hundred real dialogues per source, normalised (the one place that names the real files)."""
    from curate.io.readers import read_file
    from curate.job import STYLE_DEFAULTS, DialogueSpec, InputSpec

    out = {}
    for name, (rel, style, n) in REAL_SAMPLE.items():
        path = str(shared_data / rel)
        spec = InputSpec(path=path, kind="dialogue", name=name,
                         dialogue=DialogueSpec(style=style, **STYLE_DEFAULTS[style]))
        table = next(read_file(path, spec, rel_name=rel, max_record_bytes=8_000_000, chunk_rows=n))
        out[name] = normalize(table, NormalizeSpec())
    return out


def test_real_dialogues(real_batches):
    for name, table in real_batches.items():
        out = pii_stage(table, PiiSpec())
        assert out.num_rows == table.num_rows and out.column("pii_counts").null_count == 0
        rows, before = out.to_pylist(), table.to_pylist()
        for row, old in zip(rows, before, strict=True):
            assert row["text"] == render_dialogue((t["speaker"], t["text"]) for t in row["turns"])
            if not any(row["pii_counts"].values()):
                assert row["text"] == old["text"]
        if name == "cped":  # every CPED speaker is a named character: none is left, in speakers or in text
            for row, old in zip(rows, before, strict=True):
                names = {t["speaker"] for t in old["turns"]}
                assert all(t["speaker"].startswith("<NAME_") for t in row["turns"])
                assert not any(n in row["text"] for n in names if len(n) >= 2)
        else:  # counselling turns: roles stay, and almost nothing is PII
            assert {t["speaker"] for r in rows for t in r["turns"]} == {"client", "counselor"}
            changed = sum(r["text"] != o["text"] for r, o in zip(rows, before, strict=True))
            assert changed < 0.1 * len(rows)
