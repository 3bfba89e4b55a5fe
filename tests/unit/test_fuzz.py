"""Property-based fuzz tests (hypothesis) of the input edge and the per-batch stages, on arbitrary Unicode.

Inputs are real files in tmp_path read through the real readers: lone surrogates (as JSON `\\ud800` escapes
and as invalid UTF-8), combining marks, RTL text and bidi controls, zero-width characters, emoji and ZWJ
sequences, mixed scripts, control characters, NUL, CR / LF / U+2028, megabyte lines and empty strings.

Properties:
- readers never raise, every chunk has the record schema, and every input record is accounted for: one row
  per non-blank JSONL line, JSON array item, Parquet row, CSV row, CSV dialogue (a run of one group value)
  and text paragraph, in input order, each either live with its content intact or `malformed_input` with
  `file:line:` in drop_detail and its raw text kept; reading a JSONL file in pieces gives the same rows;
- normalisation gives one non-null text per input without invisible characters, CR or runs of blanks, and
  is idempotent: a second pass changes nothing and flags nothing;
- signals give one value per row, of the schema column's type, finite, ratios in [0, 1];
- per_record keeps any batch's row count and order, leaves malformed rows as read, never needs the
  processing_error fallback, and only drops rows by a rule id that is the first of its rule_flags.

CI runs a fixed, bounded set of examples (profile `ci`: derandomized, no example database, so a failure
reproduces on every machine); HYPOTHESIS_PROFILE=fuzz-long runs many more, randomised, for a manual hunt.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.io.readers import MALFORMED, jsonl_pieces, read_file
from curate.job import STYLE_DEFAULTS, DialogueSpec, InputSpec, NormalizeSpec
from curate.run import PER_RECORD, per_record
from curate.schema import arrow_schema, conform, record_schema
from curate.stages.base import PhaseRunner, Settings
from curate.stages.minhash import MinHashParams
from curate.stages.normalize import normalize_texts
from curate.stages.rules import load_rule_set
from curate.stages.signals import REGISTRY, SignalInput, compute_signals

# Examples are built in tmp_path (one fresh folder each) and can be megabytes: the fixture and size checks
# do not apply.
_SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
             HealthCheck.large_base_example]
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_SUPPRESS, print_blob=True)
settings.register_profile("fuzz-long", max_examples=2000, deadline=None, suppress_health_check=_SUPPRESS,
                          print_blob=True)
# Applied per test rather than loaded globally, so other test modules keep hypothesis' own defaults.
FUZZ = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# per_record over megabyte texts costs about a second an example: a few are enough to show it copes.
FUZZ_HUGE = settings(FUZZ, max_examples=max(3, FUZZ.max_examples // 12))

MAX = 8_000_000
RULE_FILES = ["default.yaml", "dialogue.yaml"]
PROCESSING_ERROR = "processing_error"  # the reject per_record's fault containment makes of a failing record
HUGE_BYTES = 1_500_000

# ------------------------------------------------------------------------------------------- strategies

FRAGMENTS = [
    "你好，世界！", "這個問題：（繁體）", "。", "、", "……", "ＡＢＣ１２３", "ｶﾀｶﾅ", "①", "ﬁ", "㎏",  # CJK, NFKC forms
    "e\u0301", "\u0301", "a\u0316\u0301", "\u0345", "\u1100\u1161", "\u1100\u200b\u1161",  # combining, jamo
    "مرحبا", "שלום", "\u202eevil\u202c", "\u2066x\u2069", "\u200f", "\u061c",  # RTL and bidi controls
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero-width characters, soft hyphen
    "👍", "👍🏽", "👨\u200d👩\u200d👧", "🇨🇳", "🏳️\u200d🌈", "\U000e0067",  # emoji, ZWJ sequences, tags
    "नमस्ते", "ภาษา", "한국어", "Ελληνικά", "Кириллица", "abc", "İ", "ß", "ǅ",  # scripts, case mappings
    "\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "\x9f",  # NUL, C0 and C1 controls
    "\n", "\r\n", "\r", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\n\n\n",  # line breaks of every sort
    " ", "\t", "\u00a0", "\u3000", "\u2003", "\u202f",  # spaces
    "\"", "\\", "'", "{", "}", ",", "[", "]", "\\ud800",  # JSON and CSV specials, an escape as plain text
    "\U000f0000", "\U000f0003", "\ue000", "\ufffd", "\uffff", "\U0010ffff",  # private use (the normaliser's
    # shield stand-ins), replacement character, noncharacters
]
# Lone UTF-16 surrogates as JSON escapes: json accepts them, UTF-8 (and so Arrow) cannot hold them.
LONE_SURROGATES = ["\\ud800", "\\uDBFF", "\\udc00", "\\udfff", "\\ud83d", "\\ude00", "\\ud83d\\ud83d",
                   "\\udc00\\ud800"]
# Byte sequences no UTF-8 decoder accepts, wherever they are put (an encoded surrogate among them).
BAD_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xc0\xaf", b"\xe4\xbd", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
MARK = "@@FUZZ-MARK@@"  # where a lone surrogate or bad bytes go, after JSON encoding


def unicode_text(max_parts: int = 16) -> st.SearchStrategy[str]:
    """Text mixing the fragments above with arbitrary code points (no surrogates: a str that UTF-8 holds)."""
    part = st.one_of(st.sampled_from(FRAGMENTS), st.text(st.characters(codec="utf-8"), max_size=6))
    return st.lists(part, max_size=max_parts).map("".join)


def huge_text() -> st.SearchStrategy[str]:
    """About 1.5 MB of one fragment repeated (a single line unless the fragment breaks lines)."""
    return st.sampled_from(FRAGMENTS).map(lambda f: f * (HUGE_BYTES // len(f.encode()) + 1))


def one_line(text: str) -> str:
    return text.replace("\n", "")


def meta_values() -> st.SearchStrategy[dict[str, Any]]:
    """Extra JSON fields (they go to `meta`), never the text or url field."""
    value = st.one_of(unicode_text(4), st.integers(), st.floats(), st.none(), st.booleans(),
                      st.lists(unicode_text(2), max_size=2))
    return st.dictionaries(unicode_text(3), value, max_size=3).map(
        lambda d: {k: v for k, v in d.items() if k not in ("text", "url")})


# An expected record: ("good", content) must be live with that content, ("bad", None) must be malformed,
# ("any", None) may be either (arbitrary bytes that may or may not parse).
Expect = tuple[str, Any]


def _splice(encoded: str, replacement: str) -> str:
    assert MARK in encoded
    return encoded.replace(MARK, replacement, 1)


@st.composite
def web_jsonl_line(draw: st.DrawFn, max_bytes: int) -> tuple[bytes, Expect]:
    """One JSONL line for a web input (no line break) and what it must read as."""
    kind = draw(st.sampled_from(["good", "good", "good", "huge", "surrogate", "bad_utf8", "garbage",
                                 "bytes", "blank", "not_object", "bad_field"]))
    ascii_only = draw(st.booleans())  # ensure_ascii: astral characters become surrogate *pairs*, which are fine
    if kind in ("good", "huge", "surrogate", "bad_utf8"):
        text = draw(huge_text() if kind == "huge" else unicode_text())
        obj: dict[str, Any] = {"text": text, **draw(meta_values())}
        url = draw(st.none() | unicode_text(4))
        if url is not None:
            obj["url"] = url
        if kind == "surrogate":
            where = draw(st.sampled_from(["text", "meta value", "meta key", "url"]))
            if where == "text":
                i = draw(st.integers(0, len(text)))
                obj["text"] = text[:i] + MARK + text[i:]
            elif where == "url":
                obj["url"] = MARK
            elif where == "meta key":
                obj[MARK] = "x"
            else:
                obj["note"] = MARK
            line = _splice(json.dumps(obj, ensure_ascii=ascii_only), draw(st.sampled_from(LONE_SURROGATES)))
            return line.encode(), ("bad", None)
        raw = json.dumps(obj, ensure_ascii=ascii_only).encode()
        if kind == "bad_utf8":
            i = draw(st.integers(0, len(raw)))
            return raw[:i] + draw(st.sampled_from(BAD_UTF8)) + raw[i:], ("bad", None)
        ok = bool(text.strip()) and len(raw) <= max_bytes
        return raw, ("good", (text, url)) if ok else ("bad", None)
    if kind == "garbage":
        return one_line(draw(unicode_text())).encode(), ("any", None)
    if kind == "bytes":
        return draw(st.binary(max_size=40)).replace(b"\n", b""), ("any", None)
    if kind == "blank":
        return draw(st.sampled_from([b"", b"  ", b"\t", b"\r", b" \t\r"])), ("any", None)
    if kind == "not_object":
        value = draw(st.one_of(st.integers(), st.floats(), st.none(), st.booleans(), unicode_text(4),
                               st.lists(st.integers(), max_size=3)))
        return json.dumps(value, ensure_ascii=ascii_only).encode(), ("bad", None)
    value = draw(st.one_of(st.none(), st.integers(), st.lists(unicode_text(2), max_size=2),
                           st.sampled_from(["", " ", "\u3000\u2028\t", "\n\r"])))
    obj = {"txt" if draw(st.booleans()) else "text": value}
    return json.dumps(obj, ensure_ascii=ascii_only).encode(), ("bad", None)


@st.composite
def dialogue_jsonl_line(draw: st.DrawFn) -> tuple[bytes, Expect]:
    """One JSONL line for a `turns`-style dialogue input and what it must read as."""
    speakers = st.one_of(st.sampled_from(["user", "assistant", "来访者", "咨询师", "system"]), unicode_text(2))
    turns = draw(st.lists(st.tuples(speakers, unicode_text()), max_size=5))
    items: list[dict[str, Any]] = [{"role": s, "content": t} for s, t in turns]
    for item in items:
        item.update(draw(st.dictionaries(st.sampled_from(["emotion", "strategy", "时间"]), unicode_text(2),
                                         max_size=1)))
    obj = {"turns": items, **draw(meta_values())}
    ascii_only = draw(st.booleans())
    kind = draw(st.sampled_from(["good", "good", "surrogate", "bad_turn"]))
    if kind == "surrogate" and items:
        item = draw(st.sampled_from(items))
        key = draw(st.sampled_from(["role", "content", "emotion"]))
        item[key] = MARK if key != "content" else item["content"] + MARK
        line = _splice(json.dumps(obj, ensure_ascii=ascii_only), draw(st.sampled_from(LONE_SURROGATES)))
        return line.encode(), ("bad", None)
    if kind == "bad_turn" and items:
        item = draw(st.sampled_from(items))
        bad = draw(st.sampled_from(["no content", "null role", "number content"]))
        if bad == "no content":
            del item["content"]
        elif bad == "null role":
            item["role"] = None
        else:
            item["content"] = 7
        return json.dumps(obj, ensure_ascii=ascii_only).encode(), ("bad", None)
    expect: Expect = ("good", turns) if turns else ("bad", None)  # a dialogue without turns is malformed
    return json.dumps(obj, ensure_ascii=ascii_only).encode(), expect


# ---------------------------------------------------------------------------------------------- helpers


def fresh_dir(tmp_path: Path) -> Path:
    """A folder of its own for one example (hypothesis runs many examples in one test's tmp_path)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


# These properties are about UTF-8 input and its bad bytes, so the files declare UTF-8: with `auto`, a file of
# ASCII records and one bad fragment such as C0 AF would rightly read as GB18030 (tests/unit/test_encodings.py).
UTF8 = "utf-8"


def web_spec(path: Path, **kw: Any) -> InputSpec:
    return InputSpec(path=str(path), kind="web", name="web", files=[str(path)], encoding=UTF8, **kw)


def dialogue_spec(path: Path, style: str, **kw: Any) -> InputSpec:
    d = DialogueSpec(style=style, **STYLE_DEFAULTS[style])
    return InputSpec(path=str(path), kind="dialogue", name="dlg", dialogue=d, files=[str(path)], encoding=UTF8, **kw)


def read_rows(path: Path, spec: InputSpec, *, chunk_rows: int, max_bytes: int = MAX,
              piece: tuple[int, int, int] | None = None) -> list[dict[str, Any]]:
    """Every row `read_file` yields, checking that each chunk is a non-empty, bounded record-schema table."""
    out: list[dict[str, Any]] = []
    for table in read_file(str(path), spec, rel_name=path.name, max_record_bytes=max_bytes,
                           chunk_rows=chunk_rows, piece=piece):
        assert table.schema.equals(arrow_schema())
        assert 0 < table.num_rows <= chunk_rows
        out += table.to_pylist()
    return out


def write_compressed(path: Path, data: bytes) -> None:
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)


