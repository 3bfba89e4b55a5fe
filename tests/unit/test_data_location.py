"""Where the full datasets are looked for: one rule (curate.assets.data_root), used by train and eval."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from curate.assets import DATA_ENV, data_root
from curate.cli import main
from tests.conftest import REPO


def test_curate_data_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "elsewhere"))
    assert data_root() == (tmp_path / "elsewhere").resolve()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_ENV, "rel/data")  # a relative value is taken from the working folder
    assert data_root() == tmp_path / "rel" / "data"


def test_default_is_shared_data_beside_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # not the working folder: the checkout
    assert data_root() == (REPO.parent / "shared" / "data").resolve()  # a symlinked shared/ resolves
    monkeypatch.setenv(DATA_ENV, "  ")  # blank counts as unset
    assert data_root() == (REPO.parent / "shared" / "data").resolve()  # a symlinked shared/ resolves


@pytest.mark.parametrize("args", [["train", "toxicity"], ["eval", "esc_relevance"]])
def test_train_and_eval_name_a_missing_data_folder(args: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-data"
    result = CliRunner().invoke(main, [*args] + (["--out", str(tmp_path / "o")] if args[0] == "train" else []),
                                env={DATA_ENV: str(missing)})
    assert result.exit_code == 2, result.output
    assert str(missing) in result.output and DATA_ENV in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
