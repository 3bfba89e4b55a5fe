"""A linear text score over hashed character n-grams, for a whole batch at once with NumPy.

Each text becomes TF-IDF weights of its character 1-, 2- and 3-grams (whitespace dropped) hashed into
`buckets` (sublinear term frequency 1 + ln tf, L2-normalised per text); the score is their dot product with
one weight per bucket plus an intercept. Fitted as ridge regression in its dual form (`fit_ridge`), which is
cheap with a few hundred labelled texts and many buckets. The dialogue-quality model reads it as one feature
(fastText did worse on a few hundred dialogues: `experiments/dialogue_quality.py`).

`features` builds the sparse matrix (training); `HashedTextModel.score` computes the same sums text by text in
one compiled pass (`_scores`), without the matrix: the same floats, summed in the same order (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from curate.stages import ngrams
from curate.stages.minhash import mix64_scalar
from curate.stages.ngrams import POLY_BASE

NGRAMS = (1, 2, 3)
BUCKETS = 1 << 16
_SPACE = np.array([9, 10, 11, 12, 13, 32, 0x3000, 0xA0], dtype=np.uint32)  # dropped before the n-grams


@dataclass(frozen=True)
class HashedFeatures:
    """A batch's sparse features: for each (text, bucket) pair present, its weight."""

    n: int
    doc: np.ndarray  # int64
    bucket: np.ndarray  # int64
    value: np.ndarray  # float64


