"""The batch fastText engine (curate/models/fasttext_backend.py) against fastText's own predict.

Every shipped model, on real text and on awkward lines. The real text: the committed fixtures (CPED turns,
SMILECHAT dialogues, COLD comments) with the demo's web pages; and, where the full datasets are present
(marked `data`), 3,000 CPED turns, 300 SMILECHAT dialogues and ChineseWebText's dirty pages: probabilities must equal `fasttext`'s `predict(k=-1)` (fastText's sigmoid table quantises
the ova loss's probabilities in steps of ~6e-4, so ova models get that tolerance).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from curate.assets import asset_dir
from curate.models.card import read_card
from curate.models.fasttext_backend import FastTextClassifier, FastTextTokens, fnv1a, ft_label, load_fasttext
from curate.models.fasttext_file import read_fasttext
from curate.models.fasttext_train import train_fasttext
from curate.models.features import (
    MODES,
    FeatureCache,
    featurize,
    featurize_with_context,
    tokens,
    tokens_with_context,
)
from tests.conftest import FIXTURES, REPO

ODD = ["", " ", "__label__safe 你好", "a\x00b c", "\u3000\t 换行\n之后", "😀😀 مرحبا שלום", "x" * 3000,
       "e\u0301\u200b\u202e反转", "，，，。。。！！！", "你" * 500]


def _csv_column(path: Path, column: str, n: int) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return [row[column] for _, row in zip(range(n), csv.DictReader(f), strict=False)]


def _jsonl(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(n), f, strict=False)]


def _dialogue_texts(root: Path, n: int) -> list[str]:
    """SMILECHAT dialogues as their JSON (ids, roles and all), cut at 1,500 characters."""
    return [json.dumps(r, ensure_ascii=False)[:1500] for r in _jsonl(root / "smilechat" / "dialogues.jsonl", n)]


@pytest.fixture(scope="module", params=["fixtures", pytest.param("full", marks=pytest.mark.data)])
def real_texts(request) -> list[str]:
    """Real text and the awkward lines (ODD); see the module docstring."""
    if request.param == "fixtures":
        texts = [*_csv_column(FIXTURES / "cped" / "valid.csv", "Utterance", 3000),
                 *_csv_column(FIXTURES / "cped" / "train.csv", "Utterance", 3000),
                 *_dialogue_texts(FIXTURES, 300),
                 *_csv_column(FIXTURES / "cold" / "dev.csv", "TEXT", 300),
                 *[r["text"] for r in _jsonl(REPO / "demo" / "web.jsonl", 10_000)]]
    else:
        root = request.getfixturevalue("shared_data")
        texts = [*_csv_column(root / "cped" / "valid.csv", "Utterance", 3000), *_dialogue_texts(root, 300),
                 *[r.get("text", "") for r in _jsonl(root / "web" / "cwt-quality-dirty.jsonl", 300)]]
    return texts + ODD


def _reference(path: Path, lines: list[str], clf: FastTextClassifier) -> np.ndarray:
    labels, probs = load_fasttext(path).predict(lines, k=-1)
    # the card's labels in its order; a label the card does not list goes to a last column, dropped below
    column = {ft_label(lab): i for i, lab in enumerate(clf.labels)}
    ref = np.zeros((len(lines), len(clf.labels) + 1), dtype=np.float32)
    for i, (labs, ps) in enumerate(zip(labels, probs, strict=True)):
        for lab, p in zip(labs, ps, strict=True):
            ref[i, column.get(lab, len(clf.labels))] = min(p, 1.0)
    return ref[:, : len(clf.labels)]


FASTTEXT_CARDS = [p for p in sorted(asset_dir("classifiers").glob("*.yaml")) if read_card(p).backend == "fasttext"]


@pytest.mark.parametrize("card_path", FASTTEXT_CARDS, ids=lambda p: p.stem)
def test_shipped_model_matches_fasttext(card_path: Path, real_texts: list[str]) -> None:
    card = read_card(card_path)
    texts = real_texts
    lines = featurize(texts, card.features.get("mode", "chars"), int(card.features.get("max_chars", 2000)))
    clf = FastTextClassifier(card.model_path, card.labels)
    assert clf.native, "the shipped models must run on the batch engine"
    ours = clf.predict_proba(FastTextTokens.from_lines(lines))
    ref = _reference(card.model_path, lines, clf)
    tol = 1e-3 if clf.file.loss == "ova" else 2e-5
    np.testing.assert_allclose(ours, ref, atol=tol)
    assert (ours.argmax(1) == ref.argmax(1)).mean() > 0.995
    # a second batch reuses the process-wide token table: same answer, split differently
    half = len(lines) // 2
    again = np.concatenate([clf.predict_proba(lines[:half]), clf.predict_proba(lines[half:])])
    np.testing.assert_allclose(again, ours, atol=1e-6)


def test_tiny_dense_model_and_fallback(tmp_path: Path) -> None:
    """An unquantised `.bin` with word trigrams reads natively; a model with character n-grams falls back
    to fastText and still answers the same."""
    rng = np.random.default_rng(0)
    bad, good = ["滚", "蠢", "垃圾"], ["谢谢", "你好", "开心"]
    rows = [f"__label__{'b' if i % 2 else 'g'} {' '.join(''.join(rng.choice(bad if i % 2 else good, 3)))}\n"
            for i in range(300)]
    (tmp_path / "t.txt").write_text("".join(rows), encoding="utf-8")
    lines = [" ".join("你这个蠢货滚"), " ".join("谢谢你"), "", "__label__b", "未 知 字"]
    for name, kw in (("dense", {"wordNgrams": 3}), ("subword", {"minn": 1, "maxn": 2})):
        # curate train's trainer: two trainings in this process would read each other's leftover memory
        train_fasttext(tmp_path / "t.txt", tmp_path / f"{name}.bin", seed=1, params={"epoch": 5, **kw}, quantize=None)
        clf = FastTextClassifier(tmp_path / f"{name}.bin", ["g", "b"])
        assert clf.native == (name == "dense")
        np.testing.assert_allclose(clf.predict_proba(lines), _reference(tmp_path / f"{name}.bin", lines, clf), atol=2e-5)


def test_model_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.ftz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="x.ftz"):
        read_fasttext(bad)
    good = (asset_dir("classifiers") / "toxicity.ftz").read_bytes()
    for cut in (len(good) // 2, 120):  # in the matrices; inside the dictionary's words
        (tmp_path / "cut.ftz").write_bytes(good[:cut])
        with pytest.raises(ValueError, match="cut.ftz: truncated"):
            read_fasttext(tmp_path / "cut.ftz")


def test_fnv1a_is_fasttexts_hash() -> None:
    # fastText's Dictionary::hash, bytes sign-extended: reference values computed by hand below
    def ref(s: str) -> int:
        h = 2166136261
        for b in s.encode():
            h = ((h ^ (b - 256 if b > 127 else b) & 0xFFFFFFFF) * 16777619) & 0xFFFFFFFF
        return h - (1 << 32) if h >= 1 << 31 else h

    words = ["", "a", "你", "</s>", "p_好", "😀x", "long" * 50]
    assert fnv1a(pa.array(words)).tolist() == [ref(w) for w in words]


def test_words_of_pieces_shared_in_a_batch_equal_the_featurised_lines(real_texts: list[str]) -> None:
    """Word tokens are built from distinct pieces between breaks and whitespace; the pieces of one batch are
    segmented once (segments_for_batch). Whatever was segmented before, each call's tokens are the lines'."""
    from curate.models.features import segments_for_batch

    texts: list[str | None] = [*real_texts[:400], *ODD, None,
                               "“你好，”她说：“今天（真的）很好…”——好吗？！", "a,b;c:d(e)f!g?h'i\"j", "，你好，你好，",
                               "abc-def 3.14% #tag&x_y", "医生：你好\n病人：我头疼", "你好 ， 世界", "你好，世界。"]
    joined = ["\n".join(t or "" for t in texts[i: i + 5]) for i in range(0, len(texts) - 5, 3)]  # the same pieces
    with segments_for_batch() as seg:
        for batch, max_chars in ((texts, 2000), (joined, 2000), (texts, 9), (joined, 40)):
            assert _sequences(tokens(batch, "words", max_chars)) == _sequences(
                FastTextTokens.from_lines(featurize(batch, "words", max_chars)))
        assert len(seg.words) and len(seg.pieces) < sum(len(t or "") for t in texts)


def test_feature_cache_shares_tokens() -> None:
    cache = FeatureCache(["我很难过", "谢谢"])
    assert cache.tokens("chars") is cache.tokens("chars")
    assert cache.tokens("chars").n == 2 and ft_label("Providing Suggestions") == "__label__Providing_Suggestions"


def _sequences(t: FastTextTokens) -> list[list[str]]:
    words = t.vocab.to_pylist()
    out: list[list[str]] = [[] for _ in range(t.n)]
    for i, line in zip(t.ids.tolist(), t.line.tolist(), strict=True):
        out[line].append(words[i])
    return out


@pytest.mark.parametrize("mode", MODES)
def test_direct_tokens_equal_featurised_lines(mode: str, real_texts: list[str]) -> None:
    """The run's tokens (no lines built) are exactly what fastText reads from the training featurisation."""
    texts: list[str | None] = [*real_texts[:1500], *ODD, None, "前\x00后"]
    for max_chars in (2000, 7):
        assert _sequences(tokens(texts, mode, max_chars)) == _sequences(
            FastTextTokens.from_lines(featurize(texts, mode, max_chars)))
    contexts = [tuple(texts[max(0, i - 2): i]) for i in range(len(texts))]
    assert _sequences(tokens_with_context(texts, contexts, mode, 40, 1)) == _sequences(
        FastTextTokens.from_lines(featurize_with_context(texts, contexts, mode, 40, 1)))
