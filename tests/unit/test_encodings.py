"""Character encodings of text inputs (curate.io.encoding and the readers): which encoding a file is read in,
and that undecodable bytes stay malformed_input rejects naming the line and the byte."""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from curate.io import encoding as enc
from curate.io.encoding import Encoding, detect_encoding
from curate.io.readers import MALFORMED, check_input, jsonl_pieces, read_file, splittable
from curate.job import (
    DEFAULT_ENCODING,
    ENCODINGS,
    STYLE_DEFAULTS,
    DialogueSpec,
    InputSpec,
    JobError,
    parse_job,
)

MAX = 8_000_000
# Real sentences of the kind curate reads (written here, not quoted from a dataset).
LINES = ["我最近压力很大，晚上总是睡不着。", "听起来你这段时间真的很辛苦，愿意多说说吗？", "工作上的事情让我很焦虑。",
         "谢谢你愿意听我说这些。"]


def web_spec(path: Path, **kw: Any) -> InputSpec:
    return InputSpec(path=str(path), kind="web", name="web", files=[str(path)], **kw)


def csv_spec(path: Path, **kw: Any) -> InputSpec:
    d = DialogueSpec(style="csv", **STYLE_DEFAULTS["csv"])
    return InputSpec(path=str(path), kind="dialogue", name="dlg", dialogue=d, files=[str(path)], **kw)


def read(path: Path, spec: InputSpec, **kw: Any) -> list[dict[str, Any]]:
    return [r for t in read_file(str(path), spec, rel_name=path.name, max_record_bytes=MAX, chunk_rows=3, **kw)
            for r in t.to_pylist()]


