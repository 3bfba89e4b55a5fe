"""fastText backend: a supervised `.ftz`/`.bin` model → probabilities over the card's labels, a batch at a time.

A fastText classifier is linear up to its last step: the hidden vector is the mean of the input rows of a
line's words and word n-gram buckets, the logits are `output · hidden`. So `output` folds into the input
rows once at load (rows × labels, where labels < dimensions), and a batch's logits are sums of those rows
over every line at once, in one compiled pass per model (numba `_line_sums`: words, end-of-line token and
n-grams together, no tokens × labels temporary). Tokenisation (fastText's whitespace, its end-of-line
token, its FNV-1a word hashes, the n-gram hashes and their buckets per bucket count) is done once per batch
in `FastTextTokens` and shared by every model reading the same featurised text. The probabilities equal
fastText's own `predict` (`tests/unit/test_fasttext_engine.py`, every shipped model on real text); a
model this engine does not cover (character n-grams, hierarchical softmax) falls back to fastText's
`multilinePredict` on featurised lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import chain
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.models.fasttext_file import FastTextFile, read_fasttext

PREFIX = "__label__"
EOS = "</s>"  # fastText's end-of-line token, read where a line ends
_SPACE = r"[ \n\r\t\v\f\x00]+"  # the bytes fastText's readWord splits on
_NOT_SPACE_BAR = r"[\n\r\t\v\f\x00]"  # ... other than the space featurised lines use
_FNV_OFFSET, _FNV_PRIME = np.uint32(2166136261), np.uint32(16777619)


def ft_label(label: str) -> str:
    """A label as fastText spells it: prefixed, spaces as underscores (ESConv's "Providing Suggestions")."""
    return PREFIX + label.replace(" ", "_")


def load_fasttext(path: Path) -> object:
    """Load a fastText model file quietly (fastText prints a warning per load otherwise)."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # the load_model deprecation notice, once per actor
    return fasttext.load_model(str(path))


def fnv1a(strings: pa.Array) -> np.ndarray:
    """fastText's word hash (FNV-1a over UTF-8 bytes, each byte sign-extended) of every string, as int32."""
    strings = strings.cast(pa.large_string())
    _, offsets_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[strings.offset: strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buf, dtype=np.int8) if data_buf is not None else np.zeros(0, dtype=np.int8)
    lengths = np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")  # longest first: the strings still hashing are a prefix
    starts, lengths = offsets[order], lengths[order]
    h = np.full(len(order), _FNV_OFFSET, dtype=np.uint32)
    alive = len(order)
    for p in range(int(lengths[0]) if len(lengths) else 0):
        while alive and lengths[alive - 1] <= p:
            alive -= 1
        byte = data[starts[:alive] + p].astype(np.int32).view(np.uint32)
        h[:alive] = (h[:alive] ^ byte) * _FNV_PRIME
    out = np.empty_like(h)
    out[order] = h
    return out.view(np.int32)


def _offsets(line: np.ndarray, n: int) -> np.ndarray:
    """For a line-sorted array: where each of the n lines' runs starts, and the end (n + 1 offsets)."""
    # n + 1 binary searches in the sorted lines, where a bincount reads every token
    return np.searchsorted(line, np.arange(n + 1), side="left").astype(np.int64, copy=False)


@numba.njit(nogil=True, cache=True)
def _line_sums(matrix: np.ndarray, zero: int, vocab_rows: np.ndarray, ids: np.ndarray, offsets: np.ndarray,
               eos_row: int, gram_rows: np.ndarray, sums: np.ndarray, count: np.ndarray) -> None:  # pragma: no cover
    """For each line i (tokens `ids[offsets[i]:offsets[i+1]]`, then fastText's end-of-line token): sum the
    input row of every word and of every word n-gram into `sums[i]` (zeros on entry), and count the rows that
    are not the `zero` row, as fastText's `getLine` + `addWordNgrams` + `computeHidden` do, in one pass.

    `gram_rows[k - 2, p]` is the input row of the k-gram starting at position p of the lines laid end to end
    with their end-of-line tokens (`FastTextClassifier._gram_rows`).

    The zero row is added like any other (all zeros: the same sums, bit for bit, since a sum that starts at
    +0.0 is never -0.0), so no branch follows the pruned n-grams, which come in no pattern the CPU can learn.
    """
    if matrix.shape[1] == 2:  # most shipped models: the two sums stay in registers, not in `sums`
        _line_sums_2(matrix, zero, vocab_rows, ids, offsets, eos_row, gram_rows, sums, count)
        return
    width = matrix.shape[1]
    for i in range(len(offsets) - 1):
        start = offsets[i]
        length = offsets[i + 1] - start + 1  # the line's tokens and its end-of-line token
        pos = start + i  # where the line starts, end-of-line tokens included
        for t in range(length):
            r = np.int64(vocab_rows[ids[start + t]]) if t < length - 1 else np.int64(eos_row)
            for k in range(min(gram_rows.shape[0], length - 1 - t) + 1):  # the word, then the n-grams it starts
                if k > 0:
                    r = np.int64(gram_rows[k - 1, pos + t])
                count[i] += r != zero
                for j in range(width):
                    sums[i, j] += matrix[r, j]


@numba.njit(nogil=True, cache=True)
def _line_sums_2(matrix: np.ndarray, zero: int, vocab_rows: np.ndarray, ids: np.ndarray, offsets: np.ndarray,
                 eos_row: int, gram_rows: np.ndarray, sums: np.ndarray, count: np.ndarray) -> None:  # pragma: no cover
    """`_line_sums` for a two-column matrix: the same additions in the same order, held in two locals."""
    for i in range(len(offsets) - 1):
        start = offsets[i]
        length = offsets[i + 1] - start + 1
        pos = start + i
        a0 = a1 = 0.0
        c = 0
        for t in range(length):
            r = np.int64(vocab_rows[ids[start + t]]) if t < length - 1 else np.int64(eos_row)
            for k in range(min(gram_rows.shape[0], length - 1 - t) + 1):
                if k > 0:
                    r = np.int64(gram_rows[k - 1, pos + t])
                c += r != zero
                a0 += matrix[r, 0]
                a1 += matrix[r, 1]
        sums[i, 0], sums[i, 1], count[i] = a0, a1, c


_EOS_HASH = fnv1a(pa.array([EOS])).astype(np.int64).view(np.uint64)[0]  # widened as every word hash
_NGRAM_PRIME = np.uint64(116049371)


@numba.njit(nogil=True, cache=True)
def _roll(hashes: np.ndarray, ids: np.ndarray, offsets: np.ndarray, orders: int) -> np.ndarray:  # pragma: no cover
    """fastText's word n-gram hashes (`h = h * 116049371 + next word's hash`, uint64) of orders 2..orders + 1,
    for every position of the lines laid end to end with their end-of-line tokens; out[k - 2, p] starts at p.
    Positions whose n-gram would run past the line's end are 0 (never read).

    Each order is rolled from the one before over the whole batch in one flat pass (no per-line bounds in the
    loop), then the positions that ran past a line's end are zeroed."""
    n = len(offsets) - 1
    total = len(ids) + n
    words = np.empty(total, dtype=np.uint64)  # every position's word hash, end-of-line tokens included
    for i in range(n):
        start, pos = offsets[i], offsets[i] + i
        length = offsets[i + 1] - start
        for t in range(length):
            words[pos + t] = hashes[ids[start + t]]
        words[pos + length] = _EOS_HASH
    out = np.empty((orders, total), dtype=np.uint64)
    prev = words
    for k in range(orders):
        for p in range(total - k - 1):
            out[k, p] = prev[p] * _NGRAM_PRIME + words[p + k + 1]
        out[k, max(total - k - 1, 0):] = 0
        prev = out[k]
    for i in range(n):
        pos, length = offsets[i] + i, offsets[i + 1] - offsets[i]
        for k in range(orders):  # an order-(k + 2) gram from the line's last k + 1 words or its end runs past it
            out[k, pos + max(length - k, 0): pos + length + 1] = 0
    return out


class FastTextTokens:
    """fastText's reading of a batch of lines: the distinct tokens, each occurrence's token and line, and the
    distinct tokens' word hashes, computed once and shared by every model reading these lines. Every line
    ends in fastText's end-of-line token, which is implicit here (`_line_sums` reads it).

    Built from featurised lines (`from_lines`, fastText's own whitespace split) or straight from token ids
    (`curate.models.features.tokens`, which skips building the lines)."""

    def __init__(self, vocab: pa.Array, ids: np.ndarray, line: np.ndarray, n: int) -> None:
        """`ids[i]` indexes `vocab`, `line[i]` (non-decreasing) is its line; lines are 0..n-1."""
        self.n = n
        self.vocab = vocab.cast(pa.large_string())
        ids, line = ids.astype(np.int64, copy=False), line.astype(np.int64, copy=False)  # read only: no copy
        # a token spelled like a label is no word: fastText skips it, n-grams included
        label = pc.starts_with(self.vocab, PREFIX).to_numpy(zero_copy_only=False)
        if label.any():
            keep = ~label[ids]
            ids, line = ids[keep], line[keep]
        self.ids, self.line = ids, line
        self.offsets = _offsets(line, n)
        # fastText keeps word hashes as int32 and widens them to uint64 with sign extension
        self.hashes = fnv1a(self.vocab).astype(np.int64).view(np.uint64)
        self._grams: dict[int, np.ndarray] = {}  # bucket count → n-gram buckets of orders 2.., as computed
        self._rolled_hashes: np.ndarray | None = None

    @classmethod
    def from_lines(cls, lines: Sequence[str]) -> FastTextTokens:
        """Split lines as fastText does (its whitespace bytes, empty tokens dropped)."""
        arr = pa.array(lines, type=pa.large_string())
        # featurised lines separate tokens by single spaces; the regex split only where other whitespace is left
        other = len(arr) and pc.any(pc.match_substring_regex(arr, _NOT_SPACE_BAR)).as_py()
        split = pc.split_pattern_regex(arr, _SPACE) if other else pc.split_pattern(arr, " ")
        flat = pc.list_flatten(split)
        line = pc.list_parent_indices(split).to_numpy()
        nonempty = pc.greater(pc.binary_length(flat), 0)
        flat, line = flat.filter(nonempty), line[nonempty.to_numpy(zero_copy_only=False)]
        encoded = pc.dictionary_encode(flat)
        return cls(encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False), line, len(lines))

    def grams(self, word_ngrams: int, bucket: int) -> np.ndarray:
        """`grams[k - 2, p]`: fastText's bucket (`h % bucket`) of the k-gram, k = 2..word_ngrams, starting at
        position p of the lines laid end to end, each closed by its end-of-line token (an n-gram running past
        its line's end is never read). Each order's buckets are computed once per batch for every model
        sharing that bucket count."""
        orders = max(word_ngrams - 1, 0)
        got = self._grams.get(bucket)
        if got is None or len(got) < orders:  # NumPy divides by a scalar quickly (libdivide)
            got = self._grams[bucket] = (self._rolled(word_ngrams) % np.uint64(max(bucket, 1))).view(np.int64)
        return got[:orders]

    def _rolled(self, word_ngrams: int) -> np.ndarray:
        """The n-gram hashes before `% bucket`, orders 2..word_ngrams (at least those), computed once."""
        if self._rolled_hashes is None or len(self._rolled_hashes) < max(word_ngrams - 1, 0):
            self._rolled_hashes = _roll(self.hashes, self.ids, self.offsets, word_ngrams - 1)
        return self._rolled_hashes