def jsonl_lines(data: bytes) -> list[tuple[int, bytes]]:
    """(line number, bytes) of the lines the JSONL reader's documented rule keeps: split at LF only, CR
    before it dropped, a leading BOM dropped, and blank (whitespace-only) lines skipped."""
    out = []
    for number, raw in enumerate(io.BytesIO(data), 1):
        body = raw.rstrip(b"\r\n")
        if number == 1:
            body = body.removeprefix(b"\xef\xbb\xbf")
        if body and not body.isspace():
            out.append((number, body))
    return out


def assert_accounted(rows: list[dict[str, Any]], path: Path, expected: list[tuple[int, Expect]],
                     content: Callable[[dict[str, Any]], Any],
                     detail_lines: dict[int, list[int]] | None = None) -> None:
    """One row per expected record, in order, each live with its content or malformed naming file:line.

    drop_detail names the record's own line unless `detail_lines` lists others (a CSV dialogue names the
    line of its bad utterance).
    """
    assert [r["source_line"] for r in rows] == [line for line, _ in expected]
    assert len({r["id"] for r in rows}) == len(rows), "stable ids are unique per record"
    for r, (line, (kind, value)) in zip(rows, expected, strict=True):
        assert r["source_file"] == str(path)
        if r["drop_reason"] is None:
            assert r["drop_detail"] is None
        else:
            assert r["drop_reason"] == MALFORMED
            lines = (detail_lines or {}).get(line, [line])
            assert any(r["drop_detail"].startswith(f"{path}:{n}: ") for n in lines), r["drop_detail"]
            assert r["text"] is not None, "a malformed record keeps its raw text"
        if kind == "good":
            assert r["drop_reason"] is None, r["drop_detail"]
            assert content(r) == value
        elif kind == "bad":
            assert r["drop_reason"] == MALFORMED


