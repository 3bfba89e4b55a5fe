"""The second, blind dialogue-quality rating: its references resolve, its rows sit in the test part, and it
holds no dialogue text."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from curate.annotations import read_rows
from curate.dialogue_gold import load_dialogues, problems

SECOND = Path("classifiers") / "annotations" / "dialogue-quality-hand-labels-second.jsonl"
# any CJK character: the notes are English paraphrase, never a quote
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@pytest.mark.data
def test_second_rating_resolves_and_holds_no_text(repo: Path, shared_data: Path) -> None:
    spec = importlib.util.spec_from_file_location("dq_sample", repo / "annotate" / "dialogue_quality_sample.py")
    sampler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sampler)
    rows = read_rows(repo / SECOND)
    dialogues = load_dialogues(shared_data)
    assert problems(rows, dialogues, sampler.part_of) == []
    assert len(rows) == 60 and {r["part"] for r in rows} == {"test"}
    for r in rows:
        assert set(r) == {"dialogue_id", "sha1", "rating", "part", "note"}
        assert r["note"] and not CJK.search(r["note"]), r["dialogue_id"]
