"""The input edge: every input format (JSONL, JSON array, Parquet, text, CSV) to record-schema Arrow tables.

`check_input` is the cheap up-front configuration check (headers and schemas only) and tells each text file's
character encoding (`curate.io.encoding`); `read_file` streams one file as conformed tables. A bad record never raises: it becomes a row with drop_reason `malformed_input` and a
`drop_detail` of `file:line: what is wrong`, carrying the raw text so nothing is lost.
"""

from __future__ import annotations

import csv
import io
import json
import mmap
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

import curate
from curate.io.encoding import STREAM_ERRORS, Encoding, compression, detect_encoding, open_text, undecodable
from curate.job import DialogueSpec, InputSpec, JobError
from curate.render import XTUNER_KEYS
from curate.schema import conform, record_schema

MALFORMED = "malformed_input"

_UTF8 = Encoding("utf-8", "declared")  # how Parquet strings are read, and a reader's default encoding
_JSON_WS = re.compile(r"[ \t\n\r]*")
# A sentinel distinguishes "field absent" from "field is null" in error messages.
_MISSING = object()
# The turn fields a reader fills. Turns are built with this narrow struct and widened to the record's turn
# struct by `conform` (a cast by field name): five times faster than converting dicts to the full struct.
_READ_TURN = pa.list_(
    pa.struct([(name, pa.string()) for name in ("speaker", "role", "role_raw", "text", "meta")])
)
# Python's csv module refuses fields over 128 KiB by default; a web document in a CSV cell is often larger.
_CSV_FIELD_LIMIT = 2**31 - 1


# --------------------------------------------------------------------------------------------- opening files


def _is_json_array(path: str, encoding: Encoding) -> bool:
    """A `.json` file whose first non-space byte is `[` holds one JSON array; any other file is JSONL."""
    name = path.lower()
    if compression(name):
        name = name[: -len(Path(name).suffix)]
    if not name.endswith(".json"):
        return False
    with open_text(path, encoding) as f:
        first = True
        while True:
            block = f.read(65536)
            if not block:
                return False
            if first:
                block, first = block.removeprefix(encoding.bom), False
            head = block.lstrip(b" \t\r\n")
            if head:
                return head[:1] == b"["


def _decode_whole(data: bytes, encoding: Encoding) -> tuple[str, bool]:
    """Decode a whole file; undecodable bytes survive as surrogates so each record can be judged on its own.

    Returns the text and whether any byte was undecodable.
    """
    data = data.removeprefix(encoding.bom)
    try:
        return data.decode(encoding.codec), False
    except UnicodeDecodeError:
        return data.decode(encoding.codec, "surrogateescape"), True


def _surrogate_error(s: str, encoding: Encoding) -> str | None:
    """What is wrong with text decoded with surrogateescape (its first bad byte), or None when it was valid."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        if encoding.utf16:  # the transcoded stream holds 0xFF for whatever did not decode
            return f"not valid {encoding.label} (undecodable bytes at character {e.start})"
        return f"not valid {encoding.label} (byte 0x{ord(s[e.start]) - 0xDC00:02x} at position {e.start})"
    return None


def _unescape(s: str) -> str:
    """Surrogate-escaped text back to a clean string, undecodable bytes as U+FFFD."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _json_default(value: Any) -> Any:
    """Values JSON has no type for (Parquet bytes, timestamps, decimals) are kept as text."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


# One encoder for every meta value: json.dumps would build a new one per call, a third of its cost here.
_META_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=_json_default)


def _to_json(obj: Any) -> str:
    """The `meta` JSON: ensure_ascii=False, sort_keys=True, json.dumps' default separators."""
    return _META_ENCODER.encode(obj)


def _lone_surrogate_error(raw: str, obj: Any) -> str | None:
    """What is wrong when the JSON text `raw` of `obj` escapes a lone UTF-16 surrogate (`"\\ud800"`), else None.

    json decodes such an escape to a str that UTF-8, and so Arrow, cannot hold: kept, it would fail the whole
    chunk. Like a record of invalid UTF-8 bytes, the record is malformed (its raw line, all ASCII escapes,
    survives). Only text holding a `\\uD...` escape at all (the surrogate pairs of escaped emoji included) is
    checked further, so other records cost two substring searches.
    """
    if "\\ud" not in raw and "\\uD" not in raw:
        return None
    try:
        _META_ENCODER.encode(obj).encode("utf-8")
    except UnicodeEncodeError as e:
        return f"lone surrogate \\u{ord(e.object[e.start]):04x} in a JSON string (not valid Unicode)"
    return None


def _binary_type(typ: pa.DataType) -> pa.DataType:
    """`typ` with every string, at any depth, as binary: a row with invalid UTF-8 can then be read."""
    if pa.types.is_string(typ):
        return pa.binary()
    if pa.types.is_large_string(typ):
        return pa.large_binary()
    if pa.types.is_list(typ):
        return pa.list_(typ.value_field.with_type(_binary_type(typ.value_type)))
    if pa.types.is_large_list(typ):
        return pa.large_list(typ.value_field.with_type(_binary_type(typ.value_type)))
    if pa.types.is_struct(typ):
        return pa.struct([f.with_type(_binary_type(f.type)) for f in typ])
    return typ


