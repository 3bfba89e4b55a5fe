"""A linear text score over hashed character n-grams, for a whole batch at once with NumPy.

Each text becomes TF-IDF weights of its character 1-, 2- and 3-grams (whitespace dropped) hashed into
`buckets` (sublinear term frequency 1 + ln tf, L2-normalised per text); the score is their dot product with
one weight per bucket plus an intercept. Fitted as ridge regression in its dual form (`fit_ridge`), which is
cheap with a few hundred labelled texts and many buckets. The dialogue-quality model reads it as one feature
(fastText did worse on a few hundred dialogues: `experiments/dialogue_quality.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curate.stages import ngrams

NGRAMS = (1, 2, 3)
BUCKETS = 1 << 16


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
    keep = ~np.isin(cps, np.array([9, 10, 11, 12, 13, 32, 0x3000, 0xA0], dtype=np.uint32))
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
        """The score of each text."""
        f = features(texts, self.idf, self.n_sizes)
        return np.bincount(f.doc, weights=f.value * self.weights[f.bucket], minlength=f.n) + self.intercept

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


def fit_ridge(texts: list[str], y: np.ndarray, idf: np.ndarray, alpha: float) -> HashedTextModel:
    """Ridge regression of `y` on the texts' features (dual form: one solve of size len(texts))."""
    from scipy import sparse

    f = features(texts, idf)
    m = sparse.csr_matrix((f.value, (f.doc, f.bucket)), shape=(f.n, len(idf)))
    gram = (m @ m.T).toarray()
    mean = float(np.mean(y))
    dual = np.linalg.solve(gram + alpha * np.eye(f.n), y - mean)
    return HashedTextModel(idf, np.asarray(m.T @ dual).ravel(), mean)
