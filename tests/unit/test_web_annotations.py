"""Web-document gold references: resolve against the data root, and every kind of problem is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.annotations import document_problems, read_gold_documents, read_lines, sha12
from curate.schema import label_set

DOCS = ["第一篇文档，一行一篇。", "第二篇：新闻报道。"]
PAGE = {"url": "http://example.invalid/a", "title": "t", "raw_content": "页面正文\n第二行"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "docs.txt").write_text("\n".join(DOCS) + "\n", encoding="utf-8")
    (tmp_path / "web" / "pages.jsonl").write_text(json.dumps(PAGE, ensure_ascii=False) + "\n", encoding="utf-8")
    return tmp_path


def _row(file: str, line: int, text: str, **over: object) -> dict:
    row = {"file": file, "line": line, "sha1": sha12(text), "domain": "news", "domains": ["news", "law"],
           "quality": "high", "part": "test"}
    return {**row, **over}


def test_read_gold_documents_resolves_lines_and_pages(root: Path, tmp_path: Path) -> None:
    page_line = read_lines(root / "web" / "pages.jsonl")[0]
    gold = tmp_path / "gold.jsonl"
    rows = [_row("web/docs.txt", 1, DOCS[1]), _row("web/pages.jsonl", 0, page_line, part="select")]
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    docs = read_gold_documents(gold, root)
    assert [d.text for d in docs] == [DOCS[1], PAGE["raw_content"]]  # a page's text is its raw_content
    assert docs[0].domains == ("news", "law") and docs[1].part == "select"


@pytest.mark.parametrize(("over", "message"), [
    ({"sha1": "000000000000"}, "sha1 mismatch"),
    ({"line": 7}, "no line 7"),
    ({"file": "web/missing.txt"}, "no data file"),
    ({"domain": "sports"}, "domain 'sports'"),
    ({"domains": ["law", "news"]}, "the primary first"),
    ({"quality": "ok"}, "quality 'ok'"),
    ({"part": "select"}, "part 'select', expected 'test'"),
])
def test_document_problems_name_each_fault(root: Path, over: dict, message: str) -> None:
    row = {**_row("web/docs.txt", 0, DOCS[0]), **over}
    found = document_problems([row], lambda f: read_lines(root / f), set(label_set("domain")), lambda f, n: "test")
    assert len(found) == 1 and message in found[0], found


def test_duplicate_reference_is_a_problem(root: Path) -> None:
    row = _row("web/docs.txt", 0, DOCS[0])
    found = document_problems([row, row], lambda f: read_lines(root / f), set(label_set("domain")))
    assert found == ["line 2: duplicate web/docs.txt line 0"]


@pytest.mark.data
def test_committed_web_gold_resolves(repo: Path, shared_data: Path) -> None:
    """The committed gold file still matches the data (sha1 per line) and its parts are the tool's."""
    import sys

    sys.path.insert(0, str(repo / "annotate"))
    from web_sample import part_of

    rows = [json.loads(x) for x in (repo / "classifiers/annotations/web-hand-labels.jsonl").read_text().splitlines()]
    cache: dict[str, list[str]] = {}
    found = document_problems(rows, lambda f: cache.setdefault(f, read_lines(shared_data / f)),
                              set(label_set("domain")), part_of)
    assert not found, found[:3]
    assert len(rows) >= 500


def test_read_labelled_web_gold_columns_and_part(root: Path, tmp_path: Path) -> None:
    from curate.models.evaluate import read_labelled

    gold = tmp_path / "web-gold.jsonl"
    rows = [_row("web/docs.txt", 0, DOCS[0], quality="medium"), _row("web/docs.txt", 1, DOCS[1], part="select")]
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert [e.labels for e in read_labelled(gold, data_root=root)] == [("news", "law"), ("news", "law")]
    assert [e.labels for e in read_labelled(gold, column="domain", data_root=root)] == [("news",), ("news",)]
    assert [e.labels for e in read_labelled(gold, column="quality", part="test", data_root=root)] == [("medium",)]
    with pytest.raises(ValueError, match="--column"):
        read_labelled(gold, column="Emotion", data_root=root)


def test_graded_view_auc_and_shares_by_hand() -> None:
    import numpy as np

    from curate.models.metrics import auc, graded_view

    assert auc(np.array([0.9, 0.8]), np.array([0.1, 0.8])) == 0.875  # one tie counts half
    rep = graded_view(np.array([0.1, 0.2, 0.5, 0.7, 0.9, 0.25]), ["low", "low", "medium", "high", "high", "high"],
                      ("low", "medium", "high"))
    assert rep["auc"] == {"medium>low": 1.0, "high>low": 1.0, "high>medium": 0.6667}
    assert rep["per_level"]["high"]["below_0.3"] == 0.3333 and rep["per_level"]["low"]["histogram"][1] == 1


def test_top_without_gold_and_first_label_by_hand() -> None:
    import numpy as np

    from curate.models.metrics import first_label_accuracy, top_without_gold

    labels = ["dialogue", "news", "general"]
    proba = np.array([[0.9, 0.5, 0.1], [0.8, 0.6, 0.1], [0.1, 0.9, 0.3], [0.2, 0.1, 0.7]])
    gold = [("dialogue", "general"), ("news",), ("general", "news"), ("general",)]
    out = top_without_gold(labels, gold, proba)
    assert out["dialogue"] == {"n": 3, "top": 1, "share": 0.3333} and "news" not in out  # row 2's news is gold
    first = first_label_accuracy(labels, gold, proba)
    assert first["accuracy"] == 0.5 and first["baseline"] == {"majority_label": "general", "accuracy": 0.5}


def test_agree_counts_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "annotate"))
    from documents import agree

    def r(line: int, domains: list[str], quality: str) -> dict:
        return {"file": "f", "line": line, "domain": domains[0], "domains": domains, "quality": quality}

    first = [r(0, ["news"], "high"), r(1, ["general"], "low"), r(2, ["finance", "news"], "medium")]
    second = [r(2, ["news", "finance"], "medium"), r(1, ["general"], "medium"), r(0, ["news"], "high")]
    agree(first, second)
    out = capsys.readouterr().out
    assert "primary domain     0.667" in out and "(2 of 3)" in out
    assert "(3 of 3 share one)" in out and "quality            0.667" in out
    with pytest.raises(SystemExit, match="same documents"):
        agree(first, second[:2])


@pytest.mark.data
@pytest.mark.parametrize("name", ["web-hand-labels-2.jsonl", "web-hand-labels-2-second.jsonl"])
def test_fresh_web_batch_resolves_is_all_test_and_holds_no_text(repo: Path, shared_data: Path, name: str) -> None:
    """Batch 2, read twice: every reference resolves, every row is `test`, the rows are exactly batch 2's sample
    (none of them in the first sample), and the notes hold no CJK (no text of the documents)."""
    import re
    import sys

    sys.path.insert(0, str(repo / "annotate"))
    from documents import sample
    from web_sample import TASK, TASK_2

    raw = (repo / "classifiers/annotations" / name).read_text(encoding="utf-8")
    rows = [json.loads(x) for x in raw.splitlines()]
    cache: dict[str, list[str]] = {}

    def lines_of(f: str) -> list[str]:
        return cache.setdefault(f, read_lines(shared_data / f))

    assert document_problems(rows, lines_of, set(label_set("domain")), TASK_2.part_of) == []
    refs = {(r["file"], r["line"]) for r in rows}
    assert refs == set(sample(TASK_2, lines_of)) and len(rows) == 160
    assert not refs & set(sample(TASK, lines_of))
    assert not re.search(r"[\u3400-\u9fff]", raw)
