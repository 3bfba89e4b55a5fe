"""Text → fastText input: character tokens, rjieba words or both, computed once per batch and shared.

Training writes featurised *lines* (`featurize`, `featurize_with_context`) for fastText's trainer; the run
builds the same tokens straight into `FastTextTokens` (`tokens`, `tokens_with_context`) without building
the lines, and every model reading a batch shares them through `FeatureCache` (ChineseWebText segments
once and feeds every fastText model from those tokens; we do the same per batch). Words come from the
batch's distinct pieces (text between punctuation that jieba never joins, and whitespace), each segmented
once; inside `segments_for_batch` (finish) the pieces are shared across featurisations, so a dialogue's
turns, read by the domain model in the rendered dialogue and by the persona models in each speaker's text,
are segmented once. `tests/unit/test_fasttext_engine.py` checks that both paths give the same tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from curate.models.fasttext_backend import FastTextTokens

MODES = ("chars", "words", "chars+words")
# chars+words: a line's characters, then its rjieba words spelled with this prefix (a word of one character is
# a feature of its own, not a second count of the character)
WORD_PREFIX = "w_"
DEFAULT_MAX_CHARS = 2000  # fastText cost grows with length; the head of a document carries its class
CONTEXT_PREFIX = "p_"  # tokens of the previous turn(s): their own features, distinct from the turn's own
# str.split()'s whitespace, plus NUL (a separator to fastText): never part of a token
_SKIP = np.array([chr(c).isspace() or c == 0 for c in range(0x3001)], dtype=bool)


def _clean(text: str) -> str:
    return text.replace("\0", " ") if "\0" in text else text


def _char_list(text: str) -> str:
    # every non-space character is a token; wordNgrams then gives character bigrams/trigrams
    return "".join(_clean(text).split())


def _segment(text: str) -> list[str]:
    """rjieba's words of `text`, its whitespace runs as single spaces (kept: callers drop space tokens)."""
    import rjieba  # jieba's dictionary and HMM in Rust: ~20x jieba.lcut on one core (bench/README.md)

    return rjieba.cut(" ".join(_clean(text).split()))


def _word_list(text: str) -> list[str]:
    return [w for w in _segment(text) if not w.isspace()]


