"""Character n-gram statistics over a whole batch of texts at once, with NumPy (no per-document loop).

A batch of texts becomes one uint32 array of code points plus document offsets. For each n-gram size
the engine hashes every window, packs (hash, position) into one uint64 and sorts once: equal n-grams of
the same document then sit side by side, which gives duplicated windows and run lengths (the most
frequent n-gram) without hash tables. Sizes are walked upwards on shrinking candidate sets, because an
(n+1)-gram can only repeat where its leading n-gram repeats. The repetition signals (ChineseWebText's
13-gram rule, FineWeb-2's top/duplicated n-gram fractions) are built on this; the MinHash signatures of
the dedup stage reuse `to_codepoints` and `mix64`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Odd 64-bit multiplier for the polynomial rolling hash (arithmetic wraps mod 2**64).
POLY_BASE = np.uint64(0x100000001B3)  # the polynomial n-gram hash's base (shared with minhash)
_POS_BITS = 27  # positions per sort chunk: 134M code points
_POS_MASK = np.uint64((1 << _POS_BITS) - 1)


@dataclass(frozen=True)
class CodepointBatch:
    """All texts of a batch as one code-point array; document d is codepoints[offsets[d]:offsets[d+1]]."""

    codepoints: np.ndarray  # uint32
    offsets: np.ndarray  # int64, len = n_docs + 1

    @property
    def n_docs(self) -> int:
        """Number of documents."""
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Length of each document in code points."""
        return np.diff(self.offsets)


def to_codepoints(texts: pa.Array | pa.ChunkedArray) -> CodepointBatch:
    """Encode a string column as one UTF-32 code-point array (nulls count as empty texts).

    Decodes the Arrow UTF-8 data buffer in one call: C speed, no per-document Python work.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if len(texts) == 0:
        return CodepointBatch(np.zeros(0, dtype=np.uint32), offsets)
    byte_offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    data = texts.buffers()[2]
    raw = b"" if data is None else data.to_pybytes()[byte_offsets[0] : byte_offsets[-1]]
    cps = np.frombuffer(raw.decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
    return CodepointBatch(cps, offsets)


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads polynomial hashes over all 64 bits (vectorised)."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))  # a new array: the caller's is left alone; the rest works in place
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        return h


@dataclass(frozen=True)
class NgramRepetition:
    """Repetition of the n-grams of one size, per document of a batch."""

    n: int
    windows: np.ndarray  # per doc: number of n-gram windows
    dup_windows: np.ndarray  # per doc: windows whose n-gram occurs more than once in the document
    top_count: np.ndarray  # per doc: occurrences of the most frequent n-gram (0 without windows)
    dup_starts: np.ndarray  # global start positions of the duplicated windows, ascending


def _window_counts(lengths: np.ndarray, n: int, exclude_last: bool) -> np.ndarray:
    return np.maximum(lengths - n + (0 if exclude_last else 1), 0)


def _all_windows(batch: CodepointBatch, n: int, exclude_last: bool) -> np.ndarray:
    counts = _window_counts(batch.lengths, n, exclude_last)
    first = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    rank = np.arange(first[-1], dtype=np.int64) - np.repeat(first[:-1], counts)
    return np.repeat(batch.offsets[:-1], counts) + rank


def _group_runs(
    hashes: np.ndarray, doc: np.ndarray, n_docs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group windows by (hash, document) with one sort; windows are given in position order.

    Returns a mask of the windows whose n-gram occurs more than once in its document, and per document
    the number of such windows and the length of its longest run (its most frequent n-gram's count).
    """
    dup_mask = np.zeros(len(hashes), dtype=bool)
    dup_count, top = np.zeros(n_docs, dtype=np.int64), np.zeros(n_docs, dtype=np.int64)
    # the window's index rides in the low bits of the key, so one plain sort groups equal hashes and
    # keeps each group in position order (hence document order); chunks bound the index to 27 bits and
    # end on document boundaries, since a document's windows must be sorted together
    lo = 0
    while lo < len(hashes):
        hi = min(len(hashes), lo + (1 << _POS_BITS))
        if hi < len(hashes):
            hi = int(np.searchsorted(doc, doc[hi], side="left"))
            if hi <= lo:
                raise ValueError("one document has more n-gram windows than a sort chunk holds")
        h, chunk_lo, lo = hashes[lo:hi], lo, hi
        keys = (mix64(h) & ~_POS_MASK) | np.arange(len(h), dtype=np.uint64)
        keys.sort()
        _runs(keys, np.uint64(_POS_BITS), _POS_MASK, doc, chunk_lo, dup_mask, dup_count, top)
    return dup_mask, dup_count, top