def web_content(r: dict[str, Any]) -> tuple[str, str | None]:
    assert r["text"].strip()
    return r["text"], r["url"]


def turn_content(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["speaker"], t["text"]) for t in r["turns"]]


def text_content(r: dict[str, Any]) -> str:
    return r["text"]


# ---------------------------------------------------------------------------------------------- readers


@st.composite
def jsonl_file(draw: st.DrawFn, line: Callable[[], st.SearchStrategy[tuple[bytes, Expect]]]) -> tuple[
        bytes, dict[int, Expect]]:
    """A JSONL file's bytes (LF or CRLF line ends, maybe a BOM, maybe no final newline) and, per line
    number, what that line must read as."""
    lines = draw(st.lists(line(), max_size=8))
    data = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    for i, (raw, _) in enumerate(lines):
        last = i == len(lines) - 1
        data += raw + draw(st.sampled_from([b"\n", b"\r\n"] + ([b""] if last else [])))
    return data, {i: expect for i, (_, expect) in enumerate(lines, 1)}


@FUZZ
@given(st.data(), st.sampled_from([MAX, 300]), st.sampled_from([1, 3, 1000]),
       st.sampled_from(["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"]))
def test_web_jsonl_accounts_for_every_line(tmp_path, data, max_bytes, chunk_rows, name):
    content, expect = data.draw(jsonl_file(lambda: web_jsonl_line(max_bytes)))
    path = fresh_dir(tmp_path) / name
    write_compressed(path, content)
    spec = web_spec(path, url_field="url")
    rows = read_rows(path, spec, chunk_rows=chunk_rows, max_bytes=max_bytes)
    expected = [(number, expect[number]) for number, _ in jsonl_lines(content)]
    assert_accounted(rows, path, expected, web_content)
    if name == "a.jsonl":  # an uncompressed file may be read in byte-range pieces: the same rows
        pieces = jsonl_pieces(str(path), data.draw(st.integers(1, max(1, len(content))), label="piece_bytes"))
        split = [r for p in pieces for r in read_rows(path, spec, chunk_rows=chunk_rows, max_bytes=max_bytes,
                                                      piece=p)]
        assert split == rows


