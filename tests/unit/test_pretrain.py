"""Pretrained character vectors (curate/models/pretrain.py, fasttext_train.train_vectors): the unsupervised
model trains in its child process, its `.vec` is read by a supervised training, and both are reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from curate.models.fasttext_backend import load_fasttext
from curate.models.fasttext_train import train_fasttext, train_vectors
from curate.models.features import CONTEXT_PREFIX, featurize
from curate.models.pretrain import build_vectors, write_corpus

PARAMS = {"model": "skipgram", "dim": 8, "epoch": 2, "minCount": 1, "minn": 0, "maxn": 0, "ws": 3, "neg": 3, "bucket": 0}


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(0)
    chars = list("我很害怕担心开心高兴难过生气谢谢你今天")
    lines = [" ".join(rng.choice(chars, 8)) for _ in range(300)]
    path = root / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_vec(path: Path) -> tuple[int, int, dict[str, list[float]]]:
    head, *rows = path.read_text(encoding="utf-8").splitlines()
    n, dim = map(int, head.split())
    return n, dim, {r.split(" ")[0]: [float(x) for x in r.split(" ")[1:]] for r in rows}


def test_vectors_train_in_child_and_feed_a_supervised_model(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    a, b = tmp_path / "a.vec", tmp_path / "b.vec"
    train_vectors(corpus, a, params=PARAMS, prefixes=("", CONTEXT_PREFIX))
    train_vectors(corpus, b, params=PARAMS, prefixes=("", CONTEXT_PREFIX))
    assert a.read_bytes() == b.read_bytes()  # same bytes twice
    n, dim, vecs = _read_vec(a)
    assert dim == 8 and n == len(vecs) and "怕" in vecs and vecs[CONTEXT_PREFIX + "怕"] == vecs["怕"]
    assert all(len(v) == dim for v in vecs.values())

    train = tmp_path / "train.txt"
    train.write_text("".join(f"__label__{'fear' if i % 2 else 'happy'} {' '.join('害怕担心' if i % 2 else '开心高兴')}\n"
                             for i in range(100)), encoding="utf-8")
    models = []
    for name in ("m1.bin", "m2.bin"):
        train_fasttext(train, tmp_path / name, seed=1, quantize=None,
                       params={"epoch": 2, "dim": 8, "minCount": 1, "pretrainedVectors": str(a)})
        models.append((tmp_path / name).read_bytes())
    assert models[0] == models[1]
    model = load_fasttext(tmp_path / "m1.bin")
    # the supervised dictionary holds the pretrained words, even those its training lines lack
    assert "谢" in model.get_words() and CONTEXT_PREFIX + "谢" in model.get_words()


def test_corpus_is_featurised_as_the_classifier_reads_text(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text("label\ttext_a\n1\t今天 很开心\n0\t\n", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text(json.dumps({"id": "x", "turns": [{"role": "client", "content": "我怕"}]},
                                              ensure_ascii=False) + "\n", encoding="utf-8")
    spec = {"corpus": [{"file": "t.tsv", "format": "tsv"}, {"file": "d.jsonl", "format": "turns"}]}
    n = write_corpus(spec, tmp_path, {"mode": "chars", "max_chars": 3}, tmp_path / "out.txt")
    assert n == 2
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines() == [*featurize(["今天 很开心"], "chars", 3),
                                                                               "我 怕"]


def test_build_vectors_writes_context_copies_only_with_context(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("我很害怕\n我很开心\n" * 20, encoding="utf-8")
    spec = {"corpus": [{"file": "c.txt", "format": "lines"}], "fasttext": PARAMS}
    (tmp_path / "x").mkdir()
    vec = build_vectors(spec, tmp_path, {"mode": "chars", "max_chars": 100, "context": 0}, tmp_path / "x")
    _, _, vecs = _read_vec(vec)
    assert set(vecs) == {"我", "很", "害", "怕", "开", "心", "</s>"}
