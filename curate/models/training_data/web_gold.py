"""Real web documents labelled by reading (`classifiers/annotations/web-hand-labels.jsonl`) as training examples.

The gold file holds references (data file, line, sha1), never text; the documents are read from the data
root at run time. Only the part the config names is used (`select`: the untouched `test` part is for the
figures in the cards). Experiments hold out keys (`holdout`) to cross-validate by document.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from curate.annotations import GoldDocument, read_gold_documents
from curate.models.examples import Example


def doc_key(doc: GoldDocument) -> str:
    """A document's stable key: its data file and line."""
    return f"{doc.file}:{doc.line}"


def gold_documents(spec: dict, data_root: Path) -> list[GoldDocument]:
    """The gold documents of `spec["part"]` (default `select`), less `spec["holdout"]` keys; [] without a path."""
    if not spec.get("path"):
        return []
    part, holdout = str(spec.get("part", "select")), set(spec.get("holdout") or ())
    return [d for d in read_gold_documents(spec["path"], data_root) if d.part == part and doc_key(d) not in holdout]


def gold_examples(spec: dict, data_root: Path, labels_of: Callable[[GoldDocument], tuple[str, ...]],
                  max_chars: int) -> list[tuple[str, Example]]:
    """(key, example) per gold document, each repeated `spec["repeat"]` times (fastText has no example
    weights: repetition is how a few hundred read documents count against thousands of generated ones)."""
    repeat = int(spec.get("repeat", 1))
    return [(doc_key(d), Example(labels_of(d), d.text.strip()[:max_chars]))
            for d in gold_documents(spec, data_root) for _ in range(repeat)]
