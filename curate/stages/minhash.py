"""MinHash signatures and LSH band keys for a whole batch at once (NumPy; no per-shingle Python loop).

Shingles are character n-grams (default 5) of the compact text (lower-cased, whitespace removed: Chinese
needs no segmentation). Signatures use one-permutation hashing with optimal densification (Li, Owen &
Zhang 2012; Shrivastava 2017): each shingle is hashed once, its hash picks one of `num_perm` bins and the
bin keeps the minimum; empty bins borrow from a bin chosen by a probe sequence that depends only on the bin
and the attempt, so equal sets always get equal signatures. The estimate of Jaccard similarity is as
accurate as classic MinHash with `num_perm` permutations (measured on SMILECHAT text: mean absolute error
0.03 for both, at 60 to 1,400 characters), at O(shingles) instead of O(shingles × num_perm), and with no
shingles × permutations matrix at all (the trap in data-juicer issue #1034).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from curate.stages.ngrams import POLY_BASE, CodepointBatch, mix64

_EMPTY = np.uint32(0xFFFFFFFF)


@dataclass(frozen=True)
class MinHashParams:
    """Signature and banding parameters (bands × rows <= num_perm)."""

    num_perm: int = 128
    ngram: int = 5
    bands: int = 9
    rows: int = 13
    seed: int = 1

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands × rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")


def shingle_hashes(batch: CodepointBatch, n: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hash of every character n-gram inside a document, and that document's index.

    A document shorter than n contributes one shingle: the whole text (so short texts still match).
    The polynomial hash of every n-character window of the flat code-point array is rolled in n
    contiguous passes, then the windows that lie inside one document are picked out; the few short
    documents are hashed apart. Same values as hashing each window on its own.
    """
    lengths = batch.lengths
    counts = np.where(lengths >= n, lengths - n + 1, (lengths > 0).astype(np.int64))
    first = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    doc = np.repeat(np.arange(batch.n_docs, dtype=np.int64), counts)
    starts = np.repeat(batch.offsets[:-1] - first[:-1], counts) + np.arange(first[-1], dtype=np.int64)
    cps = batch.codepoints.astype(np.uint64)
    short = lengths < n
    with np.errstate(over="ignore"):
        roll = cps[: max(0, len(cps) - n + 1)].copy()
        for k in range(1, n):
            roll *= POLY_BASE
            roll += cps[k : k + len(roll)]
        if not short.any():
            h = roll[starts]
            h ^= np.uint64(n)
            return mix64(h), doc
        full = ~short[doc]
        h = np.empty(len(starts), dtype=np.uint64)
        h[full] = roll[starts[full]]
        # a short document's one window is the whole text: width = its length
        some = np.nonzero(short & (lengths > 0))[0]
        at, width = batch.offsets[some], lengths[some]
        hs = np.zeros(len(some), dtype=np.uint64)
        for k in range(n - 1):
            hs = np.where(k < width, hs * POLY_BASE + cps[np.minimum(at + k, len(cps) - 1)], hs)
        h[~full] = hs
        h ^= np.where(full, np.uint64(n), lengths[doc].astype(np.uint64))
        return mix64(h), doc


def signatures(batch: CodepointBatch, params: MinHashParams) -> np.ndarray:
    """Signature of every document: an (n_docs, num_perm) uint32 array (all 0xFFFFFFFF for an empty text)."""
    p = params.num_perm
    sig = np.full((batch.n_docs, p), _EMPTY, dtype=np.uint32)
    seed = np.uint64(params.seed * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)
    fill_bins(batch.codepoints, batch.offsets.astype(np.int64), params.ngram, seed, sig)
    _densify(sig, params.seed)
    return sig