def _undecodable_row(row: pa.RecordBatch) -> tuple[str, str]:
    """A one-row Parquet batch holding invalid UTF-8: its raw text (JSON, bad bytes as U+FFFD) and what is
    wrong, naming the first field that does not decode."""
    problem = "not valid UTF-8"
    for name, column in zip(row.column_names, row.columns, strict=True):
        try:
            column.to_pylist()
        except UnicodeDecodeError as e:
            problem = f"field {name!r} is {undecodable(_UTF8, e.object, e)}"
            break
    try:
        raw = _to_json(row.cast(pa.schema([f.with_type(_binary_type(f.type)) for f in row.schema])).to_pylist()[0])
    except pa.ArrowException:  # a type the cast does not reach: the detail still says what is wrong
        raw = ""
    return raw, problem


def _json_error(e: json.JSONDecodeError) -> str:
    """`Expecting ',' delimiter at column 17` (a few messages, "Unterminated string starting at", end in "at")."""
    return f"{e.msg} column {e.colno}" if e.msg.endswith(" at") else f"{e.msg} at column {e.colno}"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# ----------------------------------------------------------------------------------- the up-front check


def check_input(path: str, spec: InputSpec) -> Encoding | None:
    """Check, before any work, that one input file can fit the job; raise JobError naming the file and field.
    Returns the file's character encoding (None for Parquet), which its readers are then given.

    Catches an unknown format, a missing or unreadable file, a CSV header lacking a mapped column
    (text_field for web; group_field, speaker_field, text_field, order_field for dialogues; id_field and
    url_field when set) and a Parquet schema lacking the mapped text / turns / id / url field or giving it
    the wrong type. Cheap: reads only the first 4 MB (to tell the encoding), the CSV header or the Parquet
    footer.
    """
    where = f"inputs[{spec.name}]"
    fmt = spec.format_of(path)
    if spec.kind == "dialogue" and spec.dialogue is None:
        raise JobError(f"{where}.dialogue: required for kind: dialogue ({path})")
    if not Path(path).is_file():
        raise JobError(f"{where}.path: {path}: no such file")
    try:
        if fmt == "parquet":
            _check_parquet(path, spec, where)
            return None
        # reading the head proves the file opens and, when compressed, that the stream header is sane
        encoding = detect_encoding(path, spec.encoding)
        if fmt == "csv":
            _check_csv(path, spec, where, encoding)
        return encoding
    except JobError:
        raise
    except (*STREAM_ERRORS, ValueError, pa.ArrowException) as e:
        raise JobError(f"{where}.path: {path}: cannot read as {fmt}: {e}") from None


def _mapped_columns(spec: InputSpec, fmt: str) -> list[tuple[str, str]]:
    """(job key, column name) of every column the job maps for a columnar file."""
    cols: list[tuple[str, str]] = []
    d = spec.dialogue
    if spec.kind == "web":
        cols.append(("text_field", spec.text_field))
    elif d is not None and fmt == "csv":
        if d.style != "csv":
            raise JobError(f"inputs[{spec.name}].dialogue.style: {d.style!r} does not fit a csv file")
        if not d.group_field:
            raise JobError(f"inputs[{spec.name}].dialogue.group_field: required for csv dialogues")
        cols += [
            ("dialogue.group_field", d.group_field),
            ("dialogue.speaker_field", d.speaker_field),
            ("dialogue.text_field", d.text_field),
        ]
        if d.order_field:
            cols.append(("dialogue.order_field", d.order_field))
    elif d is not None:
        cols.append(("dialogue.turns_field", d.turns_field))
    if spec.id_field:
        cols.append(("id_field", spec.id_field))
    if spec.url_field:
        cols.append(("url_field", spec.url_field))
    return cols


def _check_csv(path: str, spec: InputSpec, where: str, encoding: Encoding) -> None:
    with open_text(path, encoding) as f:
        first = f.readline().removeprefix(encoding.bom)
    try:
        line = first.decode(encoding.codec)
    except UnicodeDecodeError as e:
        raise JobError(f"{where}.path: {path}: CSV header is {undecodable(encoding, first, e)}") from None
    if not line.strip():
        raise JobError(f"{where}.path: {path}: empty CSV file (no header line)")
    header = next(csv.reader([line]))
    for key, column in _mapped_columns(spec, "csv"):
        if column not in header:
            raise JobError(f"{where}.{key}: {path}: CSV header has no column {column!r} (columns: {header})")


def _check_parquet(path: str, spec: InputSpec, where: str) -> None:
    schema = pq.read_schema(path)
    for key, column in _mapped_columns(spec, "parquet"):
        if column not in schema.names:
            raise JobError(
                f"{where}.{key}: {path}: Parquet schema has no field {column!r} (fields: {schema.names})"
            )
        typ = schema.field(column).type
        if key in ("text_field", "url_field") and not (
            pa.types.is_string(typ) or pa.types.is_large_string(typ)
        ):
            raise JobError(f"{where}.{key}: {path}: Parquet field {column!r} is {typ}, not a string")
        if key == "dialogue.turns_field" and not (pa.types.is_list(typ) or pa.types.is_large_list(typ)):
            raise JobError(f"{where}.{key}: {path}: Parquet field {column!r} is {typ}, not a list of turns")


