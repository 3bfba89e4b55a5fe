"""Classifier building blocks: metrics, calibration, cards, features, backends, labelled-file readers, the stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from curate.models.calibration import apply_calibration, fit_platt
from curate.models.card import CardError, read_card
from curate.models.classifier import load_classifier
from curate.models.evaluate import parse_data_spec, read_labelled
from curate.models.examples import Example, in_valid, split_by_key
from curate.models.fasttext_backend import load_fasttext
from curate.models.fasttext_train import train_fasttext
from curate.models.features import FeatureCache, featurize
from curate.models.metrics import reliability, report


def test_report_single_label_by_hand() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    gold = [("a",), ("b",), ("b",), ("a",)]
    rep = report(["a", "b"], gold, proba)
    assert rep["accuracy"] == 0.5
    assert rep["per_label"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert rep["confusion"]["rows_gold_cols_pred"] == [[1, 1], [1, 1]]
    assert rep["baseline"]["accuracy"] == 0.5 and rep["baseline"]["majority_label"] == "a"


def test_report_multi_label_top1_and_threshold() -> None:
    labels = ["x", "y", "z"]
    proba = np.array([[0.7, 0.6, 0.1], [0.2, 0.3, 0.4], [0.1, 0.9, 0.2]])
    gold = [("y", "x"), ("x",), ("y",)]
    rep = report(labels, gold, proba, multi_label=True, threshold=0.5)
    assert rep["accuracy"] == pytest.approx(2 / 3, abs=1e-4)  # rows 0 and 2: arg-max among gold
    assert rep["per_label"]["x"]["recall"] == 0.5 and rep["per_label"]["y"]["precision"] == 1.0
    assert rep["per_label"]["z"]["f1"] == 0.0
    # row 0's arg-max (x) hit gold x, so it is counted on the diagonal
    assert rep["confusion"]["rows_gold_cols_pred"][0] == [1, 0, 1]


def test_platt_recovers_a_known_distortion_and_keeps_ranking() -> None:
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.02, 0.98, 20000)
    y = rng.uniform(size=true_p.size) < true_p
    logit = np.log(true_p / (1 - true_p))
    overconfident = 1 / (1 + np.exp(-(3 * logit + 1)))
    cal = fit_platt(overconfident, y)
    assert cal["a"] == pytest.approx(1 / 3, abs=0.03) and cal["b"] == pytest.approx(-1 / 3, abs=0.05)
    fixed = apply_calibration(overconfident, cal)
    assert reliability(fixed, y)["ece"] < reliability(overconfident, y)["ece"] / 3
    assert np.all(np.diff(fixed[np.argsort(overconfident)]) >= 0)  # monotone: the ranking is kept


def test_features_chars_and_words() -> None:
    assert featurize(["我很难过，\n不知道 怎么办"], "chars") == ["我 很 难 过 ， 不 知 道 怎 么 办"]
    assert featurize(["我今天很难过"], "words") == ["我 今天 很 难过"]
    assert featurize([None, ""], "chars") == ["", ""]
    assert featurize(["一二三四五"], "chars", max_chars=2) == ["一 二"]
    with pytest.raises(ValueError, match="unknown feature mode"):
        featurize(["x"], "bytes")
    cache = FeatureCache(["你好"])
    assert cache.get("chars") is cache.get("chars")


def test_split_by_key_is_stable_and_keeps_keys_together() -> None:
    items = [(f"d{i // 3}", Example(("a",), f"t{i}")) for i in range(300)]
    s1, s2 = split_by_key(items, 0.2), split_by_key(list(reversed(items)), 0.2)
    assert {e.text for e in s1.valid} == {e.text for e in s2.valid}
    assert 20 < len(s1.valid) < 100
    valid_keys = {k for k, e in items if e in s1.valid}
    assert all(in_valid(k, 0.2) for k in valid_keys)


def _card(tmp_path: Path, **over: object) -> Path:
    doc = {"name": "m", "task": "toxicity", "version": "1", "backend": "fasttext", "model": "m.ftz",
           "labels": ["safe", "offensive"], "positive": "offensive", **over}
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(("over", "message"), [
    ({"backend": "onnx"}, "backend 'onnx' is not one of"),
    ({"positive": "toxic"}, "positive 'toxic' is not among labels"),
    ({"colour": "red"}, "unknown key"),
])
def test_bad_cards_name_the_file_and_key(tmp_path: Path, over: dict, message: str) -> None:
    with pytest.raises(CardError, match=message):
        read_card(_card(tmp_path, **over))


def test_missing_card_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ntask: quality\n", encoding="utf-8")
    with pytest.raises(CardError, match=r"c\.yaml: missing key 'version'"):
        read_card(path)


@pytest.fixture(scope="module")
def tiny_fasttext(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real fastText model trained here on made-up lines: offensive words vs friendly ones."""
    root = tmp_path_factory.mktemp("ft")
    bad, good = ["滚", "蠢", "垃圾", "傻"], ["谢谢", "你好", "开心", "喜欢"]
    rng = np.random.default_rng(0)
    lines = []
    for i in range(400):
        words = bad if i % 2 else good
        text = "".join(rng.choice(words, 4)) + "的人"
        lines.append(f"__label__{'offensive' if i % 2 else 'safe'} {' '.join(text)}\n")
    (root / "train.txt").write_text("".join(lines), encoding="utf-8")
    # curate train's trainer (a child process): training in the test process reads uninitialised memory
    train_fasttext(root / "train.txt", root / "m.ftz", seed=1, params={"epoch": 5, "wordNgrams": 2}, quantize=None)
    _card(root, calibration={"method": "platt", "a": 0.5, "b": 0.2}, threshold=0.5)
    return root


