"""curate.io.readers: every input format and style to record-schema tables; bad inputs as malformed rows."""

from __future__ import annotations

import bz2
import copy
import csv
import gzip
import importlib.util
import json
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash
import zstandard

import curate
from curate.io.readers import MALFORMED, check_input, read_file
from curate.job import STYLE_DEFAULTS, DialogueSpec, InputSpec, JobError, parse_job
from curate.schema import arrow_schema, record_schema

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"
MAX = 8_000_000


# ------------------------------------------------------------------------------------------------ helpers


def web_spec(path: Path | str, **kw: Any) -> InputSpec:
    kw.setdefault("name", "web")
    return InputSpec(path=str(path), kind="web", files=[str(path)], **kw)


def dialogue_spec(
    path: Path | str,
    style: str,
    *,
    roles: dict[str, str] | None = None,
    dialogue: dict[str, str] | None = None,
    **kw: Any,
) -> InputSpec:
    kw.setdefault("name", "dlg")
    d = DialogueSpec(style=style, **copy.deepcopy(STYLE_DEFAULTS[style]), roles=roles or {})
    for key, value in (dialogue or {}).items():
        setattr(d, key, value)
    return InputSpec(path=str(path), kind="dialogue", dialogue=d, files=[str(path)], **kw)


def tables(
    path: Path | str,
    spec: InputSpec,
    *,
    chunk_rows: int = 1000,
    max_record_bytes: int = MAX,
    rel_name: str | None = None,
) -> list[pa.Table]:
    out = list(
        read_file(
            str(path),
            spec,
            rel_name=rel_name or Path(path).name,
            max_record_bytes=max_record_bytes,
            chunk_rows=chunk_rows,
        )
    )
    for t in out:
        assert t.schema.equals(arrow_schema()), "every chunk has exactly the record schema"
        assert 0 < t.num_rows <= chunk_rows
    return out


def rows(path: Path | str, spec: InputSpec, **kw: Any) -> list[dict[str, Any]]:
    return [r for t in tables(path, spec, **kw) for r in t.to_pylist()]


