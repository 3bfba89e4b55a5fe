"""A label-shift correction of a distribution: softmax(log q + b), one log-bias b per label.

The record-level emotion of a help-seeker's dialogue is the weighted mean of the turn model's probabilities, and
the turn model's label priors were learnt on other text (TV turns, Weibo posts); b moves them to a help-seeker's,
fitted on whole dialogues labelled by reading (experiments/README.md, "A record-level label-shift correction").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FLOOR = 1e-9  # the least probability a label keeps before the log: a 0 would stay 0 whatever its bias


def apply_log_bias(scores: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Rows of `scores` (distributions, label order) corrected to softmax(log q + bias), as float32."""
    logits = np.log(np.maximum(scores.astype(np.float64), FLOOR)) + bias
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def bias_vector(bias: Mapping[str, float], labels: Sequence[str]) -> np.ndarray:
    """A card's `record_bias` mapping as a vector in `labels` order (a label it does not name: 0)."""
    unknown = set(bias) - set(labels)
    if unknown:
        raise ValueError(f"record_bias names labels not in the label set: {sorted(unknown)}")
    return np.array([float(bias.get(lab, 0.0)) for lab in labels], dtype=np.float64)


def fit_log_bias(scores: np.ndarray, gold: np.ndarray, l2: float, tol: float = 1e-8, max_iter: int = 100
                 ) -> np.ndarray:
    """The b minimising the mean negative log-likelihood of the `gold` label indices under softmax(log q + b)
    plus (l2 / 2)·‖b‖², by Newton's method with step halving (the objective is convex; l2 > 0 makes it strictly
    so, and keeps the bias of a label no row is labelled with finite)."""
    if l2 <= 0:
        raise ValueError("l2 must be positive")
    n, k = scores.shape
    logq = np.log(np.maximum(scores.astype(np.float64), FLOOR))
    onehot = np.zeros((n, k))
    onehot[np.arange(n), gold] = 1.0

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = logq + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-(logp * onehot).sum() / n + 0.5 * l2 * b @ b), np.exp(logp)

    b = np.zeros(k)
    value, p = objective(b)
    for _ in range(max_iter):
        grad = (p - onehot).mean(axis=0) + l2 * b
        if np.linalg.norm(grad) < tol:
            break
        hess = (np.diag(p.sum(axis=0)) - p.T @ p) / n + l2 * np.eye(k)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:
            new_value, new_p = objective(b - t * step)
            if new_value <= value or t < 1e-10:
                break
            t /= 2
        b, value, p = b - t * step, new_value, new_p
    return b