def test_fasttext_backend_matches_fasttext_predict(tiny_fasttext: Path) -> None:
    texts = ["你这个蠢货滚", "谢谢你，我很开心", "", "垃圾"]
    clf = load_classifier(tiny_fasttext / "card.yaml")
    clf.card.calibration = None
    proba = clf.predict_proba(texts)
    labels, probs = load_fasttext(tiny_fasttext / "m.ftz").predict(featurize(texts), k=-1)
    for i in range(len(texts)):
        expected = dict(zip((lab.removeprefix("__label__") for lab in labels[i]), probs[i], strict=True))
        np.testing.assert_allclose(proba[i], [expected["safe"], expected["offensive"]], rtol=1e-5, atol=1e-6)
    assert proba[0, 1] > 0.5 and proba[1, 0] > 0.5


def test_calibration_is_applied_to_both_columns(tiny_fasttext: Path) -> None:
    clf = load_classifier(tiny_fasttext / "card.yaml")
    raw = clf.backend.predict_proba(featurize(["你这个蠢货滚"]))[0, 1]
    proba = clf.predict_proba(["你这个蠢货滚"])
    assert proba[0, 1] == pytest.approx(apply_calibration(np.array([raw]), clf.card.calibration)[0], abs=1e-6)
    assert proba[0].sum() == pytest.approx(1.0, abs=1e-6)
    assert clf.score(["你这个蠢货滚"])[0] == pytest.approx(proba[0, 1])


def test_lexicon_backend(tmp_path: Path) -> None:
    (tmp_path / "lex.yaml").write_text(yaml.safe_dump(
        {"labels": {"offensive": {"bias": -2.0, "words": {"蠢货": 3.0, "滚": 1.0, "SB": 2.0}}, "safe": {"bias": 0.0}}},
        allow_unicode=True), encoding="utf-8")
    path = _card(tmp_path, backend="lexicon", model="lex.yaml")
    clf = load_classifier(path)
    proba = clf.predict_proba(["你这个蠢货，滚！滚！", "今天天气不错", None, "sb"])
    z = np.array([-2 + 3 + 1, -2, -2, -2 + 2])  # distinct words count once; matching is lower-cased
    p_off = 1 / (1 + np.exp(-z))
    expected = p_off / (p_off + 0.5)
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-5)


