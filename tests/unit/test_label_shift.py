"""The label-shift correction of a help-seeker record's emotion: softmax(log q + b), b fitted by L2-regularised
maximum likelihood (curate/models/label_shift.py), and the card field that carries it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from curate.models.card import CardError, read_card
from curate.models.label_shift import apply_log_bias, bias_vector, fit_log_bias


def test_a_zero_bias_leaves_a_distribution_as_it_is_and_every_row_sums_to_one() -> None:
    q = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    np.testing.assert_allclose(apply_log_bias(q, np.zeros(3)), q, atol=1e-7)
    out = apply_log_bias(q, np.array([0.0, np.log(3.0), -1.0]))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    # a bias multiplies a label's mass by exp(b) before renormalising
    np.testing.assert_allclose(out[0], np.array([0.7, 0.6, 0.1 / np.e]) / (1.3 + 0.1 / np.e), rtol=1e-6)
    assert out.dtype == np.float32


def test_the_fit_recovers_a_known_shift_of_the_priors() -> None:
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(4), size=20000)
    true = np.array([0.0, 1.0, -0.5, 0.3])
    p = apply_log_bias(q, true).astype(np.float64)
    gold = (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)
    b = fit_log_bias(q, gold, l2=1e-4)
    # b is identified up to a constant: compare the differences to the first label
    np.testing.assert_allclose(b - b[0], true - true[0], atol=0.06)


def test_the_penalty_keeps_the_bias_of_a_label_no_one_has_finite() -> None:
    q = np.full((50, 3), 1 / 3)
    gold = np.array([0, 1] * 25)  # label 2 never
    b = fit_log_bias(q, gold, l2=0.01)
    assert np.isfinite(b).all() and b[2] < b[0] - 1
    with pytest.raises(ValueError, match="l2 must be positive"):
        fit_log_bias(q, gold, l2=0.0)


def test_a_card_names_a_wrong_label_in_its_record_bias(repo: Path, tmp_path: Path) -> None:
    card = yaml.safe_load((repo / "classifiers" / "emotion.yaml").read_text(encoding="utf-8"))
    card["model"] = str(repo / "classifiers" / "emotion.ftz")
    assert set(card["record_bias"]) <= set(card["labels"])
    np.testing.assert_allclose(bias_vector(card["record_bias"], card["labels"]),
                               [card["record_bias"].get(lab, 0.0) for lab in card["labels"]])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**card, "record_bias": {"anxious": 0.4}}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CardError, match=r"bad.yaml: record_bias names labels not in the label set: \['anxious'\]"):
        read_card(bad)
    bad.write_text(yaml.safe_dump({**card, "record_bias": [0.1]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CardError, match=r"bad.yaml: record_bias must map labels to numbers"):
        read_card(bad)
