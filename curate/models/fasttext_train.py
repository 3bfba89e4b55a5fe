"""fastText training in a fresh child process, so each model is trained on clean memory.

fasttext-numpy2 0.10.4 reads uninitialised memory while training: a second training in the same process
can differ from the first (or hit NaN). Each training therefore runs in its own spawned process, where
glibc is also told to hand out zero-filled memory (mallopt M_PERTURB); the same config and data then give
the same bytes every time, whatever ran before in the parent. Unsupervised training (word vectors for a
supervised model's `pretrainedVectors`) runs the same way and writes the vectors as a `.vec` text file.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
from pathlib import Path
from typing import Any

M_PERTURB = -6  # glibc mallopt: fill allocations with (byte ^ 0xFF); 0xFF gives zeroed memory


def _zero_fill_allocations() -> None:
    with contextlib.suppress(OSError):  # not glibc: a fresh process is still clean enough
        ctypes.CDLL("libc.so.6").mallopt(M_PERTURB, 0xFF)


def _train(lines: str, out: str, seed: int, params: dict[str, Any], quantize: dict[str, Any] | None) -> None:
    _zero_fill_allocations()
    import fasttext

    model = fasttext.train_supervised(input=lines, thread=1, seed=seed, verbose=0, **params)
    if quantize is not None:
        model.quantize(input=lines, thread=1, verbose=0, **quantize)
    model.save_model(out)


def train_fasttext(lines: Path, out: Path, *, seed: int, params: dict[str, Any],
                   quantize: dict[str, Any] | None) -> None:
    """Train a supervised model on a fastText-format file (one thread), quantise it, save it to `out`."""
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_train, args=(str(lines), str(out), seed, params, quantize), daemon=True)
    proc.start()
    proc.join()
    if proc.exitcode != 0 or not out.is_file():
        raise RuntimeError(f"fastText training of {out.name} failed in its child process (exit code {proc.exitcode})")


def _train_vectors(lines: str, out: str, params: dict[str, Any], prefixes: tuple[str, ...]) -> None:
    _zero_fill_allocations()
    import fasttext

    model = fasttext.train_unsupervised(input=lines, thread=1, verbose=0, **params)
    words = model.get_words()
    vectors = model.get_input_matrix()[: len(words)]  # a word's own row (get_word_vector adds its subwords)
    rows = [" ".join(f"{x:.6g}" for x in v) for v in vectors.tolist()]
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"{len(words) * len(prefixes)} {vectors.shape[1]}\n")
        for prefix in prefixes:
            f.writelines(f"{prefix}{w} {r}\n" for w, r in zip(words, rows, strict=True))


def train_vectors(lines: Path, out: Path, *, params: dict[str, Any], prefixes: tuple[str, ...] = ("",)) -> None:
    """Train unsupervised word vectors on a file of space-separated tokens (one thread) and write them to `out`
    in fastText's `.vec` format (a `count dim` line, then `word v1 .. vdim` lines), every word once per
    prefix in `prefixes` (a supervised model that reads prefixed copies of the same tokens starts them alike).
    No seed: the binding's `train_unsupervised` takes none (fastText's seed 0); one thread makes it repeatable."""
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_train_vectors, args=(str(lines), str(out), params, tuple(prefixes)), daemon=True)
    proc.start()
    proc.join()
    if proc.exitcode != 0 or not out.is_file():
        raise RuntimeError(f"fastText vector training of {out.name} failed in its child process (exit code {proc.exitcode})")