def test_read_labelled_formats_and_errors(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("__label__news __label__finance 股市 上涨\n\n__label__law 法院\n", encoding="utf-8")
    assert read_labelled(tmp_path / "a.txt") == [Example(("news", "finance"), "股市 上涨"), Example(("law",), "法院")]
    (tmp_path / "b.csv").write_text("id,label,TEXT\n1,1,你好\n2,0,再见\n", encoding="utf-8")
    assert read_labelled(tmp_path / "b.csv", {"0": "safe", "1": "offensive"})[0] == Example(("offensive",), "你好")
    # a CSV whose labels are in another column (CPED's Emotion) is told to name it, before any row is read
    (tmp_path / "e.csv").write_text("Utterance,Emotion\n你好,happy\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"e\.csv: no `label` column; name the label column with --column .*'Emotion'"):
        read_labelled(tmp_path / "e.csv")
    assert read_labelled(tmp_path / "e.csv", label="happy") == [Example(("happy",), "你好")]
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "一"}) + "\n" + json.dumps({"text": "二", "label": "low"}) + "\n",
                                      encoding="utf-8")
    assert read_labelled(tmp_path / "c.jsonl", label="high") == [Example(("high",), "一"), Example(("high",), "二")]
    with pytest.raises(ValueError, match=r"c\.jsonl:1: no label"):
        read_labelled(tmp_path / "c.jsonl")
    (tmp_path / "d.jsonl").write_text(json.dumps({"text": "一"}) + "\n" + json.dumps({"txt": "二"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"d\.jsonl:2: no text field"):
        read_labelled(tmp_path / "d.jsonl", label="high")
    assert parse_data_spec("x/clean.jsonl=high") == ("x/clean.jsonl", "high")
    assert parse_data_spec("x/dev.csv") == ("x/dev.csv", None)


def test_classify_stage_keeps_rows_and_order_and_nulls_rejects(tiny_fasttext: Path) -> None:
    from curate.job import ModelSpec
    from curate.stages.classify import Scorers, score_batch

    scorers = Scorers({"toxicity": ModelSpec(str(tiny_fasttext / "card.yaml"), threshold=0.3)})
    batch = pa.table({"id": ["a", "b", "c"], "text": ["蠢货滚", "谢谢你", "垃圾"], "drop_reason": [None, "x", None]})
    out = score_batch(batch, scorers)
    assert out["id"].to_pylist() == ["a", "b", "c"] and out.num_rows == 3
    tox = out["toxicity"].to_pylist()
    assert tox[1] is None and tox[0] is not None
    assert out["toxic"].to_pylist() == [tox[0] >= 0.3, None, tox[2] >= 0.3]
    assert out["toxicity"].type == pa.float32()
    with pytest.raises(ValueError, match="unknown scoring task"):
        Scorers({"sarcasm": ModelSpec(str(tiny_fasttext / "card.yaml"))})


def test_toxicity_counselling_turns_skip_held_out_dialogues_and_interleave(tmp_path: Path) -> None:
    from curate.models.training_data.toxicity import counselling_turns, held_out, interleave

    rows = [{"id": f"smilechat-{i}", "turns": [{"role": "client", "content": f"c{i}-{j}"} if j % 2 == 0
                                               else {"role": "counselor", "content": f"s{i}-{j}"} for j in range(4)]}
            for i in range(200)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    c = {"path": "d.jsonl", "counselor_turns": 50, "client_turns": 20}
    turns = counselling_turns(c, tmp_path)
    assert len(turns["counselor"]) == 50 and len(turns["client"]) == 20
    assert all(t.startswith("s") for t in turns["counselor"]) and all(t.startswith("c") for t in turns["client"])
    assert not any(held_out(f"smilechat-{t[1:].split('-')[0]}") for r in turns.values() for t in r)
    assert counselling_turns({**c, "counselor_turns": 10}, tmp_path)["counselor"] == turns["counselor"][:10]
    with pytest.raises(ValueError, match="only"):
        counselling_turns({**c, "client_turns": 10_000}, tmp_path)
    base = [Example(("offensive",), str(i)) for i in range(10)]
    extra = [Example(("safe",), f"x{i}") for i in range(3)]
    mixed = interleave(base, extra)
    assert [ex for ex in mixed if ex.labels == ("offensive",)] == base and len(mixed) == 13
    assert [i for i, ex in enumerate(mixed) if ex.labels == ("safe",)] == [2, 6, 10]


def test_group_and_abstention_views_by_hand() -> None:
    from curate.models.metrics import abstention_view, group_view

    labels = ["worried", "fear", "grateful"]
    groups = {"worried": "fear", "fear": "fear", "grateful": "happy"}
    gold = [("fear",), ("worried",), ("grateful",), ("grateful",)]
    proba = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.5, 0.1, 0.4]])
    # predictions: worried, fear, grateful, worried -> exact 1/4, coarse 3/4
    gv = group_view(labels, gold, proba, groups)
    assert gv["accuracy"] == 0.75 and gv["baseline"] == {"majority_label": "fear", "accuracy": 0.5}
    assert gv["share"]["fear"] == {"gold": 0.5, "predicted": 0.75}
    av = abstention_view(labels, gold, proba, 0.55, groups)  # the last row (0.5) is withheld
    assert av == {"min_confidence": 0.55, "emitted": 0.75, "accuracy_emitted": round(1 / 3, 4),
                  "groups_accuracy_emitted": 1.0}


