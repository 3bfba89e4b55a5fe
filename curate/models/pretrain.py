"""Unlabelled text → character vectors for a supervised fastText model's `pretrainedVectors`.

A spec (`experiments/vectors-chars.yaml`) names the corpus (files under the data root, each with its
format) and the unsupervised fastText settings. The corpus lines are featurised exactly as the classifier's
own text (`featurize`, its `features.mode` and `max_chars`), so the vectors' vocabulary is the classifier's
tokens; when the classifier reads context turns (`features.context`), every vector is written a second time
under the context prefix. The vectors are built into a temporary folder (a spawned child, one thread:
`fasttext_train.train_vectors`), never committed. Used by `experiments/affect_cv.py spoken --vectors`; no
shipped card uses pretrained vectors (experiments/README.md).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.models.fasttext_train import train_vectors
from curate.models.features import CONTEXT_PREFIX, DEFAULT_MAX_CHARS, featurize

FORMATS = ("lines", "tsv", "turns", "xtuner", "ccnet")
CHUNK = 20_000  # texts featurised at a time


def _texts(path: Path, fmt: str) -> Iterator[str]:
    """The texts of one corpus file: one per line (`lines`), the text column of a `label<TAB>text` file after
    its header (`tsv`), each turn's content (`turns`: SMILECHAT), each `input` / `output` (`xtuner`: EmoLLM;
    the repeated system prompt left out), each line of each page's `raw_content` (`ccnet`)."""
    if fmt == "xtuner":
        for item in json.loads(path.read_text(encoding="utf-8")):
            for turn in item.get("conversation", []):
                yield from (str(turn[k]) for k in ("input", "output") if turn.get(k))
        return
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f):
            if fmt == "lines":
                yield line
            elif fmt == "tsv":
                if n:
                    yield line.partition("\t")[2]
            elif fmt == "turns":
                if line.strip():
                    yield from (str(t.get("content") or "") for t in json.loads(line)["turns"])
            elif fmt == "ccnet":
                if line.strip():
                    yield from str(json.loads(line).get("raw_content") or "").split("\n")
            else:
                raise ValueError(f"unknown corpus format {fmt!r}; expected one of {FORMATS}")


def write_corpus(spec: dict[str, Any], data_root: Path, features: dict[str, Any], out: Path) -> int:
    """Write the featurised corpus of `spec["corpus"]` to `out`, one non-empty line per text; return the count."""
    mode, max_chars = str(features.get("mode", "chars")), int(features.get("max_chars", DEFAULT_MAX_CHARS))
    n = 0
    with out.open("w", encoding="utf-8") as f:
        for source in spec["corpus"]:
            texts = _texts(data_root / source["file"], str(source["format"]))
            while chunk := list(itertools.islice(texts, CHUNK)):
                lines = [x for x in featurize(chunk, mode, max_chars) if x]
                f.writelines(x + "\n" for x in lines)
                n += len(lines)
    return n


def build_vectors(spec: dict[str, Any], data_root: Path, features: dict[str, Any], out_dir: Path) -> Path:
    """Pretrain the vectors `spec` describes (`corpus`, `fasttext`) into `out_dir/vectors.vec`."""
    corpus = out_dir / "pretrain.txt"
    write_corpus(spec, data_root, features, corpus)
    vec = out_dir / "vectors.vec"
    prefixes = ("", CONTEXT_PREFIX) if int(features.get("context", 0)) > 0 else ("",)
    train_vectors(corpus, vec, params=dict(spec["fasttext"]), prefixes=prefixes)
    corpus.unlink()
    return vec
