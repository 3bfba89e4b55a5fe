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