def by_line(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {r["source_line"]: r for r in records}


def stable_id(name: str, rel: str, line: int) -> str:
    return xxhash.xxh3_64_hexdigest(f"{name}:{rel}:{line}".encode())[:16]


def write_jsonl(path: Path, objs: list[Any]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


def assert_common(r: dict[str, Any], spec: InputSpec, path: Path | str) -> None:
    assert r["id"]
    assert r["kind"] == spec.kind
    assert r["source"] == spec.name
    assert r["source_file"] == str(path)
    assert r["schema_version"] == record_schema().version
    assert r["pipeline_version"] == curate.__version__


# ------------------------------------------------------------------------------------------ real data
# `dataset_root`: the committed fixtures (tests/fixtures), and the full datasets where present (marked data).


def test_smilechat_first_chunk_and_total(dataset_root):
    path = dataset_root / "smilechat" / "dialogues.jsonl"
    spec = dialogue_spec(path, "turns", name="smilechat", id_field="id")
    chunks = read_file(str(path), spec, rel_name="dialogues.jsonl", max_record_bytes=MAX, chunk_rows=40)
    first = next(chunks)
    assert first.num_rows == 40
    assert first.schema.equals(arrow_schema())
    recs = first.to_pylist()
    with path.open(encoding="utf-8") as f:
        lines = [json.loads(next(f)) for _ in range(40)]
    for i, (r, src) in enumerate(zip(recs, lines, strict=True), 1):
        assert_common(r, spec, path)
        assert r["id"] == src["id"] and r["source_line"] == i
        assert r["drop_reason"] is None and r["text"] is None and r["meta"] is None
        assert [t["text"] for t in r["turns"]] == [t["content"] for t in src["turns"]]
        assert [t["role_raw"] for t in r["turns"]] == [t["role"] for t in src["turns"]]
        assert [t["speaker"] for t in r["turns"]] == [t["role"] for t in src["turns"]]
    roles = {(t["role_raw"], t["role"]) for r in recs for t in r["turns"]}
    assert roles == {("client", "seeker"), ("counselor", "supporter")}
    n_lines = sum(1 for line in path.open("rb") if line.strip())
    total = first.num_rows + sum(t.num_rows for t in chunks)
    assert total == n_lines >= 100


def test_cped_valid_groups_dialogues_with_labels_in_turn_meta(dataset_root):
    path = dataset_root / "cped" / "valid.csv"
    spec = dialogue_spec(path, "csv", name="cped")
    check_input(str(path), spec)
    recs = rows(path, spec, chunk_rows=100)
    with path.open(encoding="utf-8", newline="") as f:
        src = list(csv.DictReader(f))
    dialogue_ids = list(dict.fromkeys(r["Dialogue_ID"] for r in src))
    assert len(recs) == len(dialogue_ids) >= 30
    assert sum(len(r["turns"]) for r in recs) == len(src) > len(recs)
    assert [json.loads(r["meta"])["Dialogue_ID"] for r in recs] == dialogue_ids
    assert all(r["drop_reason"] is None and r["text"] is None for r in recs)
    first = recs[0]
    assert_common(first, spec, path)
    assert first["source_line"] == 2  # header is line 1
    n0 = len(first["turns"])
    assert recs[1]["source_line"] == 2 + n0
    assert len({r["id"] for r in recs}) == len(dialogue_ids)
    turn, row = first["turns"][0], src[0]
    assert turn["speaker"] == turn["role_raw"] == row["Speaker"] != ""
    assert turn["role"] == "other" and turn["text"] == row["Utterance"]
    meta = json.loads(turn["meta"])
    expected = {k: v for k, v in row.items() if k not in ("Dialogue_ID", "Speaker", "Utterance")}
    assert meta == expected
    for key in (
        "Emotion",
        "DA",
        "Sentiment",
        "Gender",
        "Age",
        "Neuroticism",
        "Extraversion",
        "Openness",
        "Agreeableness",
        "Conscientiousness",
        "Scene",
        "TV_ID",
        "Utterance_ID",
    ):
        assert key in meta
    assert list(meta) == sorted(meta)  # sort_keys
    # every utterance, in file order
    flat = [t for r in recs for t in r["turns"]]
    assert [t["text"] for t in flat] == [r["Utterance"] for r in src]
    assert [json.loads(t["meta"])["Emotion"] for t in flat] == [r["Emotion"] for r in src]


def test_cped_role_map_and_order_field(dataset_root):
    path = dataset_root / "cped" / "valid.csv"
    with path.open(encoding="utf-8", newline="") as f:
        src = list(csv.DictReader(f))
    speaker = src[0]["Speaker"]  # the first speaker of the file (唐鹏 in the full valid split)
    spec = dialogue_spec(
        path, "csv", name="cped", roles={speaker: "seeker"}, dialogue={"order_field": "Utterance_ID"}
    )
    recs = rows(path, spec)
    plain = rows(path, dialogue_spec(path, "csv", name="cped"))
    assert len(recs) == len(dict.fromkeys(r["Dialogue_ID"] for r in src))
    # CPED rows are already in Utterance_ID order, so sorting changes nothing.
    assert [[t["text"] for t in r["turns"]] for r in recs] == [[t["text"] for t in r["turns"]] for r in plain]
    roles = {t["role"] for r in recs for t in r["turns"] if t["speaker"] == speaker}
    assert roles == {"seeker"}
    assert {t["role"] for r in recs for t in r["turns"] if t["speaker"] != speaker} == {"other"}


def test_emollm_json_array_xtuner(dataset_root):
    path = dataset_root / "emollm" / "data.json"
    spec = dialogue_spec(path, "xtuner", name="emollm")
    recs = rows(path, spec, chunk_rows=20)
    src = json.loads(path.read_text(encoding="utf-8"))
    assert len(recs) == len(src) >= 40
    assert [r["source_line"] for r in recs] == list(range(len(src)))  # 0-based array index
    for r, item in zip(recs, src, strict=True):
        assert r["drop_reason"] is None and r["meta"] is None
        conv = item["conversation"]
        expected = [(k, turn[k]) for turn in conv for k in ("system", "input", "output") if k in turn]
        assert [(t["role_raw"], t["text"]) for t in r["turns"]] == expected
    turns = recs[0]["turns"]
    assert [t["role_raw"] for t in turns[:3]] == ["system", "input", "output"]
    assert [t["role"] for t in turns[:3]] == ["other", "seeker", "supporter"]
    assert all(t["speaker"] == t["role_raw"] for t in turns)


@pytest.mark.data  # ChineseWebText's sample: never committed
def test_commoncrawl_web_jsonl_raw_content_and_url(shared_data):
    path = shared_data / "web" / "cwt-commoncrawl-sample.jsonl"
    spec = web_spec(path, name="ccnet", text_field="raw_content", url_field="url")
    recs = rows(path, spec)
    src = [json.loads(line) for line in path.open(encoding="utf-8")]
    assert len(recs) == len(src) == 100
    for i, (r, s) in enumerate(zip(recs, src, strict=True), 1):
        assert_common(r, spec, path)
        assert r["text"] == s["raw_content"]  # verbatim: normalisation is a later stage
        assert r["url"] == s["url"] and r["source_line"] == i and r["turns"] is None
        assert r["id"] == stable_id("ccnet", path.name, i)
        meta = json.loads(r["meta"])
        assert meta == {k: v for k, v in s.items() if k not in ("raw_content", "url")}
        assert r["meta"] == json.dumps(meta, ensure_ascii=False, sort_keys=True)


# -------------------------------------------------------------------------------------- styles and formats


def test_sharegpt_system_field_becomes_first_turn(tmp_path):
    path = write_jsonl(
        tmp_path / "sg.jsonl",
        [
            {
                "system": "你是一名心理咨询师。",
                "conversations": [
                    {"from": "human", "value": "我很难过。"},
                    {"from": "gpt", "value": "我在听。", "weight": 1},
                ],
                "tools": "[]",
            },
            {"system": "", "conversations": [{"from": "human", "value": "在吗"}]},
        ],
    )
    recs = rows(path, dialogue_spec(path, "sharegpt"))
    t = recs[0]["turns"]
    assert [(x["speaker"], x["role_raw"], x["role"], x["text"]) for x in t] == [
        ("system", "system", "other", "你是一名心理咨询师。"),
        ("human", "human", "seeker", "我很难过。"),
        ("gpt", "gpt", "supporter", "我在听。"),
    ]
    assert t[0]["meta"] is None and t[1]["meta"] is None and json.loads(t[2]["meta"]) == {"weight": 1}
    assert json.loads(recs[0]["meta"]) == {"tools": "[]"}  # `system` and `conversations` consumed
    assert [x["role_raw"] for x in recs[1]["turns"]] == ["human"]  # an empty system adds no turn
    assert recs[1]["meta"] is None


def test_messages_style_and_custom_fields(tmp_path):
    path = write_jsonl(
        tmp_path / "m.jsonl",
        [
            {
                "uid": 7,
                "link": "http://x.example",
                "msgs": [
                    {"who": "user", "say": "hi"},
                    {"who": "assistant", "say": "hello"},
                    {"who": "Observer", "say": "…"},
                ],
            },
        ],
    )
    spec = dialogue_spec(
        path,
        "messages",
        id_field="uid",
        url_field="link",
        dialogue={"turns_field": "msgs", "speaker_field": "who", "text_field": "say"},
    )
    (r,) = rows(path, spec)
    assert r["id"] == "7" and r["url"] == "http://x.example" and r["meta"] is None
    assert [t["role"] for t in r["turns"]] == ["seeker", "supporter", "other"]


def test_dialogue_parquet_nested_turns_and_xtuner(tmp_path):
    turns_path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["a", "b"],
                "turns": [[{"role": "client", "content": "一"}, {"role": "counselor", "content": "二"}], []],
                "topic": ["x", None],
            }
        ),
        turns_path,
    )
    recs = rows(turns_path, dialogue_spec(turns_path, "turns", id_field="id"))
    assert [r["source_line"] for r in recs] == [0, 1]
    assert [t["role"] for t in recs[0]["turns"]] == ["seeker", "supporter"]
    assert json.loads(recs[0]["meta"]) == {"topic": "x"}
    assert (
        recs[1]["drop_reason"] == MALFORMED
        and recs[1]["drop_detail"] == f"{turns_path}:1: dialogue has no turns"
    )
    assert recs[1]["id"] == stable_id("dlg", "t.parquet", 1)

    xt_path = tmp_path / "x.parquet"
    pq.write_table(
        pa.table(
            {
                "conversation": [
                    [
                        {"system": "S", "input": "I1", "output": "O1"},
                        {"system": None, "input": "I2", "output": "O2"},
                    ]
                ]
            }
        ),
        xt_path,
    )
    spec = dialogue_spec(xt_path, "xtuner")
    check_input(str(xt_path), spec)
    (r,) = rows(xt_path, spec)
    assert [t["text"] for t in r["turns"]] == ["S", "I1", "O1", "I2", "O2"]