@FUZZ
@given(jsonl_file(dialogue_jsonl_line), st.sampled_from([1, 1000]))
def test_dialogue_jsonl_accounts_for_every_line(tmp_path, file, chunk_rows):
    content, expect = file
    path = fresh_dir(tmp_path) / "d.jsonl"
    path.write_bytes(content)
    rows = read_rows(path, dialogue_spec(path, "turns"), chunk_rows=chunk_rows)
    expected = [(number, expect[number]) for number, _ in jsonl_lines(content)]
    assert_accounted(rows, path, expected, turn_content)
    for r in rows:
        assert (r["turns"] is None) == (r["drop_reason"] is not None)


@st.composite
def json_array_item(draw: st.DrawFn) -> tuple[bytes, Expect]:
    """One item of a JSON array file: a record, a record with a lone surrogate escape or bad bytes inside
    a string, or a value that is no object."""
    kind = draw(st.sampled_from(["good", "good", "huge", "surrogate", "bad_utf8", "not_object"]))
    ascii_only = draw(st.booleans())
    if kind == "not_object":
        return json.dumps(draw(st.one_of(st.integers(), unicode_text(3), st.none())),
                          ensure_ascii=ascii_only).encode(), ("bad", None)
    text = draw(huge_text() if kind == "huge" else unicode_text())
    obj = {"text": text, **draw(meta_values())}
    if kind in ("surrogate", "bad_utf8"):
        obj["text"] = text + MARK
        encoded = json.dumps(obj, ensure_ascii=ascii_only).encode()
        bad = draw(st.sampled_from(LONE_SURROGATES)).encode() if kind == "surrogate" else draw(
            st.sampled_from(BAD_UTF8))
        return encoded.replace(MARK.encode(), bad, 1), ("bad", None)
    raw = json.dumps(obj, ensure_ascii=ascii_only).encode()
    # The size limit is on the item's JSON: 1.5 MB of NULs escaped as \u0000 is 9 MB of it.
    ok = bool(text.strip()) and len(raw) <= MAX
    return raw, ("good", (text, None)) if ok else ("bad", None)


@FUZZ
@given(st.lists(json_array_item(), max_size=6), st.sampled_from([b"", b" ", b"\n", b"\r\n\t"]),
       st.booleans(), st.sampled_from([1, 1000]))
