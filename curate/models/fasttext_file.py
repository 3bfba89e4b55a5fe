"""Read a supervised fastText model file (`.bin` or quantised `.ftz`) into NumPy arrays.

fastText's Python API cannot export a quantised model's matrices nor its pruned n-gram index, so the file
is read here, following fastText 0.9's `FastText::saveModel` (format version 12) field by field. The
result feeds `fasttext_backend`, which predicts for a whole batch at once; `tests/unit/test_fasttext_engine.py`
checks its probabilities against fastText's own `predict` on the shipped models.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = 793712314
VERSION = 12
LOSSES = {1: "hs", 2: "ns", 3: "softmax", 4: "ova"}
SUPERVISED = 3
KSUB = 256  # centroids per product-quantiser sub-space (fastText's fixed 8-bit codes)


@dataclass(frozen=True)
class FastTextFile:
    """What prediction needs from a supervised model file."""

    loss: str
    word_ngrams: int
    bucket: int
    minn: int
    maxn: int
    words: list[str]  # input rows 0..nwords-1, in dictionary order
    labels: list[str]  # output rows, in dictionary order ("__label__x")
    prune_keys: np.ndarray | None  # sorted n-gram buckets kept by quantisation (None: not pruned, all kept)
    prune_rows: np.ndarray | None  # their rows after the words
    input: np.ndarray  # (rows × dim) float32, dequantised
    output: np.ndarray  # (labels × dim) float32, dequantised


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: truncated fastText model file (at byte {self.pos})")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: truncated fastText model file (at byte {self.pos})")
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += size
        return out

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ValueError(f"{self.path}: truncated fastText model file (at byte {self.pos})")
        s = self.data[self.pos:end].decode("utf-8", errors="surrogateescape")
        self.pos = end + 1
        return s


def _product_quantizer(r: _Reader) -> tuple[int, int, int, int, np.ndarray]:
    dim, nsubq, dsub, lastdsub = r.take("<4i")
    return dim, nsubq, dsub, lastdsub, r.array(np.float32, dim * KSUB)


def _dequantise(codes: np.ndarray, rows: int, pq: tuple[int, int, int, int, np.ndarray]) -> np.ndarray:
    """Rows of a product-quantised matrix (fastText's `ProductQuantizer::addcode`, every row at once)."""
    dim, nsubq, dsub, lastdsub, centroids = pq
    codes = codes.reshape(rows, nsubq)
    out = np.empty((rows, dim), dtype=np.float32)
    for m in range(nsubq):
        d = lastdsub if m == nsubq - 1 else dsub
        table = centroids[m * KSUB * dsub: m * KSUB * dsub + KSUB * d].reshape(KSUB, d)
        out[:, m * dsub: m * dsub + d] = table[codes[:, m]]
    return out


def _matrix(r: _Reader, quantised: bool) -> np.ndarray:
    if not quantised:
        m, n = r.take("<qq")
        return r.array(np.float32, m * n).reshape(m, n)
    qnorm = r.take("<?")[0]
    m, _n = r.take("<qq")
    codesize = r.take("<i")[0]
    codes = r.array(np.uint8, codesize)
    rows = _dequantise(codes, m, _product_quantizer(r))
    if qnorm:
        norm_codes = r.array(np.uint8, m)
        norms = _dequantise(norm_codes, m, _product_quantizer(r))
        rows *= norms
    return rows


def read_fasttext(path: str | Path) -> FastTextFile:
    """Parse a supervised fastText model file; a clear error for anything else."""
    path = Path(path)
    r = _Reader(path.read_bytes(), path)
    magic, version = r.take("<ii")
    if magic != MAGIC or version != VERSION:
        raise ValueError(f"{path}: not a fastText model file of format version {VERSION} "
                         f"(magic {magic}, version {version})")
    (_dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _lr_update, _t
     ) = r.take("<12id")
    if model != SUPERVISED:
        raise ValueError(f"{path}: a fastText {('cbow', 'skipgram')[model - 1]} model, not a supervised classifier")
    size, nwords, _nlabels, _ntokens, prune_size = r.take("<iiiqq")
    words: list[str] = []
    labels: list[str] = []
    for _ in range(size):
        word = r.cstring()
        _count, kind = r.take("<qb")
        (labels if kind == 1 else words).append(word)
    prune_keys = prune_rows = None
    if prune_size >= 0:  # -1: never pruned; 0: pruned of every n-gram
        pairs = r.array(np.int32, 2 * prune_size).reshape(prune_size, 2)
        order = np.argsort(pairs[:, 0], kind="stable")
        prune_keys, prune_rows = pairs[order, 0].astype(np.int64), pairs[order, 1].astype(np.int64)
    quant_input = r.take("<?")[0]
    matrix_in = _matrix(r, quant_input)
    quant_output = r.take("<?")[0]
    matrix_out = _matrix(r, quant_output)
    if len(words) != nwords or matrix_out.shape[0] != len(labels):
        raise ValueError(f"{path}: inconsistent fastText model file ({nwords} words declared, {len(words)} read; "
                         f"{len(labels)} labels, {matrix_out.shape[0]} output rows)")
    return FastTextFile(loss=LOSSES.get(loss, str(loss)), word_ngrams=word_ngrams, bucket=bucket, minn=minn, maxn=maxn,
                        words=words, labels=labels, prune_keys=prune_keys, prune_rows=prune_rows,
                        input=matrix_in, output=matrix_out)