def test_xtuner_item_problems(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            [
                {"conversation": [{"input": "只有问题"}]},
                {"conversation": [{"input": "a", "output": "b", "score": 3}]},
                {"conversation": "no"},
                "not an object",
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    recs = rows(path, dialogue_spec(path, "xtuner"))
    assert [r["drop_detail"] for r in recs] == [
        f"{path}:0: item 1 of 'conversation' has no 'output'",
        None,
        f"{path}:2: turns field 'conversation' is not a list (str)",
        f"{path}:3: JSON value is not an object (str)",
    ]
    assert json.loads(recs[1]["turns"][0]["meta"]) == {"score": 3} and recs[1]["turns"][1]["meta"] is None
    assert json.loads(recs[0]["text"]) == {"conversation": [{"input": "只有问题"}]}  # raw item kept


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2", ".zst"])
def test_compressed_jsonl(tmp_path, suffix):
    objs = [{"id": f"r{i}", "text": f"文档{i}"} for i in range(5)]
    data = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode()
    compress = {
        "": bytes,
        ".gz": gzip.compress,
        ".bz2": bz2.compress,
        ".zst": zstandard.ZstdCompressor().compress,
    }[suffix]
    path = tmp_path / f"docs.jsonl{suffix}"
    path.write_bytes(compress(data))
    spec = web_spec(path, id_field="id")
    check_input(str(path), spec)
    recs = rows(path, spec, chunk_rows=2)
    assert [(r["id"], r["text"], r["source_line"]) for r in recs] == [
        (f"r{i}", f"文档{i}", i + 1) for i in range(5)
    ]


def test_truncated_gzip_keeps_rows_read_and_marks_the_break(tmp_path):
    data = "".join(json.dumps({"text": f"文档{i}"}, ensure_ascii=False) + "\n" for i in range(2000)).encode()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(data)[:-200])
    recs = rows(path, web_spec(path))
    assert all(r["drop_reason"] is None for r in recs[:-1]) and len(recs) > 1000
    assert recs[-1]["drop_reason"] == MALFORMED
    assert "cannot read the rest of the file" in recs[-1]["drop_detail"]


def test_a_corrupt_deflate_block_keeps_rows_read_and_marks_the_break(tmp_path):
    # gzip raises zlib.error, not an OSError, for a bad block: it used to escape and fail the whole read task
    data = "".join(json.dumps({"text": f"文档{i}"}, ensure_ascii=False) + "\n" for i in range(2000)).encode()
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    blocks = deflate.compress(data) + deflate.flush(zlib.Z_FULL_FLUSH)  # complete blocks, none of them final
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + blocks + b"\x06")  # then block type 3: invalid
    check_input(str(path), web_spec(path))
    recs = rows(path, web_spec(path))
    # what came before the bad block is kept (less what the decompressor held when it failed)
    assert len(recs) > 1000 and [r["text"] for r in recs[:-1]] == [f"文档{i}" for i in range(len(recs) - 1)]
    assert recs[-1]["drop_reason"] == MALFORMED
    assert "cannot read the rest of the file" in recs[-1]["drop_detail"]


