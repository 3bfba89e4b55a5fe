"""Character encodings of text inputs: opening a file (decompressed), telling its encoding, reading it as bytes
its reader can split into lines.

A text input (JSONL, plain text, CSV) is UTF-8, GB18030 (GBK and GB2312 are subsets) or UTF-16. The job may
declare it per input (`encoding:`); by default (`auto`) each file decides for itself (`detect_encoding`):

1. a byte-order mark: UTF-8, UTF-16 LE or BE, or GB18030's own (`bom`);
2. else the first SAMPLE_BYTES of the (decompressed) stream: valid UTF-8 is UTF-8; a sample that is not valid
   UTF-8, decodes as GB18030 without one error (a character cut at the sample's end allowed) and whose
   non-ASCII text is mostly not UTF-8 is GB18030 (`detected`);
3. else UTF-8 (`default`): its undecodable bytes become malformed_input rejects, line by line.

UTF-8 and GB18030 never use the bytes of `\\n` or `\\r` inside a character, so their files are split into lines
(and JSONL files into byte-range pieces) as bytes, and each line is decoded on its own: a UTF-8 file is read
exactly as before. UTF-16 is not: it is transcoded to UTF-8 while read (`open_text`), and an undecodable code
unit becomes the byte 0xFF, which is never valid UTF-8, so its line is still a malformed_input reject.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import zstandard

from curate.job import DEFAULT_ENCODING

# How much of a file (decompressed) the detection reads: enough to see past an ASCII preamble to the text.
SAMPLE_BYTES = 4 << 20
# The head check_input has always read first: a stream that breaks before it is a configuration error.
_HEAD_BYTES = 4096

UTF8, GB18030, UTF16LE, UTF16BE = "utf-8", "gb18030", "utf-16-le", "utf-16-be"
# The reader-facing labels, as error messages name them.
LABELS = {UTF8: "UTF-8", GB18030: "GB18030", UTF16LE: "UTF-16LE", UTF16BE: "UTF-16BE"}
# Byte-order marks, longest first where one is a prefix of another.
BOMS = ((codecs.BOM_UTF8, UTF8), (codecs.BOM_UTF16_LE, UTF16LE), (codecs.BOM_UTF16_BE, UTF16BE),
        (b"\x84\x31\x95\x33", GB18030))
BOM_OF = {UTF8: codecs.BOM_UTF8, GB18030: b"\x84\x31\x95\x33", UTF16LE: codecs.BOM_UTF16_LE,
          UTF16BE: codecs.BOM_UTF16_BE}

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
# What a broken file or compressed stream raises while read (gzip raises zlib.error for a bad deflate block).
STREAM_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError)
# A UTF-16 code unit that does not decode becomes U+DCFF, which surrogateescape writes as the byte 0xFF.
_UNDECODABLE = "curate-undecodable"
codecs.register_error(_UNDECODABLE, lambda e: ("\udcff" * (e.end - e.start), e.end))


@dataclass(frozen=True)
class Encoding:
    """One file's encoding: `name` (utf-8, gb18030, utf-16-le, utf-16-be) and how it was decided (`by`:
    declared, bom, detected, default)."""

    name: str
    by: str

    @property
    def utf16(self) -> bool:
        """UTF-16 files are transcoded to UTF-8 while read (their lines cannot be split as bytes)."""
        return self.name in (UTF16LE, UTF16BE)

    @property
    def codec(self) -> str:
        """The codec a reader decodes lines with: UTF-16 reaches the reader as UTF-8."""
        return UTF8 if self.utf16 else self.name

    @property
    def label(self) -> str:
        """The name error messages use: UTF-8, GB18030, UTF-16LE, UTF-16BE."""
        return LABELS[self.name]

    @property
    def bom(self) -> bytes:
        """The mark a reader drops from the start of the first line (UTF-16's is dropped by `open_text`)."""
        return b"" if self.utf16 else BOM_OF[self.name]


def compression(path: str) -> str | None:
    """Compression codec named by the file's suffix, if any."""
    return _COMPRESSION.get(Path(path).suffix.lower())


def open_binary(path: str) -> IO[bytes]:
    """Open `path` for buffered binary reading, decompressing by suffix (.gz, .bz2, .zst)."""
    comp = compression(path)
    if comp == "gzip":
        return gzip.open(path, "rb")
    if comp == "bz2":
        return bz2.open(path, "rb")
    if comp == "zstd":
        # zstandard's reader has no line iteration of its own; the BufferedReader adds it.
        return io.BufferedReader(zstandard.open(path, "rb"))
    return open(path, "rb")  # noqa: SIM115 - returned to the caller's `with`


def open_text(path: str, encoding: Encoding) -> IO[bytes]:
    """`path` as the bytes its reader splits into lines: the file's own bytes (decompressed), or for UTF-16 the
    text transcoded to UTF-8, from after its byte-order mark."""
    raw = open_binary(path)
    return io.BufferedReader(_Utf16AsUtf8(raw, encoding.name), buffer_size=1 << 16) if encoding.utf16 else raw


class _Utf16AsUtf8(io.RawIOBase):
    """A UTF-16 stream read as UTF-8; an undecodable code unit (a lone surrogate, a last odd byte) as 0xFF."""

    def __init__(self, raw: IO[bytes], codec: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(codec)(errors=_UNDECODABLE)
        self._buf = b""
        self._eof = False
        self._start = True

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buf and not self._eof:
            chunk = self._raw.read(1 << 16)
            self._eof = not chunk
            text = self._decoder.decode(chunk, final=self._eof)
            if self._start and text:
                text, self._start = text.removeprefix("\ufeff"), False  # the byte-order mark
            self._buf = text.encode(UTF8, "surrogateescape")
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def read_sample(path: str, size: int = SAMPLE_BYTES) -> bytes:
    """The first `size` bytes of the (decompressed) file. A stream that breaks within its first 4 kB raises
    (check_input reports it); one that breaks later gives what came before (the reader records the break)."""
    with open_binary(path) as f:
        parts = [f.read(min(size, _HEAD_BYTES))]
        got = len(parts[0])
        try:
            while got < size:
                block = f.read(min(1 << 20, size - got))
                if not block:
                    break
                parts.append(block)
                got += len(block)
        except STREAM_ERRORS:
            pass
    return b"".join(parts)


def detect_encoding(path: str, declared: str = DEFAULT_ENCODING) -> Encoding:
    """The encoding `path` is read in: the job's `declared` one (`auto`: see the module's docstring)."""
    # a declared encoding still reads the head: it proves the file opens and its compressed stream is sane
    sample = read_sample(path, SAMPLE_BYTES if declared == "auto" else _HEAD_BYTES)
    if declared == "utf-16":  # the mark tells the byte order; without one, little-endian (Windows' "Unicode")
        return Encoding(UTF16BE if sample.startswith(codecs.BOM_UTF16_BE) else UTF16LE, "declared")
    if declared != "auto":
        return Encoding(declared, "declared")
    for bom, name in BOMS:
        if sample.startswith(bom):
            return Encoding(name, "bom")
    if _decodes(sample, UTF8):
        return Encoding(UTF8, "detected")
    if _decodes(sample, GB18030) and _mostly_not_utf8(sample):
        return Encoding(GB18030, "detected")
    return Encoding(UTF8, "default")


def _decodes(sample: bytes, codec: str) -> bool:
    """Whether `sample` decodes without an error; a multibyte character cut at its end is no error."""
    try:
        codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_not_utf8(sample: bytes) -> bool:
    """Whether most non-ASCII characters of `sample`, read as UTF-8, are undecodable: so in GB18030 text, where
    only a byte pair here and there happens to be UTF-8; not in UTF-8 text with a few bad bytes, whose pairs
    of non-ASCII bytes would often decode as GB18030 too."""
    text = sample.decode(UTF8, "replace")
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return bad > non_ascii - bad


def undecodable(encoding: Encoding, data: bytes, err: UnicodeDecodeError) -> str:
    """What is wrong with `data`, a line or document read from a file in `encoding`, that failed to decode:
    the encoding, the first bad byte and its offset in the line (for UTF-16: its offset in the file's own
    bytes; the bytes themselves were replaced while transcoding)."""
    if encoding.utf16:
        offset = len(data[: err.start].decode(UTF8).encode(encoding.name))
        return f"not valid {encoding.label} (undecodable bytes at position {offset})"
    return f"not valid {encoding.label} (byte 0x{data[err.start]:02x} at position {err.start})"