# ----------------------------------------------------------------------------------------------- reading


def read_file(
    path: str, spec: InputSpec, *, rel_name: str, max_record_bytes: int, chunk_rows: int,
    piece: tuple[int, int, int] | None = None, encoding: Encoding | None = None,
) -> Iterator[pa.Table]:
    """Stream the records of one file as tables of at most `chunk_rows` rows, each `curate.schema.conform`ed.

    `rel_name` (the file's name relative to the input root) keys the stable ids, so they do not depend on
    where the data is mounted. Records over `max_record_bytes` and every other bad record come out as
    `malformed_input` rows instead of raising. `piece` = (start byte, end byte, line number at start), from
    `jsonl_pieces`, reads only the lines starting in [start, end) of a splittable JSONL file. `encoding`: the
    file's, as `check_input` told it (the pieces of one file must agree); None tells it here.
    """
    fmt = spec.format_of(path)
    if encoding is None:
        encoding = _UTF8 if fmt == "parquet" else detect_encoding(path, spec.encoding)
    reader = _FileReader(path, spec, rel_name, max_record_bytes, max(1, chunk_rows), encoding)
    if piece is not None:
        yield from reader.jsonl(*piece)
    elif fmt == "jsonl":
        yield from reader.json_array() if _is_json_array(path, encoding) else reader.jsonl()
    elif fmt == "parquet":
        yield from reader.parquet()
    elif fmt == "text":
        yield from reader.text()
    elif fmt == "csv":
        yield from reader.csv_dialogues() if spec.kind == "dialogue" else reader.csv_web()
    else:  # pragma: no cover - format_of only returns known formats
        raise JobError(f"inputs[{spec.name}].format: unknown format {fmt!r}")


def splittable(path: str, spec: InputSpec, encoding: Encoding | None = None) -> bool:
    """Whether `path` can be read in byte-range pieces: an uncompressed JSONL file (not a JSON array) whose
    lines can be split as bytes (UTF-8 or GB18030, not UTF-16). `encoding`: as `read_file` takes it."""
    if spec.format_of(path) != "jsonl" or compression(path) is not None:
        return False
    encoding = encoding or detect_encoding(path, spec.encoding)
    return not encoding.utf16 and not _is_json_array(path, encoding)