def test_json_suffix_array_versus_lines(tmp_path):
    arr = tmp_path / "arr.json"
    arr.write_text('  \n[{"text": "甲"},\n {"text": "乙", "k": 1}\n]\n', encoding="utf-8")
    recs = rows(arr, web_spec(arr))
    assert [(r["source_line"], r["text"], r["meta"]) for r in recs] == [
        (0, "甲", None),
        (1, "乙", '{"k": 1}'),
    ]
    lines = tmp_path / "lines.json"
    lines.write_text('{"text": "甲"}\n{"text": "乙"}\n', encoding="utf-8")
    assert [(r["source_line"], r["text"]) for r in rows(lines, web_spec(lines))] == [(1, "甲"), (2, "乙")]
    empty = tmp_path / "empty.json"
    empty.write_text("[ ]", encoding="utf-8")
    assert rows(empty, web_spec(empty)) == []


def test_json_array_bad_items(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'[{"text": "ok"}, [1, 2], {"text": "\xff"}, {"text": "ok2"}, {"text": "cut')
    recs = rows(path, web_spec(path))
    assert [r["source_line"] for r in recs] == [0, 1, 2, 3, 4]
    assert [r["drop_reason"] for r in recs] == [None, MALFORMED, MALFORMED, None, MALFORMED]
    assert recs[1]["drop_detail"] == f"{path}:1: JSON value is not an object (list)"
    assert recs[2]["drop_detail"] == f"{path}:2: not valid UTF-8 (byte 0xff at position 10)"
    assert recs[2]["text"] == '{"text": "\ufffd"}'
    assert recs[4]["drop_detail"].startswith(f"{path}:4: invalid JSON at line 1 column ")
    assert recs[4]["text"] == '{"text": "cut'


def test_text_file_and_blank_line_modes(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("\n第一段。\n第一段续。\n\n\n  \n第二段。\r\n\n第三段\n", encoding="utf-8")
    (whole,) = rows(path, web_spec(path))
    assert whole["text"] == path.read_bytes().decode() and whole["source_line"] == 1  # \r\n kept
    assert whole["id"] == stable_id("web", "notes.txt", 1)
    paras = rows(path, web_spec(path, text_mode="blank_line"), chunk_rows=2)
    assert [(r["source_line"], r["text"]) for r in paras] == [
        (2, "第一段。\n第一段续。"),
        (7, "第二段。"),
        (9, "第三段"),
    ]
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n", encoding="utf-8")
    (r,) = rows(empty, web_spec(empty))
    assert r["drop_detail"] == f"{empty}:1: empty document" and r["text"] == " \n"
    assert rows(empty, web_spec(empty, text_mode="blank_line")) == []


def test_web_csv(tmp_path):
    path = tmp_path / "web.csv"
    path.write_text(
        'id,content,site\n1,"多行\n正文",a.example\n2,,b.example\n3,太,多,了\n4,正常,c.example\n',
        encoding="utf-8",
    )
    spec = web_spec(path, text_field="content", id_field="id")
    check_input(str(path), spec)
    recs = rows(path, spec)
    assert [r["source_line"] for r in recs] == [2, 4, 5, 6]  # the quoted newline spans lines 2-3
    assert (
        recs[0]["text"] == "多行\n正文"
        and recs[0]["id"] == "1"
        and recs[0]["meta"] == '{"site": "a.example"}'
    )
    assert recs[1]["drop_detail"] == f"{path}:4: empty document"
    assert recs[2]["drop_detail"] == f"{path}:5: row has 4 fields, header has 3"
    assert recs[2]["text"] == "3,太,多,了\n"
    assert recs[3]["drop_reason"] is None and recs[3]["text"] == "正常"


def _cped_csv(path: Path, rows_: list[list[str]]) -> Path:
    header = ["Dialogue_ID", "Utterance_ID", "Speaker", "Emotion", "Utterance"]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows_])
    return path