def test_json_array_accounts_for_every_item(tmp_path, items, space, bom, chunk_rows):
    content = (b"\xef\xbb\xbf" if bom else b"") + space + b"[" + space + (b"," + space).join(
        raw for raw, _ in items) + space + b"]" + space
    path = fresh_dir(tmp_path) / "a.json"
    path.write_bytes(content)
    rows = read_rows(path, web_spec(path), chunk_rows=chunk_rows)
    assert_accounted(rows, path, [(i, expect) for i, (_, expect) in enumerate(items)], web_content)


@st.composite
def text_lines(draw: st.DrawFn) -> list[tuple[bytes, bool]]:
    """Lines of a text file (no line break, no trailing CR) and whether each holds invalid UTF-8."""
    out = []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["text", "text", "blank", "bad_utf8", "huge"]))
        if kind == "blank":
            out.append((draw(st.sampled_from([b"", b" ", b"\t", b"  \t "])), False))
            continue
        text = one_line(draw(huge_text() if kind == "huge" else unicode_text())).rstrip("\r")
        raw = text.encode()
        if kind == "bad_utf8":
            i = draw(st.integers(0, len(raw)))
            raw = (raw[:i] + draw(st.sampled_from(BAD_UTF8)) + raw[i:]).rstrip(b"\r")
        out.append((raw, kind == "bad_utf8"))
    return out


@FUZZ
@given(text_lines(), st.data(), st.booleans(), st.sampled_from([1, 1000]), st.sampled_from([MAX, 400]))
def test_text_blank_line_mode_accounts_for_every_paragraph(tmp_path, lines, data, bom, chunk_rows, max_bytes):
    ends = [data.draw(st.sampled_from([b"\n", b"\r\n"]), label="line end") for _ in lines]
    if lines and data.draw(st.booleans(), label="no final newline"):
        ends[-1] = b""
    content = (b"\xef\xbb\xbf" if bom else b"") + b"".join(raw + end for (raw, _), end in zip(lines, ends,
                                                                                             strict=True))
    path = fresh_dir(tmp_path) / "a.txt"
    path.write_bytes(content)
    rows = read_rows(path, web_spec(path, text_mode="blank_line"), chunk_rows=chunk_rows, max_bytes=max_bytes)
    if lines and not bom:  # the first line's own leading U+FEFF is then the byte-order mark
        lines[0] = (lines[0][0].removeprefix(b"\xef\xbb\xbf"), lines[0][1])

    # The documented rule: runs of non-blank lines are documents, numbered by their first line; a document
    # keeps its own line breaks but not the one before the separating blank line.
    expected: list[tuple[int, Expect]] = []
    run: list[int] = []
    for i in range(len(lines) + 1):
        if i < len(lines) and not (lines[i][0] == b"" or lines[i][0].isspace()):
            run.append(i)
            continue
        if run:
            raw = b"".join(lines[j][0] + ends[j] for j in run[:-1]) + lines[run[-1]][0]
            bad = any(lines[j][1] for j in run) or len(raw) > max_bytes or not raw.decode().strip()
            expected.append((run[0] + 1, ("bad", None) if bad else ("good", raw.decode())))
            run = []
    assert_accounted(rows, path, expected, text_content)


@FUZZ
@given(st.one_of(unicode_text(), huge_text()), st.booleans(), st.booleans())
def test_text_file_mode_is_one_record_per_file(tmp_path, text, bom, bad_bytes):
    raw = text.encode() + (b"\xff" if bad_bytes else b"")
    path = fresh_dir(tmp_path) / "a.txt"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + raw)
    rows = read_rows(path, web_spec(path), chunk_rows=10)
    if not bom:  # the text's own leading U+FEFF is then the byte-order mark, which the reader drops
        text = text.removeprefix("\ufeff")
    good = not bad_bytes and bool(text.strip())
    assert_accounted(rows, path, [(1, ("good", text) if good else ("bad", None))], text_content)


@FUZZ
@given(st.lists(st.tuples(st.one_of(st.none(), unicode_text()), unicode_text(4), st.booleans()), max_size=12),
       st.sampled_from([1, 4, 1000]), st.sampled_from([1, 5, 100]))
def test_parquet_accounts_for_every_row(tmp_path, records, chunk_rows, row_group_size):
    # A string column written by another tool may hold invalid UTF-8; pyarrow does not check it on read.
    texts = [None if t is None else (t.encode() + b"\xff" if bad else t.encode()) for t, _, bad in records]
    table = pa.table({
        "text": pa.array(texts, pa.binary()).view(pa.string()),
        "note": pa.array([n for _, n, _ in records], pa.string()),
    })
    path = fresh_dir(tmp_path) / "a.parquet"
    pq.write_table(table, path, row_group_size=row_group_size)
    rows = read_rows(path, web_spec(path), chunk_rows=chunk_rows)
    expected = [(i, ("good", t) if t is not None and t.strip() and not bad else ("bad", None))
                for i, (t, _, bad) in enumerate(records)]
    assert_accounted(rows, path, expected, text_content)
    for r, (_, note, _) in zip(rows, records, strict=True):
        if r["drop_reason"] is None:
            assert json.loads(r["meta"]) == {"note": note}


