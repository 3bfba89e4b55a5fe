"""Imported first by the single-core benches: every native thread pool (Polars, Arrow, BLAS, Rayon, numba)
gets one thread, which only holds if set before those libraries load."""

import os

ONE_THREAD = ("POLARS_MAX_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "RAYON_NUM_THREADS", "ARROW_NUM_THREADS", "NUMBA_NUM_THREADS")
for _var in ONE_THREAD:
    os.environ[_var] = "1"