@numba.njit(nogil=True, cache=True, inline="always")
def mix64_scalar(h: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """`ngrams.mix64` on one value, for compiled loops."""
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


@numba.njit(nogil=True, cache=True)
def fill_bins(cps: np.ndarray, offsets: np.ndarray, n: int, seed: np.uint64, sig: np.ndarray) -> None:  # pragma: no cover
    """One pass over every document's shingles: the hash of `shingle_hashes`, mixed with the seed, picks
    a bin (its top 32 bits × num_perm) that keeps the minimum of its low 32 bits (the lowest bit cleared, so
    0xFFFFFFFF stays free to mean "empty"). Equal to the NumPy definition in `fill_bins_numpy` (tested)."""
    p = np.uint64(sig.shape[1])
    base = POLY_BASE
    for d in range(len(offsets) - 1):
        a, length = offsets[d], offsets[d + 1] - offsets[d]
        if length == 0:
            continue
        windows = length - n + 1 if length >= n else 1
        width = n if length >= n else length  # a short document's one shingle is its whole text
        for s in range(windows):
            h = np.uint64(0)
            for k in range(width):
                h = h * base + np.uint64(cps[a + s + k])
            h = mix64_scalar(mix64_scalar(h ^ np.uint64(width)) ^ seed)
            b = ((h >> np.uint64(32)) * p) >> np.uint64(32)
            v = np.uint32(h & np.uint64(0xFFFFFFFE))
            if v < sig[d, b]:
                sig[d, b] = v


@numba.njit(nogil=True, cache=True)
def sorted_shingle_sets(cps: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Each document's set of shingle hashes (those of `shingle_hashes`), sorted and unique, one document after
    another in one flat array; and the size of each set. One pass writing each document's hashes into its
    place, sorting and compacting them there: no document-index column, no whole-batch temporaries."""
    n_docs = len(offsets) - 1
    total = 0
    for d in range(n_docs):
        length = offsets[d + 1] - offsets[d]
        total += length - n + 1 if length >= n else min(length, 1)
    flat = np.empty(total, dtype=np.uint64)
    sizes = np.zeros(n_docs, dtype=np.int64)
    base = POLY_BASE
    pos = 0
    for d in range(n_docs):
        a, length = offsets[d], offsets[d + 1] - offsets[d]
        if length == 0:
            continue
        windows = length - n + 1 if length >= n else 1
        width = n if length >= n else length
        for s in range(windows):
            h = np.uint64(0)
            for k in range(width):
                h = h * base + np.uint64(cps[a + s + k])
            flat[pos + s] = mix64_scalar(h ^ np.uint64(width))
        seg = flat[pos : pos + windows]
        seg.sort()
        u = 1
        for i in range(1, windows):
            if seg[i] != seg[u - 1]:
                seg[u] = seg[i]
                u += 1
        sizes[d] = u
        pos += u  # the next document writes over this one's duplicates
    return flat[:pos], sizes


def fill_bins_numpy(batch: CodepointBatch, params: MinHashParams) -> np.ndarray:
    """The bins before densification, in NumPy from `shingle_hashes` (the definition `fill_bins` follows)."""
    p = params.num_perm
    h, doc = shingle_hashes(batch, params.ngram)
    h = mix64(h ^ np.uint64(params.seed * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF))
    bins = (((h >> np.uint64(32)) * np.uint64(p)) >> np.uint64(32)).astype(np.int64)
    vals = (h & np.uint64(0xFFFFFFFE)).astype(np.uint32)
    sig = np.full(batch.n_docs * p, _EMPTY, dtype=np.uint32)
    np.minimum.at(sig, doc * p + bins, vals)
    return sig.reshape(batch.n_docs, p)


def _densify(sig: np.ndarray, seed: int) -> None:
    """Fill empty bins in place from the first non-empty bin of a per-(bin, attempt) probe sequence."""
    empty = sig == _EMPTY
    has_any = ~empty.all(axis=1)
    rows, cols = np.nonzero(empty & has_any[:, None])
    if len(rows) == 0:
        return
    p = sig.shape[1]
    src = np.full(len(rows), -1, dtype=np.int64)
    pending = np.arange(len(rows))
    salt = np.uint64(seed) << np.uint64(48)
    for attempt in range(1, 4 * p * 8):  # a document with one non-empty bin needs about p·ln(p) attempts
        probe = (mix64(salt ^ (cols[pending].astype(np.uint64) << np.uint64(20)) ^ np.uint64(attempt))
                 % np.uint64(p)).astype(np.int64)
        hit = ~empty[rows[pending], probe]
        src[pending[hit]] = probe[hit]
        pending = pending[~hit]
        if len(pending) == 0:
            break
    if len(pending):  # astronomically rare: fall back to the row's first non-empty bin
        src[pending] = np.argmax(~empty[rows[pending]], axis=1)
    sig[rows, cols] = sig[rows, src]


def band_keys(sig: np.ndarray, params: MinHashParams) -> np.ndarray:
    """One 64-bit key per (document, band): the band's rows hashed together with the band index."""
    n = sig.shape[0]
    used = sig[:, : params.bands * params.rows].reshape(n, params.bands, params.rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = np.broadcast_to(np.arange(params.bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15), (n, params.bands))
        for r in range(params.rows):
            h = mix64(h ^ used[:, :, r])
    return np.ascontiguousarray(h)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Share of equal signature positions, row by row: the MinHash estimate of Jaccard similarity."""
    return (sig_a == sig_b).mean(axis=1)