def jsonl(texts: list[str]) -> str:
    return "".join(json.dumps({"id": f"r{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts))


# ------------------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(("bom", "name"), [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                           (codecs.BOM_UTF16_BE, "utf-16-be"), (b"\x84\x31\x95\x33", "gb18030")])
def test_a_byte_order_mark_decides(tmp_path: Path, bom: bytes, name: str) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(bom + "".join(LINES).encode(name))
    assert detect_encoding(str(path)) == Encoding(name, "bom")


@pytest.mark.parametrize("codec", ["gb18030", "gbk", "gb2312"])
def test_chinese_text_that_is_not_utf8_is_detected_as_gb18030(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(LINES).encode(codec))
    assert detect_encoding(str(path)) == Encoding("gb18030", "detected")


def test_utf8_and_ascii_are_utf8(tmp_path: Path) -> None:
    (tmp_path / "u.jsonl").write_text(jsonl(LINES), encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"text": "plain ascii"}\n', encoding="utf-8")
    (tmp_path / "e.jsonl").write_bytes(b"")
    for name in ("u", "a", "e"):
        assert detect_encoding(str(tmp_path / f"{name}.jsonl")) == Encoding("utf-8", "detected")


def test_the_decision_reads_the_decompressed_stream(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl(LINES).encode("gb18030"), mtime=0))
    assert detect_encoding(str(path)) == Encoding("gb18030", "detected")


def test_a_character_cut_at_the_end_of_the_sample_is_no_error(tmp_path: Path, monkeypatch) -> None:
    text = "".join(LINES)
    gb, utf8 = tmp_path / "gb.txt", tmp_path / "u.txt"
    gb.write_bytes(text.encode("gb18030"))
    utf8.write_text(text, encoding="utf-8")
    monkeypatch.setattr(enc, "SAMPLE_BYTES", 7)  # 3½ GB18030 characters; 2⅓ UTF-8 ones
    assert detect_encoding(str(gb)) == Encoding("gb18030", "detected")
    assert detect_encoding(str(utf8)) == Encoding("utf-8", "detected")


def test_utf8_with_a_bad_byte_stays_utf8_even_when_the_bytes_would_decode_as_gb18030(tmp_path: Path) -> None:
    # "好" is E5 A5 BD in UTF-8; with its last byte C0 the file is not UTF-8, yet every pair of its bytes is a
    # GB18030 character: most of its text is UTF-8, so it is UTF-8 with one bad line, not GB18030
    raw = ("你好\n" * 40).encode()
    raw = raw[:100] + raw[100:].replace("好".encode(), b"\xe5\xa5\xc0", 1)
    assert raw.decode("gb18030") and not _valid_utf8(raw)
    path = tmp_path / "a.txt"
    path.write_bytes(raw)
    assert detect_encoding(str(path)) == Encoding("utf-8", "default")


def test_bytes_neither_utf8_nor_gb18030_are_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("caf\xe9 \xff".encode("latin-1"))
    assert detect_encoding(str(path)) == Encoding("utf-8", "default")


def test_a_declared_encoding_is_taken_as_declared(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("".join(LINES).encode("utf-16-be"))
    assert detect_encoding(str(path), "gb18030") == Encoding("gb18030", "declared")
    assert detect_encoding(str(path), "utf-8") == Encoding("utf-8", "declared")
    # utf-16: the mark gives the byte order; without one, little-endian
    assert detect_encoding(str(path), "utf-16") == Encoding("utf-16-le", "declared")
    path.write_bytes(codecs.BOM_UTF16_BE + "".join(LINES).encode("utf-16-be"))
    assert detect_encoding(str(path), "utf-16") == Encoding("utf-16-be", "declared")


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -------------------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("codec", ["gb18030", "utf-16-le", "utf-16-be"])
def test_every_format_reads_the_same_records_as_utf8(tmp_path: Path, codec: str) -> None:
    bom = {"gb18030": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}[codec]
    files = {
        "a.jsonl": (jsonl(LINES), lambda p: web_spec(p, id_field="id")),
        "a.json": ("[" + ",\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in LINES) + "]", web_spec),
        "a.txt": ("\n\n".join(LINES) + "\n", lambda p: web_spec(p, text_mode="blank_line")),
        "b.txt": ("\n".join(LINES), web_spec),
        "a.csv": ("Dialogue_ID,Speaker,Utterance\n" + "".join(f"d{i // 2},{'甲乙'[i % 2]},{t}\n"
                                                               for i, t in enumerate(LINES)), csv_spec),
    }
    for name, (text, make_spec) in files.items():
        (tmp_path / "u").mkdir(exist_ok=True)
        (tmp_path / "x").mkdir(exist_ok=True)
        utf8, other = tmp_path / "u" / name, tmp_path / "x" / name
        utf8.write_text(text, encoding="utf-8")
        other.write_bytes(bom + text.encode(codec))
        got = check_input(str(other), make_spec(other))
        assert got is not None and got.name == codec, name
        strip = ("source_file",)
        want = [{k: v for k, v in r.items() if k not in strip} for r in read(utf8, make_spec(utf8))]
        assert [{k: v for k, v in r.items() if k not in strip} for r in read(other, make_spec(other))] == want, name
        assert all(r["drop_reason"] is None for r in want), name


def test_undecodable_bytes_under_a_declared_encoding_name_the_line_and_the_byte(tmp_path: Path) -> None:
    good = [t.encode("gb18030") for t in LINES]
    body = good[1][:6] + b"\x81\x20" + good[1][6:]  # 0x81 leads a two-byte character; a space cannot follow it
    raw = b"".join(json.dumps({"id": f"r{i}", "text": "X"}).encode().replace(b"X", t) + b"\n"
                   for i, t in enumerate([good[0], body, good[2]]))
    path = tmp_path / "a.jsonl"
    path.write_bytes(raw)
    spec = web_spec(path, id_field="id", encoding="gb18030")
    rows = read(path, spec)
    assert [r["drop_reason"] for r in rows] == [None, MALFORMED, None]
    offset = len(b'{"id": "r1", "text": "') + 6
    assert rows[1]["drop_detail"] == f"{path}:2: not valid GB18030 (byte 0x81 at position {offset})"
    assert [r["text"] for r in rows[::2]] == [LINES[0], LINES[2]]
    # declared UTF-8, the same GB18030 file is one malformed record per line, naming UTF-8
    rows = read(path, web_spec(path, id_field="id", encoding="utf-8"))
    assert [r["drop_reason"] for r in rows] == [MALFORMED] * 3
    assert rows[0]["drop_detail"].startswith(f"{path}:1: not valid UTF-8 (byte 0x")


def test_an_undecodable_utf16_code_unit_is_a_malformed_line(tmp_path: Path) -> None:
    lone = "\ud800".encode("utf-16-le", "surrogatepass")  # a high surrogate with no low one after it
    prefix = '{"text": "坏'.encode("utf-16-le")
    raw = codecs.BOM_UTF16_LE + jsonl(LINES[:1]).encode("utf-16-le") + prefix + lone + '"}\n'.encode("utf-16-le") \
        + jsonl(LINES[2:3]).encode("utf-16-le")
    path = tmp_path / "a.jsonl"
    path.write_bytes(raw)
    rows = read(path, web_spec(path))
    assert [r["drop_reason"] for r in rows] == [None, MALFORMED, None]
    assert rows[1]["drop_detail"] == f"{path}:2: not valid UTF-16LE (undecodable bytes at position {len(prefix)})"
    assert [r["text"] for r in rows[::2]] == [LINES[0], LINES[2]]


def test_gb18030_jsonl_is_read_in_pieces_exactly_as_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(LINES * 10).encode("gb18030"))
    spec = web_spec(path, id_field="id")
    encoding = check_input(str(path), spec)
    assert encoding == Encoding("gb18030", "detected") and splittable(str(path), spec, encoding)
    pieces = jsonl_pieces(str(path), 200)
    assert len(pieces) > 3
    whole = read(path, spec)
    assert [r for p in pieces for r in read(path, spec, piece=p, encoding=encoding)] == whole
    assert [r["text"] for r in whole] == LINES * 10


def test_utf16_jsonl_is_never_split(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(codecs.BOM_UTF16_LE + jsonl(LINES).encode("utf-16-le"))
    assert not splittable(str(path), web_spec(path))


def test_a_gbk_csv_header_is_checked_in_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("对话,说话人,话语\nd1,甲,你好\n".encode("gbk"))
    with pytest.raises(JobError, match="CSV header has no column 'Dialogue_ID'.*'对话'"):
        check_input(str(path), csv_spec(path))


# ------------------------------------------------------------------------------------------------- the job


def test_the_job_takes_an_encoding_per_input(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    job = parse_job({"inputs": [{"path": "a.jsonl", "encoding": "GBK"}], "tags": False}, tmp_path)
    assert job.inputs[0].encoding == "gb18030"  # GBK is a subset of GB18030
    job = parse_job({"inputs": [{"path": "a.jsonl"}], "tags": False}, tmp_path)
    assert job.inputs[0].encoding == DEFAULT_ENCODING == "auto" and DEFAULT_ENCODING in ENCODINGS
    with pytest.raises(JobError, match=r"inputs\[0\].encoding: 'latin-1' is not one of"):
        parse_job({"inputs": [{"path": "a.jsonl", "encoding": "latin-1"}]}, tmp_path)


@pytest.mark.parametrize("declared", ["auto", "utf-8", "gb18030", "utf-16"])
def test_a_corrupt_compressed_stream_is_a_configuration_error_whatever_the_encoding(tmp_path: Path,
                                                                                    declared: str) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00 not a gzip stream")
    with pytest.raises(JobError, match="cannot read as jsonl"):
        check_input(str(path), web_spec(path, encoding=declared))