def featurize(texts: Sequence[str | None], mode: str = "chars", max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """fastText input lines for `texts` (None → empty): newlines removed, each text cut to `max_chars`."""
    _check_mode(mode)
    if mode == "chars":
        return [" ".join(_char_list(t[:max_chars])) if t else "" for t in texts]
    if mode == "chars+words":
        return [" ".join([*_char_list(t[:max_chars]), *(WORD_PREFIX + w for w in _word_list(t[:max_chars]))])
                if t else "" for t in texts]
    return [" ".join(_word_list(t[:max_chars])) if t else "" for t in texts]


def _context_texts(contexts: Sequence[Sequence[str | None]], context: int) -> list[str]:
    return [" ".join(t or "" for t in c[-context:]) for c in contexts]


def featurize_with_context(texts: Sequence[str | None], contexts: Sequence[Sequence[str | None]], mode: str = "chars",
                           max_chars: int = DEFAULT_MAX_CHARS, context: int = 1) -> list[str]:
    """Lines for per-turn taggers: the last `context` previous turns' tokens, prefixed, then the turn's own.

    `contexts[i]` holds the turns before turn i, oldest first; only the last `context` of them are used,
    each cut to `max_chars` // 2 so the turn itself dominates.
    """
    own = featurize(texts, mode, max_chars)
    if context <= 0:
        return own
    prev = featurize(_context_texts(contexts, context), mode, max_chars // 2)
    return [" ".join(CONTEXT_PREFIX + tok for tok in p.split()) + " " + o if p else o for p, o in zip(prev, own, strict=True)]


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown feature mode {mode!r}; expected one of {MODES}")


def _char_ids(texts: Sequence[str | None], max_chars: int, prefix: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Character tokens of a batch as (distinct tokens, token ids, lines), from one UTF-32 view of the batch."""
    cut = [t[:max_chars] if t else "" for t in texts]
    lengths = np.fromiter(map(len, cut), dtype=np.int64, count=len(cut))
    cp = np.frombuffer("".join(cut).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    distinct, ids, line = _char_tokens(cp, lengths, _SKIP)
    vocab = pa.array([prefix + c for c in distinct.view("<U1").tolist()], type=pa.large_string())
    return vocab, ids, line


@numba.njit(nogil=True, cache=True)
def _char_tokens(cp: np.ndarray, lengths: np.ndarray, skip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """The character tokens of texts laid end to end (`lengths` code points each), those in `skip` dropped: the
    distinct code points ascending, and each token's rank among them and its text. Distinct through a table
    over all of Unicode: O(n), where a sort is O(n log n)."""
    present = np.zeros(0x110000, dtype=np.bool_)
    kept = 0
    for i in range(len(cp)):
        c = cp[i]
        if not (c < len(skip) and skip[c]):
            present[c] = True
            kept += 1
    rank = np.empty(0x110000, dtype=np.int64)
    n_distinct = 0
    for c in range(0x110000):
        if present[c]:
            rank[c] = n_distinct
            n_distinct += 1
    distinct = np.empty(n_distinct, dtype=np.uint32)
    for c in range(0x110000):
        if present[c]:
            distinct[rank[c]] = c
    ids = np.empty(kept, dtype=np.int64)
    line = np.empty(kept, dtype=np.int64)
    i = m = 0
    for t in range(len(lengths)):
        for _ in range(lengths[t]):
            c = cp[i]
            if not (c < len(skip) and skip[c]):
                ids[m], line[m] = rank[c], t
                m += 1
            i += 1
    return distinct, ids, line


# Characters that are never part of a jieba "han" block (CJK ideographs and [A-Za-z0-9+#&._%-], in jieba and
# rjieba alike): each is a word of its own, and the words of a text are the words of the pieces between them
# and between whitespace (dropped). So a batch is segmented piece by piece, each distinct piece once.
_PIECE_BREAKS = "，。！？、；：“”‘’（）《》【】…—～,!?;:()\"'"
_KIND = np.zeros(0x10000, dtype=np.uint8)  # 0: inside a piece, 1: a break (a piece of its own), 2: whitespace
_KIND[[ord(c) for c in _PIECE_BREAKS]] = 1
_KIND[: len(_SKIP)][_SKIP] = 2


class Segments:
    """rjieba's words of distinct pieces of text, each piece segmented once, shared by every word-mode model
    reading the same batch (`segments_for_batch`): a dialogue's turns are read by the domain model inside
    the rendered dialogue and by the persona models inside each speaker's text."""

    def __init__(self) -> None:
        self.pieces = pa.array([], type=pa.large_string())  # distinct pieces segmented so far, in id order
        self.start = np.zeros(0, dtype=np.int64)  # per piece: where its words start in `flat`, and how many
        self.count = np.zeros(0, dtype=np.int64)
        self.flat = np.zeros(0, dtype=np.int64)  # word ids, piece after piece
        self.word_id: dict[str, int] = {}
        self.words: list[str] = []

    def ids_of(self, pieces: pa.Array) -> np.ndarray:
        """Each piece's id, segmenting the distinct pieces not seen before (all of them in one rjieba call)."""
        encoded = pc.dictionary_encode(pieces)
        distinct = encoded.dictionary
        ids = pc.index_in(distinct, value_set=self.pieces).to_numpy(zero_copy_only=False)
        new = np.isnan(ids) if ids.dtype.kind == "f" else np.zeros(len(ids), dtype=bool)
        ids = np.where(new, -1, ids).astype(np.int64) if new.any() else ids.astype(np.int64)
        if new.any():
            ids[new] = len(self.pieces) + np.arange(int(new.sum()))
            self._add(distinct.filter(pa.array(new)))
        return ids[encoded.indices.to_numpy(zero_copy_only=False)]

    def _add(self, pieces: pa.Array) -> None:
        import rjieba  # jieba's dictionary and HMM in Rust: ~20x jieba.lcut on one core (bench/README.md)

        # pieces hold no whitespace, so the "\n" joining them comes back as a word of its own between them
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(pieces)], pa.int64()), pieces),
                                pa.scalar("\n", pa.large_string()))
        words = _words_of(joined, rjieba.cut)
        is_nl = pc.equal(words, "\n").to_numpy(zero_copy_only=False)
        counts = np.diff(np.concatenate([[-1], np.flatnonzero(is_nl), [len(words)]])) - 1
        encoded = pc.dictionary_encode(words.filter(pa.array(~is_nl)))
        wid, words_of_batch = self.word_id, encoded.dictionary.to_pylist()
        for w in words_of_batch:
            if w not in wid:
                wid[w] = len(self.words)
                self.words.append(w)
        local = np.fromiter(map(wid.__getitem__, words_of_batch), dtype=np.int64, count=len(words_of_batch))
        self.pieces = pa.concat_arrays([self.pieces, pieces.cast(pa.large_string())])
        self.start = np.concatenate([self.start, len(self.flat) + np.cumsum(counts) - counts])
        self.count = np.concatenate([self.count, counts])
        self.flat = np.concatenate([self.flat, local[encoded.indices.to_numpy(zero_copy_only=False)]])


