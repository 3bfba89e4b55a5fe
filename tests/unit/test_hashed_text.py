"""The hashed n-gram text score: the compiled per-text score equals the sparse-matrix form bit for bit."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from curate.models.hashed_text import BUCKETS, HashedTextModel, document_frequency_idf, features

TEXTS = [
    "", None, "好", "  \u3000\xa0\t\n ", "你好你好你好你好", "我明白你的感受。\n你愿意多说一点吗？",
    "ab ab ab abc", "😀😀 emoji 𠀀𠀁 astral", "同一个词 同一个词\u3000同一个词", "x" * 3000,
]


def _matrix_score(model: HashedTextModel, texts: list[str | None]) -> np.ndarray:
    """The definition: TF-IDF features (`features`) dotted with the weights, summed by np.bincount."""
    f = features(texts, model.idf, model.n_sizes)
    return np.bincount(f.doc, weights=f.value * model.weights[f.bucket], minlength=f.n) + model.intercept


def _random_texts(rng: np.random.Generator, n: int) -> list[str]:
    # a small alphabet (repeated n-grams, tf > 1) with spaces, CJK and one astral character
    alphabet = np.array(list("的了我你是不在有人这 好想说\u3000\n啊吗？。ab𠀀"))
    return ["".join(rng.choice(alphabet, size=int(rng.integers(0, 400)))) for _ in range(n)]


@pytest.mark.parametrize("buckets", [BUCKETS, 1000, 1 << 17, 7])
def test_score_is_the_matrix_form_bit_for_bit(buckets: int):
    rng = np.random.default_rng(buckets)
    texts = TEXTS + _random_texts(rng, 200)
    idf = document_frequency_idf(texts, buckets)
    model = HashedTextModel(idf, rng.normal(size=buckets), float(rng.normal()))
    got = model.score(texts)
    assert got.dtype == np.float64 and got.shape == (len(texts),)
    np.testing.assert_array_equal(got.view(np.uint64), _matrix_score(model, texts).view(np.uint64))
    # an Arrow column (what the stage passes) scores the same as a list
    np.testing.assert_array_equal(model.score(pa.array(texts, pa.string())), got)


def test_the_shipped_model_scores_as_the_matrix_form():
    from curate.assets import asset_dir
    from curate.models.dialogue_quality import load_model

    model = load_model(asset_dir("classifiers") / "dialogue_quality.yaml").text
    assert model is not None
    texts = TEXTS + _random_texts(np.random.default_rng(0), 100)
    np.testing.assert_array_equal(model.score(texts).view(np.uint64), _matrix_score(model, texts).view(np.uint64))


def test_empty_batch_and_empty_texts():
    model = HashedTextModel(np.ones(16), np.arange(16, dtype=np.float64), 0.25)
    assert model.score([]).shape == (0,)
    assert model.score(["", None, " \n"]).tolist() == [0.25, 0.25, 0.25]