@numba.njit(nogil=True, cache=True)
def _runs(keys: np.ndarray, shift: np.uint64, mask: np.uint64, doc: np.ndarray, lo: int, dup_mask: np.ndarray,
          dup_count: np.ndarray, top: np.ndarray) -> None:  # pragma: no cover
    """One pass over sorted keys (hash bits above `shift`, the window's index in `mask`, below them): runs of neighbours with
    equal hash bits in one document are one n-gram's occurrences; a run of 2 or more marks its windows in
    `dup_mask`, adds its length to its document's `dup_count` and raises its `top` (the NumPy passes of
    before, fused: the same counts)."""
    m = len(keys)
    i = 0
    while i < m:
        bits = keys[i] >> shift
        d = doc[lo + np.int64(keys[i] & mask)]
        j = i + 1
        while j < m and keys[j] >> shift == bits and doc[lo + np.int64(keys[j] & mask)] == d:
            j += 1
        if j - i > 1:
            for k in range(i, j):
                dup_mask[lo + np.int64(keys[k] & mask)] = True
            dup_count[d] += j - i
            top[d] = max(top[d], j - i)
        i = j


@numba.njit(nogil=True, cache=True)
def _extend(h: np.ndarray, codepoints: np.ndarray, starts: np.ndarray, done: int, n: int) -> None:  # pragma: no cover
    """Grow each window's polynomial hash in place from `done` to `n` characters: h = h * POLY_BASE + next code
    point (uint64, wrapping), one pass instead of one NumPy pass per character."""
    for i in range(len(h)):
        x = h[i]
        for k in range(done, n):
            x = x * POLY_BASE + np.uint64(codepoints[starts[i] + k])
        h[i] = x


def repetition_profile(
    batch: CodepointBatch, sizes: Iterable[int], exclude_last: Iterable[int] = ()
) -> dict[int, NgramRepetition]:
    """Repetition statistics for each n-gram size in `sizes` (ascending walk, shrinking candidates).

    Sizes in `exclude_last` skip each document's final window, as ChineseWebText 2.0's
    `range(0, len(txt) - n)` does; such a size must be the largest asked for.
    """
    sizes = sorted(set(sizes))
    excl = set(exclude_last)
    if excl and max(excl) != sizes[-1]:
        raise ValueError("an exclude_last size must be the largest size")
    cps = batch.codepoints
    ends = batch.offsets[1:]
    out: dict[int, NgramRepetition] = {}
    cand: np.ndarray | None = None  # candidate window starts for the current size, ascending
    cand_doc = np.zeros(0, dtype=np.int64)
    h = np.zeros(0, dtype=np.uint64)
    built = 0  # the size `h` currently hashes
    for n in sizes:
        ex = n in excl
        if cand is None:
            counts = _window_counts(batch.lengths, n, ex)
            cand = _all_windows(batch, n, ex)
            cand_doc = np.repeat(np.arange(batch.n_docs, dtype=np.int64), counts)
            h = np.zeros(len(cand), dtype=np.uint64)
            built = 0
        else:
            # keep the candidates whose window of the new size still fits inside its document
            keep = cand <= ends[cand_doc] - (n + 1 if ex else n)
            cand, cand_doc, h = cand[keep], cand_doc[keep], h[keep]
        _extend(h, cps, cand, built, n)
        built = n
        dup_mask, dup_count, top = _group_runs(h, cand_doc, batch.n_docs)
        windows = _window_counts(batch.lengths, n, ex)
        top = np.where(windows > 0, np.maximum(top, 1), 0)
        out[n] = NgramRepetition(n, windows, dup_count, top, cand[dup_mask])
        # next size: only windows that repeat at this size can repeat at a larger one
        cand, cand_doc, h = cand[dup_mask], cand_doc[dup_mask], h[dup_mask]
    return out


def covered_chars_per_doc(dup_starts: np.ndarray, n: int, batch: CodepointBatch) -> np.ndarray:
    """Characters covered by the given n-gram windows (ascending starts), overlaps counted once, per document.

    Windows never cross a document boundary, so each window adds min(n, gap to the next start).
    """
    if len(dup_starts) == 0:
        return np.zeros(batch.n_docs, dtype=np.int64)
    gaps = np.minimum(np.diff(dup_starts, append=dup_starts[-1] + n), n)
    doc = np.searchsorted(batch.offsets, dup_starts, side="right") - 1
    return np.bincount(doc, weights=gaps, minlength=batch.n_docs).astype(np.int64)
