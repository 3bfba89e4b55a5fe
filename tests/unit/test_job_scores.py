"""The job's `scores:` section: defaults, overrides and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.job import JobError, parse_job
from curate.models import SCORE_TASKS


def _job(tmp_path: Path, **extra: object):
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    return parse_job({"inputs": [{"path": "in.jsonl", "kind": "web"}], **extra}, tmp_path)


def test_default_is_every_task_with_its_shipped_card(tmp_path: Path) -> None:
    job = _job(tmp_path)
    assert set(job.scores) == set(SCORE_TASKS)
    assert all(Path(s.card).name == f"{t}.yaml" and Path(s.card).is_file() for t, s in job.scores.items())


def test_false_turns_scoring_off_and_a_threshold_overrides(tmp_path: Path) -> None:
    assert _job(tmp_path, scores=False).scores == {}
    job = _job(tmp_path, scores={"toxicity": {"card": "toxicity.yaml", "threshold": 0.7}})
    assert list(job.scores) == ["toxicity"] and job.scores["toxicity"].threshold == 0.7


def test_a_mapping_runs_the_tasks_it_lists_true_with_the_shipped_card(tmp_path: Path) -> None:
    job = _job(tmp_path, scores={"quality": True, "domain": "domain.yaml", "toxicity": False})
    assert list(job.scores) == ["quality", "domain"]
    assert Path(job.scores["quality"].card).name == "quality.yaml" and Path(job.scores["quality"].card).is_file()
    # a mapping selects: naming one task false leaves the rest out too, not on
    assert _job(tmp_path, scores={"dialogue_quality": False}).scores == {}


@pytest.mark.parametrize(("scores", "message"), [
    ({"toxicity": 1}, r"scores.toxicity: a card file name, a mapping .*true .*false .*got 1"),
    ({"sarcasm": "toxicity.yaml"}, r"scores: unknown key\(s\) \['sarcasm'\]"),
    ({"toxicity": "nope.yaml"}, r"scores.toxicity.card: .*nope.yaml"),
    ({"quality": "toxicity.yaml"}, r"scores.quality.card: .* is a card for task 'toxicity', not 'quality'"),
    ({"toxicity": {"threshold": 2}}, r"scores.toxicity.threshold"),
    ({"toxicity": {"model": "x"}}, r"scores.toxicity: unknown key\(s\) \['model'\]"),
])
def test_errors_name_the_key(tmp_path: Path, scores: dict, message: str) -> None:
    with pytest.raises(JobError, match=message):
        _job(tmp_path, scores=scores)