def csv_line_count(text: str) -> int:
    """Physical lines as the CSV reader counts them (LF, CR and CRLF each end one)."""
    return len(io.StringIO(text, newline="").readlines())


@FUZZ
@given(st.lists(st.tuples(unicode_text(), unicode_text(3), st.booleans()), max_size=10), st.booleans(),
       st.sampled_from([1, 1000]))
def test_web_csv_accounts_for_every_row(tmp_path, records, bom, chunk_rows):
    header = "text,note\r\n"
    content = (b"\xef\xbb\xbf" if bom else b"") + header.encode()
    expected: list[tuple[int, Expect]] = []
    line = 2
    for text, note, bad in records:
        buf = io.StringIO()
        csv.writer(buf).writerow([text + MARK if bad else text, note])
        row = buf.getvalue()
        content += row.encode().replace(MARK.encode(), b"\xff") if bad else row.encode()
        expected.append((line, ("bad", None) if bad or not text.strip() else ("good", text)))
        line += csv_line_count(row)
    path = fresh_dir(tmp_path) / "a.csv"
    path.write_bytes(content)
    rows = read_rows(path, web_spec(path), chunk_rows=chunk_rows)
    assert_accounted(rows, path, expected, text_content)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["1", "2", "三", ""]), st.sampled_from(["A", "B", "来访者"]),
                          unicode_text(), st.booleans()), max_size=12),
       st.sampled_from([1, 1000]))
def test_csv_dialogues_account_for_every_group_run(tmp_path, utterances, chunk_rows):
    content = b"Dialogue_ID,Speaker,Utterance,Emotion\r\n"
    expected: list[tuple[int, Expect]] = []
    bad_lines: dict[int, list[int]] = {}
    line, prev = 2, None
    for group, speaker, text, bad in utterances:
        buf = io.StringIO()
        csv.writer(buf).writerow([group, speaker, text + MARK if bad else text, "neutral"])
        row = buf.getvalue()
        content += row.encode().replace(MARK.encode(), b"\xff") if bad else row.encode()
        if group != prev or not expected:  # consecutive rows of one group value make one dialogue
            expected.append((line, ("good", [])))
        start, (kind, turns) = expected[-1]
        expected[-1] = (start, ("bad", None) if bad or kind == "bad" else ("good", turns + [(speaker, text)]))
        if bad:
            bad_lines.setdefault(start, []).append(line)
        line += csv_line_count(row)
        prev = group
    path = fresh_dir(tmp_path) / "a.csv"
    path.write_bytes(content)
    rows = read_rows(path, dialogue_spec(path, "csv"), chunk_rows=chunk_rows)
    assert_accounted(rows, path, expected, turn_content, bad_lines)


# ---------------------------------------------------------------------------------------- normalisation

# What normalize.py documents it removes: C0 and C1 controls but tab and newline, soft hyphen, zero-width
# and bidi controls, word joiners, BOM.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                       "\u2066-\u2069\ufeff]")
# The punctuation NFKC would fold that the normaliser keeps, mapped to a private-use character NFKC leaves
# alone and nothing composes with.
KEPT_PUNCT = {ord(c): 0x100000 for c in "，！？：；（）～＂＇"}


@FUZZ
@given(st.lists(st.one_of(st.none(), unicode_text(24)), max_size=12), st.booleans())
def test_normalisation_is_total_and_idempotent(texts, nfkc):
    spec = NormalizeSpec(nfkc=nfkc)
    out, flags = normalize_texts(pl.Series("text", texts, dtype=pl.String), spec)
    assert len(out) == len(flags) == len(texts)
    assert out.null_count() == 0 and flags.null_count() == 0
    for raw, text, changed in zip(texts, out.to_list(), flags.to_list(), strict=True):
        assert not INVISIBLE.search(text) and "\r" not in text and "\n\n\n" not in text
        assert "  " not in text and not text.startswith((" ", "\n")) and not text.endswith((" ", "\n"))
        assert set(changed) <= {"nfkc", "invisible_removed", "whitespace_collapsed"}
        assert (text != (raw or "")) == bool(changed)
        if nfkc:  # NFKC throughout, but for the Chinese full-width punctuation it keeps on purpose
            assert unicodedata.is_normalized("NFKC", text.translate(KEPT_PUNCT)), ascii(text)
    again, again_flags = normalize_texts(out, spec)
    assert again.to_list() == out.to_list()
    assert again_flags.to_list() == [[]] * len(texts)


