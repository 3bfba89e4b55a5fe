"""Platt scaling of a binary model's probability: p' = sigmoid(a · logit(p) + b), fitted by log loss.

fastText's softmax is over-confident after many epochs; two parameters fitted on a slice held out of
the training data fix most of it without touching the ranking (Platt 1999; Guo et al. 2017).

`platt_length` adds the text's length: p' = sigmoid(a · logit(p) + b + c · log(1 + characters)). A
fastText model averages its n-gram vectors, so it cannot tell a one-line comment from a page of the same
prose; where the thing scored depends on substance (quality: thin text is medium), the calibration
carries it. Targets may be fractional (a reader's medium as 0.5): the log loss is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize

EPS = 1e-6
METHODS = ("platt", "platt_length")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def log_length(texts: Sequence[str | None]) -> np.ndarray:
    """log(1 + characters) of each text: the length feature of `platt_length`."""
    return np.log1p(np.fromiter((len(t or "") for t in texts), dtype=np.float64, count=len(texts)))


def fit_platt(p: np.ndarray, y: np.ndarray, length: np.ndarray | None = None) -> dict[str, float]:
    """Fit a, b (and c, given `length` = `log_length(texts)`) on probabilities `p` and outcomes `y` in
    [0, 1]; deterministic (BFGS from a=1, b=0, c=0)."""
    x = _logit(np.asarray(p, dtype=np.float64))
    t = np.asarray(y, dtype=np.float64)
    if length is None:
        return _fit_ab(x, t)
    design = np.stack([x, np.ones_like(x), np.asarray(length, dtype=np.float64)], axis=1)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        q = 1 / (1 + np.exp(-(design @ w)))
        ll = -np.mean(t * np.log(np.clip(q, EPS, 1)) + (1 - t) * np.log(np.clip(1 - q, EPS, 1)))
        return float(ll), design.T @ (q - t) / len(t)

    res = minimize(loss, np.array([1.0, 0.0, 0.0]), jac=True, method="BFGS")
    return {"method": "platt_length", "a": round(float(res.x[0]), 6), "b": round(float(res.x[1]), 6),
            "c": round(float(res.x[2]), 6)}


def _fit_ab(x: np.ndarray, t: np.ndarray) -> dict[str, float]:
    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * x + ab[1]
        q = 1 / (1 + np.exp(-z))
        ll = -np.mean(t * np.log(np.clip(q, EPS, 1)) + (1 - t) * np.log(np.clip(1 - q, EPS, 1)))
        g = q - t
        return float(ll), np.array([np.mean(g * x), np.mean(g)])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="BFGS")
    return {"method": "platt", "a": round(float(res.x[0]), 6), "b": round(float(res.x[1]), 6)}


def needs_length(calibration: dict | None) -> bool:
    """True when the calibration reads the texts' lengths."""
    return bool(calibration) and calibration.get("method") == "platt_length"


def apply_calibration(p: np.ndarray, calibration: dict[str, float] | None,
                      length: np.ndarray | None = None) -> np.ndarray:
    """Calibrated probabilities (identity when `calibration` is None); `platt_length` needs `length`."""
    if not calibration:
        return p
    method = calibration.get("method")
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}")
    z = calibration["a"] * _logit(np.asarray(p, dtype=np.float64)) + calibration["b"]
    if method == "platt_length":
        if length is None:
            raise ValueError("calibration platt_length needs the texts' lengths")
        z = z + calibration["c"] * np.asarray(length, dtype=np.float64)
    return (1 / (1 + np.exp(-z))).astype(np.float32)