def _counts(texts: list[str] | pa.Array, n_sizes: tuple[int, ...], buckets: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """(n, doc, bucket, tf) of the hashed n-grams of `texts` (whitespace removed first)."""
    arr = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(texts, pa.string())
    batch = ngrams.to_codepoints(arr)
    n = batch.n_docs
    doc_of = np.repeat(np.arange(n, dtype=np.int64), batch.lengths)
    cps = batch.codepoints
    keep = ~np.isin(cps, _SPACE)
    cps, doc_of = cps[keep].astype(np.uint64), doc_of[keep]
    lengths = np.bincount(doc_of, minlength=n)
    starts = np.concatenate([[0], np.cumsum(lengths)])[:-1]
    pos = np.arange(len(cps), dtype=np.int64) - starts[doc_of] if len(cps) else np.zeros(0, dtype=np.int64)
    keys = []
    with np.errstate(over="ignore"):
        for size in n_sizes:
            m = len(cps) - size + 1
            if m <= 0:
                continue
            h = np.zeros(m, dtype=np.uint64)
            for j in range(size):  # polynomial hash of each window, then mixed over 64 bits
                h = h * ngrams.POLY_BASE + cps[j:j + m]
            h = ngrams.mix64(h ^ np.uint64(size))
            valid = pos[:m] <= lengths[doc_of[:m]] - size
            keys.append(doc_of[:m][valid] * buckets + (h[valid] % np.uint64(buckets)).astype(np.int64))
    if not keys:
        return n, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    uniq, tf = np.unique(np.concatenate(keys), return_counts=True)
    return n, uniq // buckets, uniq % buckets, tf.astype(np.float64)


def features(texts: list[str] | pa.Array, idf: np.ndarray, n_sizes: tuple[int, ...] = NGRAMS) -> HashedFeatures:
    """TF-IDF features of `texts` with the given inverse document frequencies (one per bucket)."""
    n, doc, bucket, tf = _counts(texts, n_sizes, len(idf))
    value = (1.0 + np.log(tf)) * idf[bucket]
    norm = np.sqrt(np.bincount(doc, weights=value * value, minlength=n))
    value = value / np.where(norm > 0, norm, 1.0)[doc]
    return HashedFeatures(n, doc, bucket, value)


def document_frequency_idf(texts: list[str] | pa.Array, buckets: int = BUCKETS,
                           n_sizes: tuple[int, ...] = NGRAMS) -> np.ndarray:
    """Smoothed inverse document frequency per bucket over a corpus: ln((1 + N) / (1 + df)) + 1."""
    n, _, bucket, _ = _counts(texts, n_sizes, buckets)
    df = np.bincount(bucket, minlength=buckets)
    return np.log((1.0 + n) / (1.0 + df)) + 1.0


@dataclass
class HashedTextModel:
    """score(text) = features(text) · weights + intercept."""

    idf: np.ndarray
    weights: np.ndarray
    intercept: float
    n_sizes: tuple[int, ...] = NGRAMS

    def score(self, texts: list[str] | pa.Array) -> np.ndarray:
        """The score of each text: `features(texts) · weights + intercept`, text by text (`_scores`)."""
        arr = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(texts, pa.string())
        batch = ngrams.to_codepoints(arr)
        sizes = np.asarray(self.n_sizes, dtype=np.int64)
        # 1 + ln tf from NumPy's log, as `features` takes it (a compiled log may differ in the last bit)
        most = int(batch.lengths.max(initial=0)) * len(sizes)
        sublinear = 1.0 + np.log(np.arange(1, most + 2, dtype=np.float64))
        return _scores(batch.codepoints, batch.offsets, sizes, _SPACE, self.idf, self.weights, sublinear,
                       self.intercept)

    def save(self, path: str) -> None:
        """Write the model as a compressed NumPy archive."""
        np.savez_compressed(path, idf=self.idf.astype(np.float32), weights=self.weights.astype(np.float32),
                            intercept=np.float64(self.intercept), n_sizes=np.array(self.n_sizes))

    @classmethod
    def load(cls, path: str) -> HashedTextModel:
        """Read a model written by `save`."""
        with np.load(path) as z:
            return cls(z["idf"].astype(np.float64), z["weights"].astype(np.float64), float(z["intercept"]),
                       tuple(int(x) for x in z["n_sizes"]))


@numba.njit(nogil=True, cache=True)
def _sort_buckets(keys: np.ndarray, spare: np.ndarray, m: int, passes: int) -> np.ndarray:  # pragma: no cover - compiled
    """`keys[:m]` (bucket numbers below 256 ** passes) sorted, by LSD radix sort a byte at a time through
    `spare`: linear in m, where np.sort's comparisons were most of the score's time."""
    src, dst = keys, spare
    count = np.empty(257, dtype=np.int64)
    for p in range(passes):
        shift = 8 * p
        count[:] = 0
        for i in range(m):
            count[((src[i] >> shift) & 255) + 1] += 1
        for c in range(256):
            count[c + 1] += count[c]
        for i in range(m):
            byte = (src[i] >> shift) & 255
            dst[count[byte]] = src[i]
            count[byte] += 1
        src, dst = dst, src
    return src[:m]


@numba.njit(nogil=True, cache=True)
def _scores(cps: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, space: np.ndarray, idf: np.ndarray,
            weights: np.ndarray, sublinear: np.ndarray, intercept: float) -> np.ndarray:  # pragma: no cover - compiled
    """Each text's score from its code points: its n-grams hashed as `_counts` does and counted per bucket,
    then TF-IDF, the L2 norm and the dot product summed over its buckets in ascending order, as `np.bincount`
    sums `features`' sorted rows (so the floats are those of the matrix form).
    `sublinear[k - 1]` = 1 + ln k."""
    n_docs = len(offsets) - 1
    out = np.empty(n_docs, dtype=np.float64)
    most = 0
    for d in range(n_docs):
        most = max(most, offsets[d + 1] - offsets[d])
    text = np.empty(most, dtype=np.uint64)
    tf = np.zeros(len(idf), dtype=np.int64)  # per bucket, zeroed again after each text
    seen = np.empty(most * len(sizes), dtype=np.int64)  # the text's distinct buckets
    spare = np.empty_like(seen)
    passes = 1
    while len(idf) - 1 >= 1 << (8 * passes):
        passes += 1
    buckets = np.uint64(len(idf))
    low = buckets - np.uint64(1)
    pow2 = (buckets & low) == 0  # then h % buckets is h & low, without a 64-bit division per n-gram
    for d in range(n_docs):
        length = 0
        for i in range(offsets[d], offsets[d + 1]):
            c = cps[i]
            blank = False
            for s in space:
                if c == s:
                    blank = True
            if not blank:
                text[length] = np.uint64(c)
                length += 1
        m = 0
        for size in sizes:
            for start in range(length - size + 1):
                h = np.uint64(0)
                for j in range(size):
                    h = h * POLY_BASE + text[start + j]
                h = mix64_scalar(h ^ np.uint64(size))
                b = np.int64(h & low if pow2 else h % buckets)
                if tf[b] == 0:
                    seen[m] = b
                    m += 1
                tf[b] += 1
        grams = _sort_buckets(seen, spare, m, passes)
        norm2 = 0.0
        for b in grams:  # first pass: the squared L2 norm
            v = sublinear[tf[b] - 1] * idf[b]
            norm2 += v * v
        norm = np.sqrt(norm2)
        if not norm > 0:
            norm = 1.0
        total = 0.0
        for b in grams:  # second pass: the dot product with the normalised values
            total += sublinear[tf[b] - 1] * idf[b] / norm * weights[b]
            tf[b] = 0
        out[d] = total + intercept
    return out


def fit_ridge(texts: list[str], y: np.ndarray, idf: np.ndarray, alpha: float) -> HashedTextModel:
    """Ridge regression of `y` on the texts' features (dual form: one solve of size len(texts))."""
    from scipy import sparse

    f = features(texts, idf)
    m = sparse.csr_matrix((f.value, (f.doc, f.bucket)), shape=(f.n, len(idf)))
    gram = (m @ m.T).toarray()
    mean = float(np.mean(y))
    dual = np.linalg.solve(gram + alpha * np.eye(f.n), y - mean)
    return HashedTextModel(idf, np.asarray(m.T @ dual).ravel(), mean)