@FUZZ
@given(st.lists(unicode_text(), min_size=1, max_size=6))
def test_normalisation_with_traditional_to_simplified_is_total(texts):
    out, flags = normalize_texts(pl.Series("text", texts, dtype=pl.String), NormalizeSpec(to_simplified=True))
    assert len(out) == len(flags) == len(texts) and out.null_count() == 0


# ---------------------------------------------------------------------------------------------- signals

WEB_SIGNALS = sorted(c for c, s in REGISTRY.items() if not s.needs_turns)
DIALOGUE_SIGNALS = sorted(c for c, s in REGISTRY.items() if s.needs_turns)


@pytest.fixture(scope="module")
def words():
    return load_rule_set("default.yaml").words


def check_signal_column(name: str, values: Any, n: int) -> np.ndarray:
    """One value per row, of a kind the schema column holds, finite and non-negative; returns it."""
    arr = values.to_numpy() if isinstance(values, pl.Series) else np.asarray(values)
    assert arr.shape == (n,), name
    typ = record_schema().arrow.field(name).type
    if pa.types.is_boolean(typ):
        assert arr.dtype == np.bool_, name
    elif pa.types.is_integer(typ):
        assert np.issubdtype(arr.dtype, np.integer), name
        assert (arr >= 0).all(), name
    else:
        assert np.issubdtype(arr.dtype, np.floating), name
        assert np.isfinite(arr).all() and (arr >= 0).all(), (name, arr)
    # The Arrow column the rules stage writes: the cast to the schema type must be safe.
    pa.array(arr).cast(typ)
    return arr


def ratio_bound(name: str) -> float | None:
    """Upper bound of a fraction or ratio signal; sig_top_{n}gram_frac is documented to reach n."""
    m = re.fullmatch(r"sig_top_(\d)gram_frac", name)
    if m:
        return float(m.group(1))
    return 1.0 if name.endswith(("_frac", "_ratio")) else None


@FUZZ
@given(st.lists(unicode_text(24), min_size=1, max_size=8), st.booleans())
def test_web_signals_one_valid_value_per_row(words, texts, normalised):
    series = pl.Series("text", texts, dtype=pl.String)
    if normalised:
        series = normalize_texts(series, NormalizeSpec())[0]
    out = compute_signals(SignalInput(series, None, words), WEB_SIGNALS)
    assert sorted(out) == WEB_SIGNALS
    texts = series.to_list()
    for name, values in out.items():
        arr = check_signal_column(name, values, len(texts))
        bound = ratio_bound(name)
        if bound is not None:
            assert (arr <= bound + 1e-9).all(), (name, arr)
    assert out["sig_char_len"].tolist() == [len(t) for t in texts]
    assert out["sig_n_lines"].tolist() == [t.count("\n") + 1 for t in texts]
    assert (np.asarray(out["sig_avg_line_len"]) <= out["sig_char_len"]).all()


def turns_strategy(nullable: bool = True) -> st.SearchStrategy[list[dict[str, Any]] | None]:
    """A dialogue's turns (speaker, role, text, any of them null), or a null list when `nullable`."""
    turn = st.fixed_dictionaries({
        "speaker": st.one_of(st.none(), st.sampled_from(["A", "B", "来访者"]), unicode_text(2)),
        "role": st.one_of(st.none(), st.sampled_from(["seeker", "supporter", "other"])),
        "text": st.one_of(st.none(), unicode_text()),
    })
    turns = st.lists(turn, max_size=6)
    return st.one_of(st.none(), turns) if nullable else turns


@FUZZ
@given(st.lists(turns_strategy(), min_size=1, max_size=8))
def test_dialogue_signals_one_valid_value_per_row(words, dialogues):
    turns = pa.array(dialogues, record_schema().arrow.field("turns").type)
    text = pl.Series("text", [""] * len(dialogues), dtype=pl.String)
    out = compute_signals(SignalInput(text, turns, words), DIALOGUE_SIGNALS)
    assert sorted(out) == DIALOGUE_SIGNALS
    for name, values in out.items():
        arr = check_signal_column(name, values, len(dialogues))
        if ratio_bound(name) is not None:
            assert (arr <= 1 + 1e-9).all(), (name, arr)
    assert out["sig_n_turns"].tolist() == [len(d or []) for d in dialogues]
    assert (out["sig_n_speakers"] <= out["sig_n_turns"]).all()
    assert (out["sig_min_turn_chars"] <= out["sig_max_turn_chars"]).all()


# ------------------------------------------------------------------------------------------------ per_record

_IDENTITY = {"source": "fuzz", "source_file": "fuzz.jsonl", "schema_version": record_schema().version,
             "pipeline_version": "test"}


