"""fastText training in a fresh child process, so each model is trained on clean memory.

fasttext-numpy2 0.10.4 reads uninitialised memory while training: a second training in the same process
can differ from the first (or hit NaN). Each training therefore runs in its own spawned process, where
glibc is also told to hand out zero-filled memory (mallopt M_PERTURB); the same config and data then give
the same bytes every time, whatever ran before in the parent.
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
