"""Character n-grams shared with evaluation sets: the index built once from the evaluation texts, and the
membership pass over a batch (compiled, one pass over every window; no per-document Python loop).

An n-gram is a window of n characters of the compact text (lower-cased, whitespace removed, as dedup's
shingles: `curate.stages.dedup.compact_text`), hashed to 64 bits exactly as `curate.stages.minhash.
shingle_hashes` hashes it (tested), rolled in O(1) per window in compiled code. Texts shorter than n have no n-gram here (shingle_hashes gives them one, the whole
text, so short texts can be near-duplicates; a 5-character turn shared with a test set is not contamination).

The index is the evaluation set's distinct hashes, sorted, with a directory on their top bits (each bucket
holds one or two hashes on average), so a lookup is two memory reads instead of a binary search's twenty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from curate.stages.dedup import compact_text
from curate.stages.minhash import mix64_scalar
from curate.stages.ngrams import POLY_BASE, CodepointBatch, to_codepoints


@dataclass(frozen=True)
class EvalSource:
    """One evaluation file as indexed: its name in reports, path, records and texts read, distinct n-grams."""

    name: str
    path: str
    records: int
    texts: int
    ngrams: int


@dataclass(frozen=True)
class NgramIndex:
    """The distinct n-gram hashes of some evaluation files, for membership tests.

    `hashes`: sorted unique uint64; `file_of[i]`: index into `files` of the first file holding `hashes[i]`;
    `directory[b]`: first position of a hash whose top `bits` bits are b (length 2**bits + 1).
    """

    n: int
    hashes: np.ndarray
    file_of: np.ndarray
    directory: np.ndarray
    bits: int
    sources: tuple[EvalSource, ...]

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def files(self) -> tuple[str, ...]:
        """The evaluation files' names, in `file_of`'s numbering."""
        return tuple(s.name for s in self.sources)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Whether each hash is in the index (vectorised; the batch pass uses the compiled kernel)."""
        at = np.searchsorted(self.hashes, hashes)
        at[at == len(self.hashes)] = 0
        return (self.hashes[at] == hashes) if len(self.hashes) else np.zeros(len(hashes), dtype=bool)