@st.composite
def record_rows(draw: st.DrawFn, text: st.SearchStrategy[str]) -> list[dict[str, Any]]:
    """A mixed batch: web documents, dialogues and rows the reader already rejected, in any order."""
    rows = []
    for i in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["web", "web", "dialogue", "malformed"]))
        row: dict[str, Any] = {"id": f"r{i}", "source_line": i + 1, **_IDENTITY}
        if kind == "dialogue":
            row |= {"kind": "dialogue", "turns": draw(turns_strategy(nullable=False))}
        else:
            row |= {"kind": "web", "text": draw(text)}
            if kind == "malformed":
                row |= {"drop_reason": MALFORMED, "drop_detail": f"fuzz.jsonl:{i + 1}: invalid JSON"}
        rows.append(row)
    return rows


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    fields = [f for f in record_schema().arrow if any(f.name in r for r in rows)]
    return conform(pa.Table.from_pylist(rows, schema=pa.schema(fields)))


def check_per_record(rows: list[dict[str, Any]]) -> None:
    """per_record keeps count and order, leaves malformed rows as read and only drops by a fired rule."""
    settings = Settings(rule_files=tuple(RULE_FILES), normalize=NormalizeSpec(), minhash=MinHashParams())
    if not rows:  # the contained runner's fallback would hide a failure on an empty batch: call the pure function
        assert per_record(arrow_schema().empty_table(), settings).num_rows == 0
        return
    out = PhaseRunner(PER_RECORD, settings)(to_table(rows))
    assert out.num_rows == len(rows)
    rule_ids = {r.id for f in RULE_FILES for r in load_rule_set(f).rules}
    result = out.select([f.name for f in arrow_schema()]).to_pylist()
    for before, after in zip(rows, result, strict=True):
        assert after["id"] == before["id"] and after["kind"] == before["kind"]
        reason = after["drop_reason"]
        assert reason != PROCESSING_ERROR, after["drop_detail"]
        if before.get("drop_reason") == MALFORMED:
            assert (reason, after["drop_detail"], after["text"]) == (
                MALFORMED, before["drop_detail"], before["text"])
            continue
        assert reason is None or reason in rule_ids
        assert after["rule_flags"][:1] == ([reason] if reason else [])
        assert isinstance(after["text"], str) and after["norm_flags"] is not None
        for name in (c for c in WEB_SIGNALS if after["kind"] == "web"):
            value = after[name]
            assert value is None or (not isinstance(value, float) or math.isfinite(value)), name


@FUZZ
@given(record_rows(unicode_text(24)))
def test_per_record_keeps_row_count_and_order(rows):
    check_per_record(rows)


@FUZZ_HUGE
@given(record_rows(st.one_of(huge_text(), unicode_text())))
def test_per_record_copes_with_megabyte_texts(rows):
    check_per_record(rows)


# ------------------------------------------------------------------------------------- model features

@FUZZ
@given(texts=st.lists(st.one_of(st.none(), unicode_text()), min_size=1, max_size=6), mode=st.sampled_from(["chars", "words", "chars+words"]),
       max_chars=st.sampled_from([3, 40, 2000]))
def test_model_tokens_equal_the_training_lines(texts: list[str | None], mode: str, max_chars: int) -> None:
    """The run's tokens (built without lines) are what fastText reads from the training featurisation, and the
    batch engine's probabilities are fastText's own, for any Unicode."""
    from curate.assets import asset_dir
    from curate.models.fasttext_backend import FastTextClassifier, FastTextTokens, load_fasttext
    from curate.models.features import featurize, featurize_with_context, tokens, tokens_with_context

    def seqs(t: FastTextTokens) -> list[list[str]]:
        words, out = t.vocab.to_pylist(), [[] for _ in range(t.n)]
        for i, line in zip(t.ids.tolist(), t.line.tolist(), strict=True):
            out[line].append(words[i])
        return out

    lines = featurize(texts, mode, max_chars)
    assert seqs(tokens(texts, mode, max_chars)) == seqs(FastTextTokens.from_lines(lines))
    contexts = [tuple(texts[:i]) for i in range(len(texts))]
    assert seqs(tokens_with_context(texts, contexts, mode, max_chars, 1)) == seqs(
        FastTextTokens.from_lines(featurize_with_context(texts, contexts, mode, max_chars, 1)))
    path = asset_dir("classifiers") / ("toxicity.ftz" if mode == "chars" else "gender.ftz")
    clf = FastTextClassifier(path, [lab.removeprefix("__label__") for lab in load_fasttext(path).get_labels()])
    labels, probs = load_fasttext(path).predict(lines, k=-1)
    ours = clf.predict_proba(tokens(texts, mode, max_chars))
    for i, (labs, ps) in enumerate(zip(labels, probs, strict=True)):
        for lab, p in zip(labs, ps, strict=True):
            assert abs(ours[i, clf.labels.index(lab.removeprefix("__label__"))] - min(p, 1.0)) < 2e-5