def test_csv_dialogues_grouping_order_and_ragged_rows(tmp_path):
    path = _cped_csv(
        tmp_path / "d.csv",
        [
            ["A", "2", "甲", "happy", "第二句"],
            ["A", "1", "乙", "neutral", "第一句"],
            ["A", "10", "甲", "sad", "第十句"],
            ["B", "1", "丙", "neutral", "b1"],
            ["B", "2", "丁", "neutral"],  # one field short
            ["A", "1", "甲", "neutral", "A again, not consecutive"],
        ],
    )
    spec = dialogue_spec(path, "csv", dialogue={"order_field": "Utterance_ID"})
    recs = rows(path, spec)
    assert [r["source_line"] for r in recs] == [2, 5, 7]
    assert [t["text"] for t in recs[0]["turns"]] == [
        "第一句",
        "第二句",
        "第十句",
    ]  # numeric order, not "10" < "2"
    assert json.loads(recs[0]["turns"][0]["meta"]) == {"Emotion": "neutral", "Utterance_ID": "1"}
    assert recs[0]["meta"] == '{"Dialogue_ID": "A"}'
    bad = recs[1]
    assert bad["drop_reason"] == MALFORMED and bad["turns"] is None
    assert bad["drop_detail"] == f"{path}:6: row has 4 fields, header has 5"
    assert bad["text"] == "B,1,丙,neutral,b1\nB,2,丁,neutral\n"
    assert bad["id"] == stable_id("dlg", "d.csv", 5)
    assert recs[2]["drop_reason"] is None and len(recs[2]["turns"]) == 1
    # in file order without order_field; group_field as id_field
    spec2 = dialogue_spec(path, "csv", id_field="Dialogue_ID")
    recs2 = rows(path, spec2, chunk_rows=2)
    assert [t["text"] for t in recs2[0]["turns"]] == ["第二句", "第一句", "第十句"]
    assert recs2[0]["id"] == "A" and recs2[0]["meta"] is None
    assert recs2[2]["id"] == "A"


def test_csv_invalid_utf8_marks_only_its_dialogue(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(
        "\ufeffDialogue_ID,Speaker,Utterance\nA,甲,好\nB,乙,坏".encode() + b"\xff\n" + "C,丙,好\n".encode()
    )
    recs = rows(path, dialogue_spec(path, "csv"))
    assert [r["drop_reason"] for r in recs] == [None, MALFORMED, None]
    assert recs[1]["drop_detail"] == f"{path}:3: not valid UTF-8 (byte 0xff at position 1)"
    assert recs[1]["text"] == "B,乙,坏\ufffd\n"
    assert recs[0]["meta"] == '{"Dialogue_ID": "A"}' and recs[0]["turns"][0]["meta"] is None
    web = rows(path, web_spec(path, text_field="Utterance"))
    assert [r["drop_reason"] for r in web] == [None, MALFORMED, None]


def test_turn_numbers_count_the_input_list(tmp_path):
    path = write_jsonl(
        tmp_path / "sg.jsonl",
        [
            {"system": "S", "conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": 5}]},
            {"conversations": [{"from": "human", "value": "a"}, {"value": "b"}]},
            {"conversations": [{"from": "human", "value": "a"}, "b"]},
        ],
    )
    assert [r["drop_detail"].split(": ", 1)[1] for r in rows(path, dialogue_spec(path, "sharegpt"))] == [
        "turn 2 'value' is not a string (int)",
        "turn 2 has no 'from'",
        "turn 2 is not an object (str)",
    ]


def test_oversized_csv_dialogue(tmp_path):
    path = _cped_csv(
        tmp_path / "big.csv", [["A", "1", "甲", "neutral", "字" * 400], ["B", "1", "乙", "neutral", "x"]]
    )
    recs = rows(path, dialogue_spec(path, "csv"), max_record_bytes=1000)
    assert recs[0]["drop_detail"].startswith(f"{path}:2: record of 0.0 MB exceeds max_record_bytes")
    assert recs[1]["drop_reason"] is None


def test_chunking_ids_and_schema(tmp_path):
    path = write_jsonl(
        tmp_path / "ten.jsonl",
        [{"doc_id": f"d{i}", "text": f"第{i}篇"} for i in range(9)] + [{"text": "无id"}],
    )
    spec = web_spec(path, id_field="doc_id", name="news")
    chunks = tables(path, spec, chunk_rows=3, rel_name="sub/ten.jsonl")
    assert [t.num_rows for t in chunks] == [3, 3, 3, 1]
    recs = [r for t in chunks for r in t.to_pylist()]
    assert [r["id"] for r in recs[:9]] == [f"d{i}" for i in range(9)]
    assert recs[9]["id"] == stable_id("news", "sub/ten.jsonl", 10)
    assert len(recs[9]["id"]) == 16 and recs[9]["meta"] is None
    again = rows(path, spec, chunk_rows=4, rel_name="sub/ten.jsonl")
    assert [r["id"] for r in again] == [r["id"] for r in recs]  # stable


def test_parse_job_specs_work(tmp_path):
    write_jsonl(tmp_path / "s.jsonl", [{"id": 1, "turns": [{"role": "client", "content": "你好"}]}])
    job = parse_job(
        {
            "inputs": [
                {
                    "path": "s.jsonl",
                    "kind": "dialogue",
                    "id_field": "id",
                    "dialogue": {"roles": {"client": "supporter"}},
                }
            ]
        },
        base=tmp_path,
    )
    spec = job.inputs[0]
    check_input(spec.files[0], spec)
    (r,) = rows(spec.files[0], spec)
    assert r["source"] == "s" and r["id"] == "1" and r["turns"][0]["role"] == "supporter"


# ---------------------------------------------------------------------------------------------- check_input