def jsonl_pieces(path: str, piece_bytes: int) -> list[tuple[int, int, int]]:
    """Cut a JSONL file into pieces of about `piece_bytes` at line starts: (start, end, first line number).

    Line numbers are counted here (`_newlines`), so every piece numbers its
    records exactly as reading the whole file would.
    """
    size = os.path.getsize(path)
    n = max(1, -(-size // max(1, piece_bytes)))
    cuts = [0]
    with open(path, "rb") as f:
        for k in range(1, n):
            f.seek(max(size * k // n, cuts[-1]))
            f.readline()  # on to the next line start
            pos = f.tell()
            if pos >= size:
                break
            if pos > cuts[-1]:
                cuts.append(pos)
        cuts.append(size)
    ranges = list(zip(cuts, cuts[1:], strict=False))
    first = np.cumsum([1] + _newlines(path, ranges))
    return [(a, b, int(line)) for (a, b), line in zip(ranges, first, strict=False)]


_NEWLINE_BLOCK = 1 << 22


def _newlines(path: str, ranges: list[tuple[int, int]]) -> list[int]:
    """Newlines in each byte range [a, b) of the file: memory-mapped (no copy of the file) and counted by
    NumPy in 4 MB blocks, a range per thread (NumPy releases the GIL). Before a run's first task can start
    the driver numbers every piece's lines: 1 GB took 0.74 s with `bytes.count` over reads, 0.16 s so."""
    if not any(b > a for a, b in ranges):
        return [0] * len(ranges)

    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        data = np.frombuffer(mm, dtype=np.uint8)
        with ThreadPoolExecutor(max(1, min(len(ranges), os.cpu_count() or 1))) as pool:
            counts = list(pool.map(_count_newlines, [data] * len(ranges), ranges))
        del data  # the map's buffer must be released before the map closes
    return counts


def _count_newlines(data: np.ndarray, r: tuple[int, int]) -> int:
    return sum(int(np.count_nonzero(data[lo : min(lo + _NEWLINE_BLOCK, r[1])] == 10))
               for lo in range(r[0], r[1], _NEWLINE_BLOCK))


class _Columns:
    """The records read so far as column lists; `table()` turns them into one conformed table and resets."""

    def __init__(self, reader: _FileReader) -> None:
        self.reader = reader
        self.with_turns = reader.spec.kind == "dialogue"
        self._reset()

    def _reset(self) -> None:
        self.ids: list[str] = []
        self.lines: list[int] = []
        self.urls: list[str | None] = []
        self.metas: list[str | None] = []
        self.texts: list[str | None] = []
        self.turns: list[list[dict[str, Any]] | None] = []
        self.reasons: list[str | None] = []
        self.details: list[str | None] = []

    def __len__(self) -> int:
        return len(self.ids)

    def good(
        self,
        line: int,
        *,
        id_: str | None,
        text: str | None,
        turns: list[dict[str, Any]] | None,
        url: str | None,
        meta: str | None,
    ) -> None:
        self.ids.append(id_ or self.reader.stable_id(line))
        self.lines.append(line)
        self.urls.append(url)
        self.metas.append(meta)
        self.texts.append(text)
        self.turns.append(turns)
        self.reasons.append(None)
        self.details.append(None)

    def bad(self, line: int, raw: str, what: str) -> None:
        self.ids.append(self.reader.stable_id(line))
        self.lines.append(line)
        self.urls.append(None)
        self.metas.append(None)
        self.texts.append(raw)
        self.turns.append(None)
        self.reasons.append(MALFORMED)
        self.details.append(f"{self.reader.path}:{line}: {what}")

    def table(self) -> pa.Table:
        cols: dict[str, pa.Array] = {
            "id": pa.array(self.ids, pa.string()),
            "source_line": pa.array(self.lines, pa.int64()),
            "url": pa.array(self.urls, pa.string()),
            "meta": pa.array(self.metas, pa.string()),
            "text": pa.array(self.texts, pa.string()),
            "drop_reason": pa.array(self.reasons, pa.string()),
            "drop_detail": pa.array(self.details, pa.string()),
        }
        if self.with_turns:
            cols["turns"] = pa.array(self.turns, _READ_TURN)
        self._reset()
        return self.reader.finish(cols)


class _FileReader:
    """Reads one file of one input; one method per format, all feeding a `_Columns`."""

    def __init__(
        self, path: str, spec: InputSpec, rel_name: str, max_record_bytes: int, chunk_rows: int,
        encoding: Encoding = _UTF8,
    ) -> None:
        self.path = path
        self.spec = spec
        self.encoding = encoding
        self.codec = encoding.codec  # what lines are decoded with: utf-8 (UTF-8, transcoded UTF-16) or gb18030
        self.bom = encoding.bom
        self.rel_name = rel_name
        self.max_bytes = max_record_bytes
        self.chunk_rows = chunk_rows
        self.dialogue: DialogueSpec | None = spec.dialogue if spec.kind == "dialogue" else None
        self.cols = _Columns(self)
        self._roles: dict[str, str] = {}
        # Fields the record's own columns take; everything else goes to `meta` verbatim.
        consumed = {spec.id_field, spec.url_field}
        if self.dialogue is None:
            consumed.add(spec.text_field)
        else:
            consumed.add(self.dialogue.turns_field)
        self.consumed = {c for c in consumed if c}

    # ---- shared pieces

    def stable_id(self, line: int) -> str:
        """The id of a record without one: a hash of source name, relative file name and position."""
        # xxhash 4 hashes bytes only; UTF-8 is what xxhash 3 used for a str, so ids match either version.
        return xxhash.xxh3_64_hexdigest(f"{self.spec.name}:{self.rel_name}:{line}".encode())[:16]

    def finish(self, cols: dict[str, pa.Array]) -> pa.Table:
        """Add the per-file constant columns and conform to the record schema."""
        n = len(cols["id"])
        for name, value in (
            ("kind", self.spec.kind),
            ("source", self.spec.name),
            ("source_file", self.path),
            ("schema_version", record_schema().version),
            ("pipeline_version", curate.__version__),
        ):
            cols[name] = pa.repeat(pa.scalar(value, pa.string()), n)
        return conform(pa.table(cols))

    def role_of(self, raw: str) -> str:
        role = self._roles.get(raw)
        if role is None:
            assert self.dialogue is not None
            role = self._roles[raw] = self.dialogue.role_of(raw)
        return role

    def too_big(self, size: int) -> str | None:
        if size > self.max_bytes:
            return f"record of {_mb(size)} exceeds max_record_bytes ({_mb(self.max_bytes)})"
        return None

    def _full(self) -> bool:
        return len(self.cols) >= self.chunk_rows

    def record(self, obj: Any, line: int, raw: Callable[[], str], size: int | None = None) -> None:
        """Add one parsed record (a JSON object or a row as a dict); `raw` gives its text if it is bad.

        `size` is the record's byte size when the caller has already checked it against max_record_bytes;
        otherwise the text (web) or the turn texts (dialogue) are measured here.
        """
        if not isinstance(obj, dict):
            self.cols.bad(line, raw(), f"JSON value is not an object ({_type_name(obj)})")
            return
        text: str | None = None
        turns: list[dict[str, Any]] | None = None
        if self.dialogue is None:
            field = self.spec.text_field
            value = obj.get(field, _MISSING)
            if value is _MISSING:
                problem: str | None = f"missing text field {field!r}"
            elif value is None:
                problem = f"text field {field!r} is null"
            elif not isinstance(value, str):
                problem = f"text field {field!r} is not a string ({_type_name(value)})"
            elif not value.strip():
                problem = "empty document"
            else:
                text, problem = value, None
                # A str has at most 4 UTF-8 bytes per character: encode only when it could be too big.
                if size is None and len(value) * 4 > self.max_bytes:
                    problem = self.too_big(len(value.encode("utf-8", "surrogatepass")))
        else:
            found = self.turns_of(obj)
            if isinstance(found, str):
                problem = found
            elif not found:
                problem = "dialogue has no turns"
            else:
                turns, problem = found, None
                if size is None:
                    chars = sum(len(t["text"]) for t in found)
                    if chars * 4 > self.max_bytes:
                        problem = self.too_big(
                            sum(len(t["text"].encode("utf-8", "surrogatepass")) for t in found)
                        )
        if problem is not None:
            self.cols.bad(line, raw(), problem)
            return
        consumed = self.consumed
        if (
            self.dialogue is not None
            and self.dialogue.style == "sharegpt"
            and isinstance(obj.get("system"), str)
        ):
            consumed = consumed | {"system"}
        rest = {k: v for k, v in obj.items() if k not in consumed}
        id_value = obj.get(self.spec.id_field) if self.spec.id_field else None
        url_value = obj.get(self.spec.url_field) if self.spec.url_field else None
        self.cols.good(
            line,
            id_=_id_string(id_value),
            text=text,
            turns=turns,
            url=None if url_value is None else str(url_value),
            meta=_to_json(rest) if rest else None,
        )

    def turn(self, speaker: str, text: str, meta: str | None) -> dict[str, Any]:
        return {
            "speaker": speaker,
            "role": self.role_of(speaker),
            "role_raw": speaker,
            "text": text,
            "meta": meta,
        }

    def turns_of(self, obj: dict[str, Any]) -> list[dict[str, Any]] | str:
        """The turns of one dialogue object, or what is wrong with them."""
        d = self.dialogue
        assert d is not None
        field = d.turns_field
        items = obj.get(field, _MISSING)
        if items is _MISSING:
            return f"missing turns field {field!r}"
        if not isinstance(items, list):
            return f"turns field {field!r} is not a list ({_type_name(items)})"
        turns: list[dict[str, Any]] = []
        if d.style == "xtuner":
            for i, item in enumerate(items, 1):
                if not isinstance(item, dict):
                    return f"item {i} of {field!r} is not an object ({_type_name(item)})"
                extra = {k: v for k, v in item.items() if k not in XTUNER_KEYS}
                # Item fields other than system/input/output ride on the item's first turn.
                meta = _to_json(extra) if extra else None
                for key in XTUNER_KEYS:
                    value = item.get(key)
                    if key == "system" and not value:
                        continue
                    if value is None:
                        return f"item {i} of {field!r} has no {key!r}"
                    if not isinstance(value, str):
                        return f"item {i} of {field!r}: {key!r} is not a string ({_type_name(value)})"
                    turns.append(self.turn(key, value, meta))
                    meta = None
            return turns
        if d.style == "sharegpt":
            system = obj.get("system")
            if isinstance(system, str) and system.strip():
                turns.append(self.turn("system", system, None))
        sf, tf = d.speaker_field, d.text_field
        # Turns are numbered as they stand in the input's list (a sharegpt system turn is not counted).
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                return f"turn {i} is not an object ({_type_name(item)})"
            speaker = item.get(sf)
            if speaker is None:
                return f"turn {i} has no {sf!r}"
            value = item.get(tf)
            if value is None:
                return f"turn {i} has no {tf!r}"
            if not isinstance(value, str):
                return f"turn {i} {tf!r} is not a string ({_type_name(value)})"
            meta = None
            if len(item) > 2:  # most turns hold only speaker and text: skip building an empty dict
                extra = {k: v for k, v in item.items() if k != sf and k != tf}
                meta = _to_json(extra) if extra else None
            if not isinstance(speaker, str):
                speaker = str(speaker)
            turns.append(self.turn(speaker, value, meta))
        return turns

    # ---- JSONL

    def jsonl(self, start: int = 0, end: int | None = None, first_line: int = 1) -> Iterator[pa.Table]:
        """One JSON object per line; blank lines are skipped; each bad line is one malformed row.

        With `end`, only the lines that start in [start, end) are read (`start` is a line start numbered
        `first_line`): one piece of a file split by `jsonl_pieces`.
        """
        line_no = first_line - 1
        pos = start
        with open_text(self.path, self.encoding) as f:  # a file that cannot be opened at all raises: it is no record
            if start:
                f.seek(start)
            try:
                for line_no, raw_line in enumerate(f, first_line):
                    if end is not None:
                        if pos >= end:
                            break
                        pos += len(raw_line)
                    body = raw_line.rstrip(b"\r\n")
                    if line_no == 1 and body.startswith(self.bom):
                        body = body[len(self.bom) :]
                    if not body or body.isspace():
                        continue
                    self._jsonl_line(body, line_no)
                    if self._full():
                        yield self.cols.table()
            except STREAM_ERRORS as e:
                # A truncated or corrupt compressed stream: keep what was read, record where it broke.
                self.cols.bad(line_no + 1, "", f"cannot read the rest of the file: {e}")
        if len(self.cols):
            yield self.cols.table()

    def _jsonl_line(self, body: bytes, line_no: int) -> None:
        problem = self.too_big(len(body))
        if problem:
            self.cols.bad(line_no, body.decode(self.codec, "replace"), problem)
            return
        try:
            s = body.decode(self.codec)
        except UnicodeDecodeError as e:
            self.cols.bad(line_no, body.decode(self.codec, "replace"), undecodable(self.encoding, body, e))
            return
        try:
            obj = json.loads(s)
        except json.JSONDecodeError as e:
            self.cols.bad(line_no, s, f"invalid JSON: {_json_error(e)}")
            return
        except RecursionError:
            self.cols.bad(line_no, s, "invalid JSON: nested too deeply")
            return
        problem = _lone_surrogate_error(s, obj)
        if problem:
            self.cols.bad(line_no, s, problem)
            return
        self.record(obj, line_no, lambda: s, len(body))

    # ---- JSON array (EmoLLM's data.json): read whole, one record per item; source_line = 0-based index

    def json_array(self) -> Iterator[pa.Table]:
        """One JSON array of records; items are decoded one by one so a bad item names its index."""
        with open_text(self.path, self.encoding) as f:
            s, had_bad_bytes = _decode_whole(f.read(), self.encoding)
        decoder = json.JSONDecoder()
        pos = _JSON_WS.match(s).end() + 1  # past the '[' that _is_json_array saw
        pos = _JSON_WS.match(s, pos).end()
        if s.startswith("]", pos):
            return
        index = 0
        while True:
            try:
                obj, end = decoder.raw_decode(s, pos)
            except json.JSONDecodeError as e:
                # Past a syntax error there is no telling where the next item starts: the rest is one bad row.
                where = f"line {e.lineno} column {e.colno}"
                what = f"invalid JSON at {where}: {e.msg}; the rest of the array is unreadable"
                self.cols.bad(index, _unescape(s[pos:]), what)
                break
            except RecursionError:
                self.cols.bad(index, _unescape(s[pos:]), "invalid JSON: nested too deeply")
                break
            raw = s[pos:end]
            self._array_item(obj, raw, index, had_bad_bytes)
            index += 1
            if self._full():
                yield self.cols.table()
            pos = _JSON_WS.match(s, end).end()
            sep = s[pos : pos + 1]
            if sep == ",":
                pos = _JSON_WS.match(s, pos + 1).end()
                continue
            if sep != "]":
                line = s.count("\n", 0, pos) + 1
                got = repr(sep) if sep else "end of file"
                what = f"invalid JSON at line {line}: expected ',' or ']' after an item, got {got}"
                self.cols.bad(index, _unescape(s[pos:]), what)
            break
        if len(self.cols):
            yield self.cols.table()

    def _array_item(self, obj: Any, raw: str, index: int, had_bad_bytes: bool) -> None:
        if had_bad_bytes:
            problem = _surrogate_error(raw, self.encoding)
            if problem:
                self.cols.bad(index, _unescape(raw), problem)
                return
        problem = _lone_surrogate_error(raw, obj)
        if problem:
            self.cols.bad(index, raw, problem)
            return
        size = len(raw)
        if size * 4 > self.max_bytes:
            size = len(raw.encode("utf-8"))
            problem = self.too_big(size)
            if problem:
                self.cols.bad(index, raw, problem)
                return
        self.record(obj, index, lambda: raw, size)

    # ---- Parquet: row-group batches; source_line = 0-based row index

    def parquet(self) -> Iterator[pa.Table]:
        """Parquet rows, nested turns included; a row whose text is null or not valid UTF-8 is malformed."""
        row = 0
        pf = pq.ParquetFile(self.path)  # an unreadable footer raises: check_input has read it already
        try:
            for batch in pf.iter_batches(batch_size=self.chunk_rows):
                try:
                    objs: list[dict[str, Any] | None] = batch.to_pylist()
                except UnicodeDecodeError:
                    # Parquet readers do not check string columns for UTF-8, and some writers put invalid
                    # bytes in them: decode this batch row by row so only the rows holding them are malformed.
                    objs = [_decoded_row(batch.slice(i, 1)) for i in range(batch.num_rows)]
                for i, obj in enumerate(objs):
                    if obj is None:
                        self.cols.bad(row, *_undecodable_row(batch.slice(i, 1)))
                    else:
                        self.record(obj, row, lambda obj=obj: _to_json(obj))
                    row += 1
                    if self._full():
                        yield self.cols.table()
        except (OSError, pa.ArrowException) as e:
            self.cols.bad(row, "", f"cannot read the rest of the file: {e}")
        if len(self.cols):
            yield self.cols.table()

    # ---- plain text

    def text(self) -> Iterator[pa.Table]:
        """text_mode `file`: the whole file is one document; `blank_line`: blank lines separate documents."""
        if self.spec.text_mode == "blank_line":
            yield from self._text_paragraphs()
            return
        with open_text(self.path, self.encoding) as f:
            data = f.read().removeprefix(self.bom)
        self._text_document(data, 1)
        yield self.cols.table()

    def _text_paragraphs(self) -> Iterator[pa.Table]:
        lines: list[bytes] = []
        start = 0
        line_no = 0
        with open_text(self.path, self.encoding) as f:
            try:
                for line_no, raw_line in enumerate(f, 1):
                    if line_no == 1 and raw_line.startswith(self.bom):
                        raw_line = raw_line[len(self.bom) :]
                    if not raw_line or raw_line.isspace():  # empty: a file of a lone BOM
                        if lines:
                            self._text_document(b"".join(lines), start)
                            lines = []
                            if self._full():
                                yield self.cols.table()
                        continue
                    if not lines:
                        start = line_no
                    lines.append(raw_line)
            except STREAM_ERRORS as e:
                self.cols.bad(line_no + 1, "", f"cannot read the rest of the file: {e}")
        if lines:
            self._text_document(b"".join(lines), start)
        if len(self.cols):
            yield self.cols.table()

    def _text_document(self, data: bytes, line: int) -> None:
        if self.spec.text_mode == "blank_line":
            # The paragraph's own line breaks stay; only the break before the separating blank line goes.
            data = data.removesuffix(b"\n").removesuffix(b"\r")
        try:
            text = data.decode(self.codec)
        except UnicodeDecodeError as e:
            self.cols.bad(line, data.decode(self.codec, "replace"), undecodable(self.encoding, data, e))
            return
        problem = self.too_big(len(data)) or ("empty document" if not text.strip() else None)
        if problem:
            self.cols.bad(line, text, problem)
            return
        self.cols.good(line, id_=None, text=text, turns=None, url=None, meta=None)

    # ---- CSV

    def _csv_rows(self) -> tuple[list[str], list[list[str]], list[int], list[str | None]]:
        """Header, data rows, each row's first physical line (header = 1), and what is wrong with each row.

        The stdlib csv reader (C) is used rather than polars here because it reports each row's field count
        and physical line, which is how a ragged row is told apart from one with empty trailing fields.
        """
        with open_text(self.path, self.encoding) as f:
            text, had_bad_bytes = _decode_whole(f.read(), self.encoding)
        if csv.field_size_limit() < _CSV_FIELD_LIMIT:
            csv.field_size_limit(_CSV_FIELD_LIMIT)
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [_unescape(h) for h in next(reader, [])]
        rows: list[list[str]] = []
        lines: list[int] = []
        problems: list[str | None] = []
        prev = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                rows.append([])
                lines.append(prev + 1)
                problems.append(f"CSV error: {e}")
                prev = reader.line_num
                continue
            start, prev = prev + 1, reader.line_num
            if not row:  # a blank line is not a row
                continue
            problem = None
            if had_bad_bytes:
                problem = next((p for p in (_surrogate_error(field, self.encoding) for field in row) if p), None)
                if problem:  # the row is malformed; U+FFFD for its bad bytes keeps it valid for Arrow/polars
                    row = [_unescape(field) for field in row]
            if len(row) != len(header):
                problem = f"row has {len(row)} fields, header has {len(header)}"
            rows.append(row)
            lines.append(start)
            problems.append(problem)
        return header, rows, lines, problems

    @staticmethod
    def _csv_text(rows: list[list[str]]) -> str:
        """Rows back to CSV text: the raw form of a malformed CSV record."""
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return _unescape(buf.getvalue())

    def csv_web(self) -> Iterator[pa.Table]:
        """A web CSV: one document per row, in the text_field column; other columns go to meta."""
        header, rows, lines, problems = self._csv_rows()
        for row, line, problem in zip(rows, lines, problems, strict=True):
            if problem:
                self.cols.bad(line, self._csv_text([row]), problem)
            else:
                self.record(dict(zip(header, row, strict=True)), line, lambda row=row: self._csv_text([row]))
            if self._full():
                yield self.cols.table()
        if len(self.cols):
            yield self.cols.table()

    def csv_dialogues(self) -> Iterator[pa.Table]:
        """A dialogue CSV (CPED): consecutive rows sharing group_field make one dialogue, a row per utterance.

        Rows keep file order unless order_field is set; then they are sorted by it (numerically when every
        value is an integer). The group value goes to the record's meta (unless it is the id); every column
        but the group, speaker and text columns goes to the turn's meta. A bad row makes its dialogue
        malformed.
        """
        d = self.dialogue
        assert d is not None
        header, rows, lines, problems = self._csv_rows()
        if not rows:
            return
        width = len(header)
        # Ragged rows are padded/cut to the header so they can still be grouped with their neighbours.
        fixed = [r if len(r) == width else (r + [""] * width)[:width] for r in rows]
        columns = [list(c) for c in zip(*fixed, strict=True)]
        idx = {name: i for i, name in reversed(list(enumerate(header)))}

        def column(name: str | None) -> list[str] | None:
            return columns[idx[name]] if name and name in idx else None

        def optional(name: str | None) -> list[str] | list[None]:
            return column(name) or [None] * len(rows)

        speakers = column(d.speaker_field)
        texts = column(d.text_field)
        groups = column(d.group_field)
        if speakers is None or texts is None or groups is None:
            # A configuration error, not a bad record: check_input reports it before any work starts.
            _check_csv(self.path, self.spec, f"inputs[{self.spec.name}]", self.encoding)  # raises, naming the column
            raise JobError(f"inputs[{self.spec.name}]: {self.path}: CSV header lacks a mapped column")
        taken = {d.group_field, d.speaker_field, d.text_field, self.spec.id_field, self.spec.url_field}
        meta_names = sorted(name for name in idx if name not in taken)
        meta_cols = [columns[idx[name]] for name in meta_names]
        turn_metas = (
            [_to_json(dict(zip(meta_names, vals, strict=True))) for vals in zip(*meta_cols, strict=True)]
            if meta_names
            else [None] * len(rows)
        )
        frame = pl.DataFrame(
            {
                "group": groups,
                "speaker": speakers,
                "text": texts,
                "meta": turn_metas,
                "line": lines,
                "row": range(len(rows)),
                "problem": problems,
                "order": optional(d.order_field),
                "id": optional(self.spec.id_field),
                "url": optional(self.spec.url_field),
            },
            schema={
                "group": pl.String,
                "speaker": pl.String,
                "text": pl.String,
                "meta": pl.String,
                "line": pl.Int64,
                "row": pl.Int64,
                "problem": pl.String,
                "order": pl.String,
                "id": pl.String,
                "url": pl.String,
            },
        )
        roles = {s: self.role_of(s) for s in frame["speaker"].unique().to_list()}
        frame = frame.with_columns(
            run=pl.col("group").rle_id(),
            role=pl.col("speaker").replace_strict(roles, return_dtype=pl.String),
            nbytes=pl.col("text").str.len_bytes() + pl.col("meta").str.len_bytes().fill_null(0),
        )
        if d.order_field:
            as_int = pl.col("order").cast(pl.Int64, strict=False)
            numeric = frame.select((as_int.is_null() & pl.col("order").is_not_null()).sum()).item() == 0
            frame = frame.sort(["run", as_int if numeric else pl.col("order")], maintain_order=True)
        dialogues = frame.group_by("run", maintain_order=True).agg(
            pl.col("group").first(),
            pl.col("line").min(),
            pl.col("row").min().alias("first_row"),
            pl.col("row").max().alias("last_row"),
            pl.col("problem").drop_nulls().first(),
            pl.col("line").filter(pl.col("problem").is_not_null()).first().alias("problem_line"),
            pl.col("nbytes").sum(),
            pl.col("id").first(),
            pl.col("url").first(),
            pl.struct(speaker="speaker", role="role", role_raw="speaker", text="text", meta="meta").alias(
                "turns"
            ),
        )
        for start in range(0, dialogues.height, self.chunk_rows):
            yield self._csv_dialogue_table(dialogues.slice(start, self.chunk_rows), rows)

    def _csv_dialogue_table(self, part: pl.DataFrame, rows: list[list[str]]) -> pa.Table:
        """One chunk of grouped CSV dialogues as a conformed table; bad ones malformed, their rows as text."""
        d = self.dialogue
        assert d is not None
        ids: list[str] = []
        texts: list[str | None] = []
        reasons: list[str | None] = []
        details: list[str | None] = []
        metas: list[str | None] = []
        good: list[bool] = []
        group_is_id = d.group_field == self.spec.id_field
        for group, line, first, last, problem, problem_line, nbytes, id_value in part.select(
            "group", "line", "first_row", "last_row", "problem", "problem_line", "nbytes", "id"
        ).iter_rows():
            if problem is None:
                problem = self.too_big(nbytes)
                problem_line = line
            ok = problem is None
            good.append(ok)
            ids.append((id_value if ok and id_value else None) or self.stable_id(line))
            texts.append(None if ok else self._csv_text(rows[first : last + 1]))
            reasons.append(None if ok else MALFORMED)
            details.append(None if ok else f"{self.path}:{problem_line}: {problem}")
            metas.append(None if not ok or group_is_id else _to_json({d.group_field: group}))
        arrow = part.select("turns", "url").to_arrow()
        mask = pa.array(good, pa.bool_())
        turns = pc.if_else(mask, arrow.column("turns"), pa.nulls(len(good), arrow.column("turns").type))
        url = pc.if_else(mask, arrow.column("url"), pa.nulls(len(good), arrow.column("url").type))
        return self.finish(
            {
                "id": pa.array(ids, pa.string()),
                "source_line": pa.array(part["line"].to_list(), pa.int64()),
                "url": url.cast(pa.string()),
                "meta": pa.array(metas, pa.string()),
                "text": pa.array(texts, pa.string()),
                "turns": turns,
                "drop_reason": pa.array(reasons, pa.string()),
                "drop_detail": pa.array(details, pa.string()),
            }
        )


def _decoded_row(row: pa.RecordBatch) -> dict[str, Any] | None:
    """The one row of `row` as a dict; None when one of its strings is not valid UTF-8."""
    try:
        return row.to_pylist()[0]
    except UnicodeDecodeError:
        return None


def _id_string(value: Any) -> str | None:
    """An input id as text; None (so a stable id is made) when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return _to_json(value)
    return str(value)
