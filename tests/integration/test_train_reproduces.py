"""`curate train TASK` from this checkout reproduces the committed model and its card metrics, byte for byte.

Training reads the full datasets (marked `data`: skipped where they are missing; tests/data-sources.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.models import SCORE_TASKS
from curate.models.card import read_card


@pytest.mark.data
@pytest.mark.parametrize("task", list(SCORE_TASKS))
def test_train_reproduces_the_committed_card(task: str, repo: Path, shared_data: Path, tmp_path: Path) -> None:
    committed = read_card(repo / "classifiers" / f"{task}.yaml")
    result = CliRunner().invoke(main, ["train", task, "--data-root", str(shared_data), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    fresh = read_card(tmp_path / f"{task}.yaml")
    assert fresh.metrics == committed.metrics
    assert fresh.calibration == committed.calibration
    assert fresh.training["examples"] == committed.training["examples"]
    assert fresh.sha256 == committed.sha256, "same config, data and seed must give the same model bytes"
    assert (tmp_path / committed.model).read_bytes() == (repo / "classifiers" / committed.model).read_bytes()