def _is_utf8(word: str) -> bool:
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_SIGMOID = 1 / (1 + np.exp(-(np.arange(513) * 16 / 512 - 8)))  # fastText's sigmoid table (ova loss)


def _table_sigmoid(x: np.ndarray) -> np.ndarray:
    i = ((np.clip(x, -8, 8) + 8) * 512 / 16).astype(np.int64)
    return np.where(x < -8, 0.0, np.where(x > 8, 1.0, _SIGMOID[np.minimum(i, 512)]))


class FastTextClassifier:
    """`predict_proba(lines)` over featurised lines (or their `FastTextTokens`); column order = `labels`."""

    def __init__(self, path: Path, labels: Sequence[str]) -> None:
        self.path = Path(path)
        self.file: FastTextFile = read_fasttext(path)
        self.labels = list(labels)
        known = set(self.file.labels)
        # a label of the card the training data never had (CPED's train split has no elderly speaker)
        # gets probability 0; a model sharing no label with its card is an error
        self.unseen = sorted(lab for lab in self.labels if ft_label(lab) not in known)
        if len(self.unseen) == len(self.labels):
            raise ValueError(f"{path}: the model has none of the card's labels {self.labels}; it has {sorted(known)}")
        # labels the card does not use land in a spare last column that is dropped
        self._index = {lab: len(self.labels) for lab in self.file.labels}
        self._index.update({ft_label(lab): i for i, lab in enumerate(self.labels)})
        self._columns = np.array([self._index[lab] for lab in self.file.labels], dtype=np.int64)
        self.native = self.file.maxn <= 0 and self.file.loss in ("softmax", "ova")
        if self.native:
            self._word_row = {w: i for i, w in enumerate(self.file.words)}
            n_labels, dim = self.file.output.shape
            # with fewer labels than dimensions, the output layer folds into the input rows (logits = their mean)
            self._fold = n_labels < dim
            matrix = (self.file.input @ self.file.output.T).astype(np.float32) if self._fold else self.file.input
            # a last all-zero row stands for "adds nothing" (unknown word, pruned n-gram): no filtering per batch
            self._zero = len(matrix)
            self._eos_row = self._word_row.get(EOS, self._zero)
            self._matrix = np.vstack([matrix, np.zeros((1, matrix.shape[1]), dtype=np.float32)])
            self.file = replace(self.file, input=self.file.input[:0])  # its rows live on in _matrix (memory)
            # the words as an Arrow set and their rows (then the zero row, for a token not among them); a word
            # that is not UTF-8 (kept as surrogate escapes) can equal no token, which Arrow holds as UTF-8
            words = [w for w in self._word_row if _is_utf8(w)]
            self._word_set = pa.array(words, type=pa.large_string())
            self._word_set_rows = np.array([*map(self._word_row.__getitem__, words), self._zero], dtype=np.int32)
            self._bucket_row = None  # n-gram bucket → input row, where quantisation pruned the buckets
            if self.file.prune_keys is not None:
                self._bucket_row = np.full(self.file.bucket, self._zero, dtype=np.int32)
                self._bucket_row[self.file.prune_keys] = len(self.file.words) + self.file.prune_rows
        else:
            self.model = load_fasttext(path)

    def predict_proba(self, lines: Sequence[str] | FastTextTokens) -> np.ndarray:
        """Probabilities (n × labels), as fastText's `predict(k=-1)` gives them, for a whole batch at once."""
        n, k = len(lines) if not isinstance(lines, FastTextTokens) else lines.n, len(self.labels)
        out = np.zeros((n, k + 1), dtype=np.float32)
        if not n:
            return out[:, :k]
        if not self.native:
            return self._predict_fasttext(lines, out)
        tokens = lines if isinstance(lines, FastTextTokens) else FastTextTokens.from_lines(lines)
        out[:, self._columns] = self._proba(tokens)
        return np.clip(out[:, :k], 0.0, 1.0)

    def _word_rows(self, tokens: FastTextTokens) -> np.ndarray:
        """The input row of each distinct token of the batch (the zero row for a word the model does not know),
        looked up in the model's words in one Arrow `index_in`: hashing the model's few thousand words per call
        costs less than a Python dictionary lookup per token."""
        at = pc.index_in(tokens.vocab, value_set=self._word_set).fill_null(len(self._word_set))
        return self._word_set_rows[at.to_numpy(zero_copy_only=False)]

    def _gram_rows(self, tokens: FastTextTokens) -> np.ndarray:
        """The input row of every n-gram bucket of `tokens.grams` (orders 2.., every position): a bucket's row is
        `len(words) + bucket`, or `_bucket_row[bucket]` where quantisation pruned the buckets (a pruned one maps to
        the zero row). Looked up in one gather before `_line_sums`, whose loop then reads rows in order."""
        f = self.file
        grams = tokens.grams(f.word_ngrams if f.bucket > 0 else 1, f.bucket)
        return self._bucket_row[grams] if self._bucket_row is not None else grams + len(f.words)

    def _proba(self, tokens: FastTextTokens) -> np.ndarray:
        n = tokens.n
        sums = np.zeros((n, self._matrix.shape[1]), dtype=np.float64)
        count = np.zeros(n, dtype=np.int64)
        _line_sums(self._matrix, self._zero, self._word_rows(tokens), tokens.ids, tokens.offsets, self._eos_row,
                   self._gram_rows(tokens), sums, count)
        hidden = sums / np.maximum(count, 1)[:, None]
        logits = hidden if self._fold else hidden @ self.file.output.T.astype(np.float64)
        if self.file.loss == "softmax":
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
        else:
            p = _table_sigmoid(logits)
        # fastText reports exp(log(p + 1e-5)); a line with no known row gets no prediction at all
        return np.where(count[:, None] > 0, p + 1e-5, 0.0).astype(np.float32)

    def _predict_fasttext(self, lines: Sequence[str] | FastTextTokens, out: np.ndarray) -> np.ndarray:
        if isinstance(lines, FastTextTokens):
            raise TypeError(f"{self.path}: a model outside the batch engine (character n-grams or hs loss) reads lines")
        n, k = out.shape[0], len(self.labels)
        # fastText reads a line up to its "\n" and adds the end-of-sentence token there, as in training
        labs, probs = self.model.f.multilinePredict([line + "\n" for line in lines], -1, 0.0, "replace")
        counts = np.fromiter(map(len, labs), dtype=np.int64, count=n)
        cols = np.fromiter(map(self._index.__getitem__, chain.from_iterable(labs)), dtype=np.int64, count=int(counts.sum()))
        vals = np.fromiter(chain.from_iterable(probs), dtype=np.float32, count=int(counts.sum()))
        out[np.repeat(np.arange(n), counts), cols] = vals
        return np.clip(out[:, :k], 0.0, 1.0)