def test_check_input_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(JobError, match="no such file"):
        check_input(str(tmp_path / "nope.jsonl"), web_spec(tmp_path / "nope.jsonl"))
    odd = tmp_path / "data.xyz"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(JobError, match="cannot tell the format"):
        check_input(str(odd), web_spec(odd))


def test_check_input_corrupt_gzip(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(JobError, match=r"x\.jsonl\.gz: cannot read as jsonl"):
        check_input(str(path), web_spec(path))


def test_check_input_cped_missing_column():
    path = BAD / "dialogue_csv_missing_column.csv"
    with pytest.raises(JobError) as err:
        check_input(str(path), dialogue_spec(path, "csv", name="cped"))
    assert (
        str(path) in str(err.value)
        and "'Utterance'" in str(err.value)
        and "dialogue.text_field" in str(err.value)
    )


def test_check_input_csv_order_and_id_columns(tmp_path):
    path = _cped_csv(tmp_path / "d.csv", [["A", "1", "甲", "neutral", "x"]])
    check_input(str(path), dialogue_spec(path, "csv"))
    with pytest.raises(JobError, match="order_field.*'Turn'"):
        check_input(str(path), dialogue_spec(path, "csv", dialogue={"order_field": "Turn"}))
    with pytest.raises(JobError, match="id_field.*'uid'"):
        check_input(str(path), dialogue_spec(path, "csv", id_field="uid"))
    with pytest.raises(JobError, match="text_field.*'text'"):
        check_input(str(path), web_spec(path))


def test_check_input_parquet_schemas(tmp_path):
    wrong = BAD / "web_wrong_schema.parquet"
    with pytest.raises(JobError) as err:
        check_input(str(wrong), web_spec(wrong))
    assert str(wrong) in str(err.value) and "'text'" in str(err.value)
    check_input(str(wrong), web_spec(wrong, text_field="body", id_field="id"))
    with pytest.raises(JobError, match="id_field.*'doc_id'"):
        check_input(str(wrong), web_spec(wrong, text_field="body", id_field="doc_id"))
    with pytest.raises(JobError, match="'turns'"):
        check_input(str(wrong), dialogue_spec(wrong, "turns"))
    ints = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), ints)
    with pytest.raises(JobError, match="not a string"):
        check_input(str(ints), web_spec(ints))


# ------------------------------------------------------------------------------------------- bad fixtures