def _words_of(joined: pa.Array, cut: Callable[[str], list[str]]) -> pa.Array:
    """`cut`'s words of the one string in `joined` as an Arrow array over that string's own UTF-8 bytes.

    jieba's words tile the text they cut (each a slice, in order, nothing skipped), so their lengths in
    characters place them; building the array from offsets skips converting millions of short Python strings.
    Words whose lengths do not add up to the text's (never seen) are converted as they are instead."""
    text = joined[0].as_py()
    words = cut(text)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    if int(lengths.sum()) != len(text):
        return pa.array(words, type=pa.large_string())
    del words  # freed here, not after the arrays below are built
    joined = joined.cast(pa.large_string())
    at = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset: joined.offset + 2]
    data = joined.buffers()[2]
    utf8 = np.frombuffer(data, dtype=np.uint8)[int(at[0]): int(at[1])] if data is not None else np.zeros(0, np.uint8)
    starts = _char_starts(utf8)  # each character's byte offset, then the end
    offsets = int(at[0]) + starts[np.concatenate([[0], np.cumsum(lengths)])]
    return pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets), data)


@numba.njit(nogil=True, cache=True)
def _char_starts(utf8: np.ndarray) -> np.ndarray:  # pragma: no cover
    """The byte offset of every character of valid UTF-8 bytes (each byte that is no continuation byte), then
    the bytes' length."""
    n = 0
    for b in utf8:
        n += (b & 0xC0) != 0x80
    out = np.empty(n + 1, dtype=np.int64)
    m = 0
    for i in range(len(utf8)):
        if (utf8[i] & 0xC0) != 0x80:
            out[m] = i
            m += 1
    out[n] = len(utf8)
    return out


_BATCH_SEGMENTS: ContextVar[Segments | None] = ContextVar("batch_segments", default=None)


@contextmanager
def segments_for_batch() -> Iterator[Segments]:
    """Within this block every word-mode featurisation shares one `Segments` (finish: one per batch)."""
    token = _BATCH_SEGMENTS.set(Segments())
    try:
        yield _BATCH_SEGMENTS.get()
    finally:
        _BATCH_SEGMENTS.reset(token)


def _pieces(texts: Sequence[str | None], max_chars: int) -> tuple[pa.Array, np.ndarray]:
    """The pieces of every text cut to `max_chars` (runs between breaks and whitespace, and each break), in
    order, and each piece's text. Built from the batch's UTF-8 bytes: the text is cut into contiguous spans
    (pieces, whitespace runs), whose byte offsets make an Arrow array without copying, then filtered."""
    cut = [t[:max_chars] if t else "" for t in texts]
    lengths = np.fromiter(map(len, cut), dtype=np.int64, count=len(cut))
    joined = "".join(cut)
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ends = np.cumsum(lengths)
    first = np.zeros(len(cp) + 1, dtype=bool)
    first[ends - lengths] = True  # a text's first character (or, for an empty text, nothing)
    starts, offsets, keep = _spans(cp, _KIND, first)
    spans = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(joined.encode("utf-8")))
    return spans.filter(pa.array(keep)), np.searchsorted(ends, starts[keep], side="right")


