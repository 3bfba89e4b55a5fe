"""Platt calibration with the text's length (`platt_length`): fitted, applied, and read by the classifier."""

from __future__ import annotations

import numpy as np
import pytest

from curate.models.calibration import apply_calibration, fit_platt, log_length, needs_length


def test_platt_length_recovers_a_length_effect_and_needs_lengths() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 20000)
    length = np.log1p(rng.integers(5, 3000, p.size))
    z = 0.8 * np.log(p / (1 - p)) - 2.0 + 0.4 * length
    y = rng.uniform(size=p.size) < 1 / (1 + np.exp(-z))
    cal = fit_platt(p, y, length)
    assert cal["method"] == "platt_length" and needs_length(cal)
    assert cal["a"] == pytest.approx(0.8, abs=0.06) and cal["c"] == pytest.approx(0.4, abs=0.05)
    assert cal["b"] == pytest.approx(-2.0, abs=0.3)
    with pytest.raises(ValueError, match="lengths"):
        apply_calibration(p, cal)
    longer = apply_calibration(np.array([0.5, 0.5]), cal, log_length(["短", "长" * 500]))
    assert longer[1] > longer[0]  # same model score, longer text: higher


def test_fractional_targets_fit_the_middle() -> None:
    p = np.array([0.2, 0.5, 0.8] * 200)
    cal = fit_platt(p, np.array([0.0, 0.5, 1.0] * 200))
    assert apply_calibration(np.array([0.5]), cal)[0] == pytest.approx(0.5, abs=0.01)
    assert not needs_length(cal) and log_length([None, "abc"]).tolist() == pytest.approx([0.0, np.log(4)])