def test_bad_fixtures_are_reproducible(tmp_path):
    spec = importlib.util.spec_from_file_location("make_bad_inputs", BAD / "make_bad_inputs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("web_bad.jsonl", "dialogues_bad.jsonl", "dialogue_csv_missing_column.csv", "notes_bad.txt"):
        assert (tmp_path / name).read_bytes() == (BAD / name).read_bytes(), name
    for name in ("web_wrong_schema.parquet", "web_good.parquet"):
        assert pq.read_table(tmp_path / name).equals(pq.read_table(BAD / name)), name


def test_web_bad_jsonl():
    path = BAD / "web_bad.jsonl"
    spec = web_spec(path, name="webbad", id_field="id", url_field="url")
    check_input(str(path), spec)
    recs = rows(path, spec)
    got = by_line(recs)
    assert sorted(got) == [1, 3, 4, 5, 6, 7, 8, 10, 11, 12]  # blank lines 2 and 9 are not records
    expected_bad = {
        3: "invalid JSON: Unterminated string starting at column 22",
        4: "not valid UTF-8 (byte 0xff at position 22)",
        5: "missing text field 'text'",
        6: "text field 'text' is not a string (int)",
        7: "empty document",
        8: "JSON value is not an object (list)",
        11: "empty document",
    }
    for line, what in expected_bad.items():
        r = got[line]
        assert r["drop_reason"] == MALFORMED, line
        assert r["drop_detail"] == f"{path}:{line}: {what}"
        assert r["id"] == stable_id("webbad", "web_bad.jsonl", line)
        assert r["url"] is None and r["meta"] is None and r["turns"] is None
        assert_common(r, spec, path)
    raw_lines = path.read_bytes().split(b"\n")
    assert got[4]["text"] == raw_lines[3].decode("utf-8", "replace")
    assert got[3]["text"] == raw_lines[2].decode()
    assert got[6]["text"] == '{"id": "w5", "text": 12345}'
    good = {line: got[line] for line in (1, 10, 12)}
    assert all(r["drop_reason"] is None and r["drop_detail"] is None for r in good.values())
    assert (
        good[1]["id"] == "w1"
        and good[1]["text"] == "第一篇正常的文档。"
        and good[1]["url"] == "http://a.example/1"
    )
    assert good[1]["meta"] == '{"lang": "zh"}'
    assert good[10]["text"] == "第二篇正常的文档。\n  第二行，保留原样。  "  # not normalised
    assert json.loads(good[10]["meta"]) == {"title": "标题", "n": 2}
    assert good[12]["id"] == stable_id("webbad", "web_bad.jsonl", 12)


def test_dialogues_bad_jsonl():
    path = BAD / "dialogues_bad.jsonl"
    spec = dialogue_spec(path, "turns", name="smile", id_field="id")
    got = by_line(rows(path, spec))
    assert sorted(got) == [1, 2, 3, 4, 5]
    assert got[2]["drop_detail"] == f"{path}:2: dialogue has no turns"
    assert got[3]["drop_detail"] == f"{path}:3: turn 2 has no 'content'"
    assert got[4]["drop_detail"].startswith(f"{path}:4: invalid JSON: Expecting ',' delimiter at column ")
    for line in (2, 3, 4):
        assert got[line]["drop_reason"] == MALFORMED and got[line]["turns"] is None
        assert got[line]["text"] == path.read_text(encoding="utf-8").split("\n")[line - 1]
        assert got[line]["id"] == stable_id("smile", "dialogues_bad.jsonl", line)
    d1, d5 = got[1], got[5]
    assert d1["drop_reason"] is None and d1["id"] == "d1" and d1["text"] is None
    assert [(t["role_raw"], t["role"]) for t in d1["turns"]] == [
        ("client", "seeker"),
        ("counselor", "supporter"),
    ]
    assert d5["meta"] == '{"topic": "学业"}'
    assert json.loads(d5["turns"][0]["meta"]) == {"emotion": "worried"}
    assert d5["turns"][1]["meta"] is None
    assert d5["turns"][2]["role"] == "seeker" and d5["turns"][2]["speaker"] == "来访者"
    assert all(t["emotion"] is None and t["strategy"] is None for t in d5["turns"])


def test_web_good_parquet():
    path = BAD / "web_good.parquet"
    spec = web_spec(path, name="pq", id_field="id")
    check_input(str(path), spec)
    recs = rows(path, spec, chunk_rows=3)
    assert [r["source_line"] for r in recs] == [0, 1, 2, 3]
    assert [r["drop_reason"] for r in recs] == [None, MALFORMED, None, MALFORMED]
    assert recs[1]["drop_detail"] == f"{path}:1: text field 'text' is null"
    assert json.loads(recs[1]["text"]) == {"id": "g1", "text": None, "lang": "zh"}  # the row, nothing lost
    assert recs[1]["id"] == stable_id("pq", "web_good.parquet", 1)
    assert recs[3]["drop_detail"] == f"{path}:3: empty document"
    assert recs[0]["id"] == "g0" and recs[0]["text"] == "第一行正文。" and recs[0]["meta"] == '{"lang": "zh"}'
    assert recs[2]["meta"] == '{"lang": "en"}'


def test_notes_bad_txt():
    path = BAD / "notes_bad.txt"
    (whole,) = rows(path, web_spec(path))
    assert whole["drop_reason"] == MALFORMED
    assert whole["drop_detail"].startswith(f"{path}:1: not valid UTF-8 (byte 0xff at position ")
    assert whole["text"] == path.read_bytes().decode("utf-8", "replace")
    paras = rows(path, web_spec(path, text_mode="blank_line"))
    assert [r["source_line"] for r in paras] == [1, 5, 8]
    assert [r["drop_reason"] for r in paras] == [None, MALFORMED, None]
    prefix = len("第二段含坏字节：".encode())
    assert paras[1]["drop_detail"] == f"{path}:5: not valid UTF-8 (byte 0xff at position {prefix})"
    assert paras[1]["text"] == "第二段含坏字节：\ufffd。\n第二段第二行。"
    assert paras[0]["text"] == "第一段第一行。\n第一段第二行。" and paras[2]["text"] == "第三段。"


# ------------------------------------------------------------------------- found by tests/unit/test_fuzz.py


def test_lone_surrogate_escape_is_malformed_not_a_crash(tmp_path):
    # json decodes "\ud800" to a str that UTF-8 and Arrow cannot hold; it used to fail the whole file
    path = tmp_path / "lone.jsonl"
    path.write_bytes(
        b'{"text": "ok \\ud83d\\ude00"}\n'  # an escaped surrogate pair is an emoji: fine
        b'{"text": "cut \\ud83d"}\n'
        b'{"text": "ok", "\\udc00": 1}\n'
        b'{"text": "ok", "url": "\\uDFFF"}\n'
        b'{"text": "ok \\\\ud800"}\n'  # an escaped backslash: the text says \ud800, no surrogate
    )
    recs = rows(path, web_spec(path, url_field="url"))
    assert [r["drop_reason"] for r in recs] == [None, MALFORMED, MALFORMED, MALFORMED, None]
    assert recs[0]["text"] == "ok \U0001f600" and recs[4]["text"] == "ok \\ud800"
    assert recs[1]["drop_detail"] == f"{path}:2: lone surrogate \\ud83d in a JSON string (not valid Unicode)"
    assert recs[1]["text"] == '{"text": "cut \\ud83d"}'  # the raw line, nothing lost
    assert recs[2]["drop_detail"] == f"{path}:3: lone surrogate \\udc00 in a JSON string (not valid Unicode)"
    assert recs[3]["drop_detail"] == f"{path}:4: lone surrogate \\udfff in a JSON string (not valid Unicode)"

    dlg = tmp_path / "lone_dlg.jsonl"
    dlg.write_bytes(b'{"turns": [{"role": "user", "content": "\\ud800"}]}\n'
                    b'{"turns": [{"role": "user", "content": "hi"}]}\n')
    assert [r["drop_reason"] for r in rows(dlg, dialogue_spec(dlg, "turns"))] == [MALFORMED, None]

    arr = tmp_path / "lone.json"
    arr.write_bytes(b'[{"text": "a\\ud800"}, {"text": "b"}]')
    recs = rows(arr, web_spec(arr))
    assert [r["drop_reason"] for r in recs] == [MALFORMED, None]
    assert recs[0]["drop_detail"] == f"{arr}:0: lone surrogate \\ud800 in a JSON string (not valid Unicode)"


def test_parquet_row_of_invalid_utf8_is_malformed_not_a_crash(tmp_path):
    # Parquet strings are not checked for UTF-8 on read; to_pylist raised and the whole file was lost
    path = tmp_path / "bad_utf8.parquet"
    text = pa.array([b"\xe5\xa5\xbd", b"ok \xff", b"fine"], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"text": text, "note": ["a", "b", "c"]}), path)
    recs = rows(path, web_spec(path), chunk_rows=2)
    assert [(r["source_line"], r["drop_reason"]) for r in recs] == [(0, None), (1, MALFORMED), (2, None)]
    assert recs[0]["text"] == "好" and recs[2]["text"] == "fine"
    assert recs[1]["drop_detail"] == f"{path}:1: field 'text' is not valid UTF-8 (byte 0xff at position 3)"
    assert json.loads(recs[1]["text"]) == {"note": "b", "text": "ok \ufffd"}  # the row, bad byte as U+FFFD