@numba.njit(nogil=True, cache=True)
def _spans(cp: np.ndarray, kinds: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """The spans of code points `cp` in one pass: each span's start, the UTF-8 byte offset of each start and of
    the end, and whether it is a piece (not whitespace). A span starts at a text's first character (`first`),
    at every break, and where the character's kind (`kinds`, 0 past the table) changes."""
    n = len(cp)
    starts = np.empty(n, dtype=np.int64)
    offsets = np.empty(n + 1, dtype=np.int64)
    keep = np.empty(n, dtype=np.bool_)
    m, byte, prev = 0, 0, 3
    for i in range(n):
        c = cp[i]
        k = kinds[c] if c < len(kinds) else 0
        if first[i] or k == 1 or k != prev:
            starts[m], offsets[m], keep[m] = i, byte, k != 2
            m += 1
        prev = k
        byte += 1 + (c >= 0x80) + (c >= 0x800) + (c >= 0x10000)
    offsets[m] = byte
    return starts[:m], offsets[: m + 1], keep[:m]


def _word_ids(texts: Sequence[str | None], max_chars: int, prefix: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """rjieba word tokens of a batch as (distinct tokens, token ids, lines), each distinct piece segmented
    once (per batch inside `segments_for_batch`, else per call)."""
    seg = _BATCH_SEGMENTS.get() or Segments()
    pieces, piece_line = _pieces(texts, max_chars)
    ids = seg.ids_of(pieces)
    counts = seg.count[ids]
    first = np.cumsum(counts) - counts
    at = np.repeat(seg.start[ids] - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)
    words = seg.flat[at]
    # the batch's own vocabulary: its distinct words, densely numbered (a table over the ids, no sort)
    present = np.zeros(len(seg.words), dtype=bool)
    present[words] = True
    distinct = np.flatnonzero(present)
    rank = np.zeros(len(seg.words), dtype=np.int64)
    rank[distinct] = np.arange(len(distinct))
    vocab = pa.array([prefix + seg.words[i] for i in distinct.tolist()], type=pa.large_string())
    return vocab, rank[words], np.repeat(piece_line, counts)


def _merge(first: tuple[pa.Array, np.ndarray, np.ndarray], second: tuple[pa.Array, np.ndarray, np.ndarray],
           n: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Two line-sorted token sets of the same n lines as one, each line's `first` tokens before its `second`
    (a merge, not a sort); the vocabularies are concatenated, so they must not share a spelling."""
    (v_a, i_a, l_a), (v_b, i_b, l_b) = first, second
    ids, line = _interleave(i_a, l_a, i_b, l_b, len(v_a), n)
    return pa.concat_arrays([v_a.cast(pa.large_string()), v_b.cast(pa.large_string())]), ids, line


@numba.njit(nogil=True, cache=True)
def _interleave(i_a: np.ndarray, l_a: np.ndarray, i_b: np.ndarray, l_b: np.ndarray, shift: int,
                n: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Token ids and lines of two line-sorted sets (lines 0..n-1) in one pass: line by line, a's run, then b's
    with its ids shifted by `shift`."""
    ids = np.empty(len(l_a) + len(l_b), dtype=np.int64)
    line = np.empty(len(l_a) + len(l_b), dtype=np.int64)
    a = b = m = 0
    for t in range(n):
        while a < len(l_a) and l_a[a] == t:
            ids[m], line[m] = i_a[a], t
            a += 1
            m += 1
        while b < len(l_b) and l_b[b] == t:
            ids[m], line[m] = i_b[b] + shift, t
            b += 1
            m += 1
    return ids, line


Part = Callable[[str, str], tuple[pa.Array, np.ndarray, np.ndarray]]


def _part_ids(kind: str, texts: Sequence[str | None], max_chars: int, prefix: str
              ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The `chars` or `words` token ids of `texts` under `prefix`: one part of a features mode."""
    return (_char_ids if kind == "chars" else _word_ids)(texts, max_chars, prefix)


def _ids(texts: Sequence[str | None], mode: str, max_chars: int, prefix: str = "",
         part: Part | None = None) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The token ids of `texts` in `mode`, from `part(kind, prefix)`: the `chars` or `words` tokens under a
    prefix (computed here unless given; `FeatureCache` gives its own, so chars+words reuses its characters)."""
    _check_mode(mode)
    if part is None:
        def part(kind: str, p: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
            return _part_ids(kind, texts, max_chars, p)
    if mode == "chars+words":
        return _merge(part("chars", prefix), part("words", prefix + WORD_PREFIX), len(texts))
    return part(mode, prefix)


def tokens(texts: Sequence[str | None], mode: str = "chars", max_chars: int = DEFAULT_MAX_CHARS) -> FastTextTokens:
    """`featurize(texts, mode, max_chars)` as fastText reads it, without building the lines."""
    from curate.models.fasttext_backend import FastTextTokens

    vocab, ids, line = _ids(texts, mode, max_chars)
    return FastTextTokens(vocab, ids, line, len(texts))


def tokens_with_context(texts: Sequence[str | None], contexts: Sequence[Sequence[str | None]], mode: str = "chars",
                        max_chars: int = DEFAULT_MAX_CHARS, context: int = 1) -> FastTextTokens:
    """`featurize_with_context(...)` as fastText reads it: each line's context tokens, then its own."""
    from curate.models.fasttext_backend import FastTextTokens

    if context <= 0:
        return tokens(texts, mode, max_chars)
    vocab, ids, line = _merge(_ids(_context_texts(contexts, context), mode, max_chars // 2, CONTEXT_PREFIX),
                              _ids(texts, mode, max_chars), len(texts))
    return FastTextTokens(vocab, ids, line, len(texts))


class FeatureCache:
    """Featurised views of one batch of texts, each computed at most once."""

    def __init__(self, texts: Sequence[str | None]) -> None:
        self.texts = texts
        self._views: dict[tuple[str, int], list[str]] = {}
        self._tokens: dict[tuple[str, int], FastTextTokens] = {}
        self._parts: dict[tuple[str, int, str], tuple[pa.Array, np.ndarray, np.ndarray]] = {}
        # with context: keyed by the contexts' object too (callers pass the same list for the same turns)
        self._context_tokens: dict[tuple[int, str, int, int], tuple[Sequence, FastTextTokens]] = {}

    def get(self, mode: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
        """The batch featurised with `mode`, cut to `max_chars` (lines, for models outside the batch engine)."""
        key = (mode, max_chars)
        if key not in self._views:
            self._views[key] = featurize(self.texts, mode, max_chars)
        return self._views[key]

    def tokens(self, mode: str, max_chars: int = DEFAULT_MAX_CHARS) -> FastTextTokens:
        """fastText's tokens of `get(mode, max_chars)`, split and hashed once for every model reading them."""
        from curate.models.fasttext_backend import FastTextTokens

        key = (mode, max_chars)
        if key not in self._tokens:  # chars+words reads the characters mode chars cut: one pass for both
            vocab, ids, line = _ids(self.texts, mode, max_chars,
                                    part=lambda kind, prefix: self._part(kind, max_chars, prefix))
            self._tokens[key] = FastTextTokens(vocab, ids, line, len(self.texts))
        return self._tokens[key]

    def _part(self, kind: str, max_chars: int, prefix: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """The batch's character or word token ids (`_char_ids`, `_word_ids`), computed once (never modified)."""
        key = (kind, max_chars, prefix)
        if key not in self._parts:
            self._parts[key] = _part_ids(kind, self.texts, max_chars, prefix)
        return self._parts[key]

    def tokens_with_context(self, contexts: Sequence[Sequence[str | None]], mode: str,
                            max_chars: int = DEFAULT_MAX_CHARS, context: int = 1) -> FastTextTokens:
        """`tokens_with_context(texts, contexts, ...)`, computed once for every model reading these contexts."""
        key = (id(contexts), mode, max_chars, context)
        got = self._context_tokens.get(key)
        if got is None or got[0] is not contexts:  # the list is kept, so its id cannot be reused meanwhile
            got = self._context_tokens[key] = (contexts, tokens_with_context(self.texts, contexts, mode, max_chars,
                                                                             context))
        return got[1]
