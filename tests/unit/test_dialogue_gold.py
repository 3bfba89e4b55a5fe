"""The blind dialogue-quality ratings beside the first file: the second reading of its test part, and the fresh
batch 2 read twice. Their references resolve, their rows sit in the test part, and they hold no dialogue text."""

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


def _sampler(repo: Path):
    spec = importlib.util.spec_from_file_location("dq_sample", repo / "annotate" / "dialogue_quality_sample.py")
    sampler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sampler)
    return sampler


@pytest.mark.data
@pytest.mark.parametrize(("name", "batch", "n"), [("dialogue-quality-hand-labels-second.jsonl", 1, 60),
                                                  ("dialogue-quality-hand-labels-2.jsonl", 2, 120),
                                                  ("dialogue-quality-hand-labels-2-second.jsonl", 2, 120)])
def test_second_rating_resolves_and_holds_no_text(repo: Path, shared_data: Path, name: str, batch: int,
                                                  n: int) -> None:
    sampler = _sampler(repo)
    rows = read_rows(repo / SECOND.with_name(name))
    dialogues = load_dialogues(shared_data)
    assert problems(rows, dialogues, sampler.part_of if batch == 1 else sampler.part_of_later) == []
    assert len(rows) == n and {r["part"] for r in rows} == {"test"}
    if batch == 2:  # the whole fresh sample, none of it in the first sample
        assert {r["dialogue_id"] for r in rows} == set(sampler.sample_batch(dialogues, 2))
        assert not {r["dialogue_id"] for r in rows} & set(sampler.sample(dialogues))
    for r in rows:
        assert set(r) == {"dialogue_id", "sha1", "rating", "part", "note"}
        assert r["note"] and not CJK.search(r["note"]), r["dialogue_id"]


@pytest.mark.data
def test_eval_reads_a_gold_file_and_a_second_reading(repo: Path, shared_data: Path, tmp_path: Path) -> None:
    """`curate eval dialogue_quality --data FIRST --data SECOND`: the first file's ratings, then the second
    reading against them and the score against their mean; a reading of a dialogue the first file lacks is
    an error naming the file."""
    import json

    import numpy as np
    from click.testing import CliRunner
    from scipy.stats import spearmanr

    from curate.cli import main

    second = read_rows(repo / SECOND)
    ids = {r["dialogue_id"] for r in second}
    first = [r for r in read_rows(repo / SECOND.with_name("dialogue-quality-hand-labels.jsonl"))
             if r["dialogue_id"] in ids]
    a, b = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in first[:40]), encoding="utf-8")
    kept = {r["dialogue_id"] for r in first[:40]}
    b.write_text("".join(json.dumps(r) + "\n" for r in second if r["dialogue_id"] in kept), encoding="utf-8")
    run = CliRunner().invoke(main, ["eval", "dialogue_quality", "--data", str(a), "--data", str(b), "--json",
                                    "--data-root", str(shared_data)])
    assert run.exit_code == 0, run.output
    rep = json.loads(run.output[run.output.index("{"):])
    assert rep["n"] == 40 and rep["mean_of_readings"]["n"] == 40
    by_id = {r["dialogue_id"]: r["rating"] for r in second}
    r1 = np.array([r["rating"] for r in first[:40]], dtype=float)
    r2 = np.array([by_id[r["dialogue_id"]] for r in first[:40]], dtype=float)
    assert rep["other_readings"][0]["agreement_with_first"] == round(float(spearmanr(r1, r2).statistic), 4)
    assert rep["other_readings"][0]["exact"] == round(float(np.mean(r1 == r2)), 4)

    b.write_text("".join(json.dumps(r) + "\n" for r in second), encoding="utf-8")  # 20 the first file lacks
    run = CliRunner().invoke(main, ["eval", "dialogue_quality", "--data", str(a), "--data", str(b),
                                    "--data-root", str(shared_data)])
    assert run.exit_code != 0 and "second.jsonl" in run.output and "not in" in run.output

    bad = [dict(r) for r in second if r["dialogue_id"] in kept]
    bad[3]["rating"] = 7
    b.write_text("".join(json.dumps(r) + "\n" for r in bad), encoding="utf-8")
    run = CliRunner().invoke(main, ["eval", "dialogue_quality", "--data", str(a), "--data", str(b),
                                    "--data-root", str(shared_data)])
    assert run.exit_code != 0 and "second.jsonl: line 4: rating 7" in run.output, run.output
