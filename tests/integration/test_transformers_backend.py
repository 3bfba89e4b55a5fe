"""The transformers backend for real: a tiny BERT built and saved here, loaded from disk through the classify stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import yaml

from curate.job import ModelSpec
from curate.models.classifier import load_classifier
from curate.stages.classify import Scorers, score_batch

LABELS = ["safe", "offensive"]
TEXTS = ["你好，今天天气很好。", "滚开，你这个蠢货！", "", "我们一起去吃饭吧"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT with random weights and a character vocabulary, saved as safetensors; its card beside it."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    root = tmp_path_factory.mktemp("tiny-bert")
    ckpt = root / "checkpoint"
    ckpt.mkdir()
    chars = sorted({c for t in TEXTS for c in t})
    vocab = ckpt / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab_file=str(vocab))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=2,
                        id2label={1: "safe", 0: "offensive"}, label2id={"safe": 1, "offensive": 0})
    BertForSequenceClassification(config).save_pretrained(ckpt, safe_serialization=True)
    tokenizer.save_pretrained(ckpt)
    card = {"name": "tiny-bert-toxicity", "task": "toxicity", "version": "0.0.1", "backend": "transformers",
            "model": "checkpoint", "labels": LABELS, "positive": "offensive", "threshold": 0.5}
    (root / "tiny.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    return root


def test_predict_proba_matches_the_model_run_by_hand(tiny_bert: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    clf = load_classifier(tiny_bert / "tiny.yaml")
    proba = clf.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # by hand: id 0 is "offensive" in this checkout, so the card's column order must be remapped
    ckpt = tiny_bert / "checkpoint"
    tok = AutoTokenizer.from_pretrained(ckpt, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(ckpt, local_files_only=True).eval()
    with torch.inference_mode():
        ref = torch.softmax(model(**tok(TEXTS, padding=True, return_tensors="pt")).logits, -1).numpy()
    np.testing.assert_allclose(proba[:, 0], ref[:, 1], atol=1e-5)  # safe
    np.testing.assert_allclose(proba[:, 1], ref[:, 0], atol=1e-5)  # offensive


def test_batches_and_truncation_do_not_change_scores(tiny_bert: Path) -> None:
    clf = load_classifier(tiny_bert / "tiny.yaml")
    whole = clf.predict_proba(TEXTS)
    clf.backend.batch_size = 1
    np.testing.assert_allclose(clf.predict_proba(TEXTS), whole, atol=1e-5)
    long_text = "你好" * 1000  # far past max_position_embeddings: must be truncated, not crash
    assert clf.predict_proba([long_text]).shape == (1, 2)


def test_classify_stage_scores_kept_rows_with_the_checkpoint(tiny_bert: Path) -> None:
    scorers = Scorers({"toxicity": ModelSpec(str(tiny_bert / "tiny.yaml"), threshold=0.5)})
    batch = pa.table({"text": TEXTS, "drop_reason": [None, None, "cwt_short_text", None]})
    out = score_batch(batch, scorers)
    assert out.column_names[:2] == ["text", "drop_reason"]
    tox = out["toxicity"].to_pylist()
    assert tox[2] is None and all(t is not None for i, t in enumerate(tox) if i != 2)
    expected = load_classifier(tiny_bert / "tiny.yaml").score([TEXTS[i] for i in (0, 1, 3)])
    np.testing.assert_allclose([tox[i] for i in (0, 1, 3)], expected, atol=1e-6)
    assert out["toxic"].to_pylist() == [None if t is None else t >= 0.5 for t in tox]
    assert json.loads(out["models"][0].as_py()) == {"toxicity": "tiny-bert-toxicity@0.0.1"}


def test_run_job_scores_with_the_checkpoint_in_ray_actors(tiny_bert: Path, tmp_path: Path, ray_local) -> None:
    from curate.run import run_job
    from tests.conftest import make_job

    src = tmp_path / "in.jsonl"
    texts = ["我们今天一起去公园散步，天气很好。", "这家餐厅的菜很好吃，价格也不贵。", "明天早上八点在学校门口集合。",
             "他最近工作压力很大，晚上总是睡不着。", "图书馆新到了一批关于历史的书。", "周末我想去海边看看日出。"]
    src.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
                   encoding="utf-8")
    job = make_job(tmp_path, [{"path": "in.jsonl", "kind": "web"}], rules=[],
                   scores={"toxicity": {"card": str(tiny_bert / "tiny.yaml")}})
    result = run_job(job)
    df = pl.read_parquet(result.out / "data")
    assert df.height == 6 and df["toxicity"].null_count() == 0
    assert result.manifest["models"]["toxicity"]["backend"] == "transformers"


def test_refuses_a_checkpoint_without_safetensors(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "pytorch_model.bin").write_bytes(b"not loaded")
    card = {"name": "x", "task": "toxicity", "version": "1", "backend": "transformers", "model": "ckpt",
            "labels": LABELS, "positive": "offensive"}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    with pytest.raises(ValueError, match="safetensors"):
        load_classifier(tmp_path / "c.yaml")