def test_read_labelled_tsv_needs_a_map_and_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "posts.tsv"
    path.write_text("label\ttext_a\n2\t今天终于放假了，好开心\n0\t明天上午开会\n", encoding="utf-8")
    with pytest.raises(ValueError, match="--map NAME"):
        read_labelled(path)
    got = read_labelled(path, {"0": "neutral", "2": "happy"})
    assert [(ex.labels, ex.text) for ex in got] == [(("happy",), "今天终于放假了，好开心"), (("neutral",), "明天上午开会")]
    path.write_text("label\ttext_a\n7\t一句话\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"posts.tsv:2: label '7'"):
        read_labelled(path, {"0": "neutral"})


@pytest.mark.parametrize(("text", "label"), [
    ("明天就要考试了，我特别焦虑，怎么办？", "worried"),
    ("谢谢你的建议，我会试试的。", "grateful"),
    ("谢谢你，但是我还是很焦虑。", "worried"),           # a continuing problem outweighs the thanks
    ("我也不知道自己想要什么，很迷茫。", "negative-other"),
    ("是的，我们在一起三年了。", None),                   # no cue: not used for training
])
def test_emotion_weak_labeller_follows_the_guide(text: str, label: str | None) -> None:
    from curate.models.training_data.emotion_weak import load_cues

    assert load_cues("emotion-cues.yaml").label(text) == label


def test_written_affect_selection_folds_partition_the_train_files_and_repeat_weights(tmp_path: Path) -> None:
    from curate.models.training_data import affect_written

    texts = [f"微博第{i}条" for i in range(400)]
    # fold 0 is the slice `curate train` holds out; the ten folds partition the file
    assert [affect_written.selection_fold(t, "ewect-selection") == 0 for t in texts] == \
        [in_valid(t, 0.1, salt="ewect-selection") for t in texts]
    (tmp_path / "ewect").mkdir()
    (tmp_path / "ewect" / "t.tsv").write_text("label\ttext_a\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(texts)),
                                              encoding="utf-8")
    cfg = {"target": "emotion", "ewect": {"files": ["ewect/t.tsv"], "repeat": 2}, "label_maps": {"ewect": {"0": "neutral", "1": "anger"}}}
    held: list[str] = []
    for k in range(affect_written.FOLDS):
        splits = affect_written.build({**cfg, "selection_fold": k}, tmp_path)
        assert len(splits.train) == 2 * (len(texts) - len(splits.valid))
        assert not {ex.text for ex in splits.valid} & {ex.text for ex in splits.train}
        assert splits.notes["valid_by_source"] == {"ewect": len(splits.valid)}
        held += [ex.text for ex in splits.valid]
    assert sorted(held) == sorted(texts)