def window_hashes(batch: CodepointBatch, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The 64-bit hash of every full n-character window of each document (`shingle_hashes`' values, rolled in
    one compiled pass), and that document's index."""
    windows = np.maximum(batch.lengths - n + 1, 0)
    first = np.zeros(len(windows) + 1, dtype=np.int64)
    np.cumsum(windows, out=first[1:])
    out = np.empty(first[-1], dtype=np.uint64)
    _hash_windows(batch.codepoints, batch.offsets, n, first, out)
    return out, np.repeat(np.arange(batch.n_docs, dtype=np.int64), windows)


@numba.njit(nogil=True, cache=True, inline="always")
def _roll(cps: np.ndarray, a: int, e: int, n: int, out: np.ndarray, at: int) -> None:  # pragma: no cover
    """out[at + k] = the hash of the window starting at code point a + k, for each full window of cps[a:e]: the
    polynomial hash in POLY_BASE xor n, through splitmix64's finaliser (`shingle_hashes`' values), rolled in O(1)
    per window (uint64's wrap-around arithmetic is exact for a polynomial hash)."""
    base = POLY_BASE
    top = np.uint64(1)
    for _ in range(n - 1):
        top *= base
    width = np.uint64(n)
    h = np.uint64(0)
    for k in range(n - 1):
        h = h * base + np.uint64(cps[a + k])
    for s in range(a, e - n + 1):
        if s > a:
            h -= np.uint64(cps[s - 1]) * top
        h = h * base + np.uint64(cps[s + n - 1])
        out[at + s - a] = mix64_scalar(h ^ width)


@numba.njit(nogil=True, cache=True)
def _hash_windows(cps: np.ndarray, offsets: np.ndarray, n: int, first: np.ndarray,
                  out: np.ndarray) -> None:  # pragma: no cover - compiled
    """out[first[d] + k] = the hash of document d's window starting at its character k."""
    for d in range(len(offsets) - 1):
        if offsets[d + 1] - offsets[d] >= n:
            _roll(cps, offsets[d], offsets[d + 1], n, out, first[d])


def build_index(parts: Sequence[tuple[int, np.ndarray]], n: int, sources: Sequence[EvalSource]) -> NgramIndex:
    """The index of `parts`: (file number in `sources`, window hashes of some of that file's texts), in file
    order."""
    hashes = np.concatenate([h for _, h in parts]) if parts else np.zeros(0, np.uint64)
    owner = np.concatenate([np.full(len(h), f, np.int32) for f, h in parts]) if parts else np.zeros(0, np.int32)
    # np.unique's first-occurrence indices come from a stable sort: the first file in job order names a hash
    hashes, first = np.unique(hashes, return_index=True)
    bits = max(1, int(np.log2(max(len(hashes), 2))))
    keys = np.arange(2**bits + 1, dtype=np.uint64)
    # the smallest types that hold the positions and file numbers: the index travels to every worker
    directory = np.searchsorted(hashes >> np.uint64(64 - bits), keys).astype(
        np.uint32 if len(hashes) < 2**32 else np.int64)
    file_of = owner[first].astype(np.uint16 if len(sources) < 2**16 else np.int32)
    return NgramIndex(n, hashes, file_of, directory, bits, tuple(sources))


def distinct(hashes: np.ndarray) -> np.ndarray:
    """Sorted unique values: a sort and one comparison (NumPy 2.4's `np.unique` hashes uint64 instead, and took
    37 s for 3 M values where this takes under a second)."""
    h = np.sort(hashes)
    return h[np.concatenate(([True], h[1:] != h[:-1]))] if len(h) else h


def index_texts(texts: pa.Array, n: int) -> np.ndarray:
    """The distinct window hashes of some (normalised) texts."""
    h, _ = window_hashes(to_codepoints(compact_text(texts)), n)
    return distinct(h)


@numba.njit(nogil=True, cache=True, inline="always")
def _lookup(x: np.uint64, hashes: np.ndarray, directory: np.ndarray, shift: np.uint64) -> int:  # pragma: no cover
    """Position of `x` in the sorted `hashes` (-1: absent): its bucket from the directory, then a short scan."""
    b = x >> shift
    lo, hi = directory[b], directory[b + 1]
    while lo < hi and hashes[lo] < x:
        lo += 1
    return int(lo) if lo < hi and hashes[lo] == x else -1


@numba.njit(nogil=True, cache=True)
def _find(cps: np.ndarray, offsets: np.ndarray, n: int, stride: int, hashes: np.ndarray, directory: np.ndarray,
          shift: np.uint64, scratch: np.ndarray, found: np.ndarray, hits: np.ndarray, longest: np.ndarray,
          start: np.ndarray) -> None:  # pragma: no cover - compiled
    """Runs of consecutive windows in the index, per document: the windows found in them, the longest run and
    where it starts (its first run of that length); found[p] = index position of the window at code point p.

    Only every `stride`-th window of a document is looked up, and a hit is followed both ways to the ends of
    its run: a run of `stride` windows or more always holds a probed window, so every such run is found and
    measured exactly, at 1/stride of the lookups on text that shares nothing (stride 1: every window).
    Window hashes are `_roll`'s, into `scratch`, one document at a time."""
    for d in range(len(offsets) - 1):
        a, e = offsets[d], offsets[d + 1]
        w = e - a - n + 1
        if w <= 0:
            continue
        _roll(cps, a, e, n, scratch, 0)
        count, best, first, s = 0, 0, -1, 0
        while s < w:
            at = _lookup(scratch[s], hashes, directory, shift)
            if at < 0:
                s += stride
                continue
            found[a + s] = at
            lo = s
            while lo > 0:
                at = _lookup(scratch[lo - 1], hashes, directory, shift)
                if at < 0:
                    break
                lo -= 1
                found[a + lo] = at
            hi = s
            while hi + 1 < w:
                at = _lookup(scratch[hi + 1], hashes, directory, shift)
                if at < 0:
                    break
                hi += 1
                found[a + hi] = at
            count += hi - lo + 1
            if hi - lo + 1 > best:
                best, first = hi - lo + 1, a + lo
            s = (hi + 2 + stride - 1) // stride * stride  # hi + 1 is not in the index: the next run starts later
        hits[d], longest[d], start[d] = count, best, first


@dataclass(frozen=True)
class Matches:
    """Where a batch of texts meets the index: per code point of the batch, the index position of the window
    starting there (-1: none, or not looked up); per text, its windows, the windows found in runs, the longest
    run of consecutive windows found and the code point where it starts (-1: none). With a `stride` > 1, runs
    shorter than the stride may be missed; longer ones never are, and are measured exactly."""

    batch: CodepointBatch
    found: np.ndarray
    windows: np.ndarray
    hits: np.ndarray
    longest: np.ndarray
    start: np.ndarray


def match(texts: pa.Array, index: NgramIndex, stride: int = 1) -> Matches:
    """One pass over the windows of `texts` (compacted here) against the index, looking up every `stride`-th."""
    batch = to_codepoints(compact_text(texts))
    found = np.full(len(batch.codepoints), -1, dtype=np.int64)
    hits, longest = np.zeros(batch.n_docs, dtype=np.int64), np.zeros(batch.n_docs, dtype=np.int64)
    start = np.full(batch.n_docs, -1, dtype=np.int64)
    if len(index) and batch.n_docs:
        scratch = np.empty(max(0, int(batch.lengths.max()) - index.n + 1), dtype=np.uint64)
        _find(batch.codepoints, batch.offsets, index.n, max(1, stride), index.hashes, index.directory,
              np.uint64(64 - index.bits), scratch, found, hits, longest, start)
    return Matches(batch, found, np.maximum(batch.lengths - index.n + 1, 0), hits, longest, start)


@dataclass(frozen=True)
class Span:
    """The longest run of consecutive shared windows of one text: the file of its first window, and the
    characters it covers (of the compact text)."""

    file: str
    text: str


def longest_span(m: Matches, doc: int, index: NgramIndex, files: tuple[str, ...] | None = None) -> Span | None:
    """The longest overlapping span of text `doc` (None when it shares no window); `files`: `index.files`."""
    s = int(m.start[doc])
    if s < 0:
        return None
    chars = m.batch.codepoints[s : s + int(m.longest[doc]) + index.n - 1]
    return Span((files or index.files)[int(index.file_of[m.found[s]])], chars.tobytes().decode("utf-32-le"))