def test_blank_line_mode_file_of_a_lone_bom_has_no_document(tmp_path):
    # the BOM was stripped to an empty line that did not count as blank: an "empty document" out of nothing
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf")
    assert rows(path, web_spec(path, text_mode="blank_line")) == []
    path.write_bytes(b"\xef\xbb\xbf\n\xef\xbb\xbf\xe7\x94\xb2\n")  # a BOM later on is text, not a byte-order mark
    assert [(r["source_line"], r["text"]) for r in rows(path, web_spec(path, text_mode="blank_line"))] == [
        (2, "\ufeff甲")]


# ------------------------------------------------------------------------------------------- size limits


def test_oversized_document_is_malformed_but_kept(tmp_path):
    big = "长" * 3_500_000  # 10.5 MB of UTF-8
    small = "短" * 1_700_000  # 5.1 MB
    path = write_jsonl(tmp_path / "big.jsonl", [{"text": small}, {"text": big}, {"text": "ok"}])
    recs = rows(path, web_spec(path), max_record_bytes=8_000_000)
    assert recs[0]["drop_reason"] is None and recs[0]["text"] == small
    assert recs[1]["drop_reason"] == MALFORMED
    assert recs[1]["drop_detail"] == f"{path}:2: record of 10.5 MB exceeds max_record_bytes (8.0 MB)"
    assert json.loads(recs[1]["text"]) == {"text": big}  # the full record, nothing lost
    assert recs[2]["drop_reason"] is None

    txt = tmp_path / "big.txt"
    txt.write_text(big, encoding="utf-8")
    (r,) = rows(txt, web_spec(txt), max_record_bytes=8_000_000)
    assert r["drop_detail"] == f"{txt}:1: record of 10.5 MB exceeds max_record_bytes (8.0 MB)"
    assert r["text"] == big

    pqf = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": [small, big]}), pqf)
    recs = rows(pqf, web_spec(pqf), max_record_bytes=8_000_000)
    assert [r["drop_reason"] for r in recs] == [None, MALFORMED]
    assert recs[1]["drop_detail"] == f"{pqf}:1: record of 10.5 MB exceeds max_record_bytes (8.0 MB)"


# ------------------------------------------------------------------------------- JSONL in byte-range pieces


@pytest.mark.parametrize("piece_bytes", [1, 7, 40, 100, 10_000])
def test_jsonl_pieces_read_exactly_what_the_whole_file_reads(tmp_path, piece_bytes):
    from curate.io.readers import jsonl_pieces, splittable

    lines = [json.dumps({"id": f"d{i}", "text": "文本" * (i % 7 + 1)}, ensure_ascii=False) for i in range(30)]
    lines[3] = ""  # a blank line: skipped but counted
    lines[5] = "{not json"  # a malformed line keeps its line number
    lines[8] = "   "
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n\n")  # BOM, no final record newline issues
    spec = web_spec(path, id_field="id")
    assert splittable(str(path), spec)
    whole = rows(path, spec)
    pieces = jsonl_pieces(str(path), piece_bytes)
    assert pieces[0][:1] == (0,) and pieces[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
    got = [r for p in pieces for t in read_file(str(path), spec, rel_name="p.jsonl", max_record_bytes=MAX,
                                               chunk_rows=4, piece=p) for r in t.to_pylist()]
    assert got == whole
    assert len(pieces) > 1 or piece_bytes >= path.stat().st_size


def test_compressed_or_array_files_are_not_split(tmp_path):
    from curate.io.readers import splittable

    gz = tmp_path / "a.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write('{"text": "x"}\n')
    arr = tmp_path / "a.json"
    arr.write_text('[{"text": "x"}]', encoding="utf-8")
    assert not splittable(str(gz), web_spec(gz))
    assert not splittable(str(arr), web_spec(arr))
