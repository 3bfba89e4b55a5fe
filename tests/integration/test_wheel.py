"""The wheel ships the assets: installed apart from the checkout, `curate run jobs/demo.yaml` works from any folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, capture_output=True)
    (whl,) = out.glob("curate-*.whl")
    return whl


def test_wheel_carries_every_asset_folder(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ("rules/default.yaml", "rules/dialogue.yaml", "rules/words/gambling.txt",
                  "jobs/demo.yaml", "schemas/record.json", "demo/web.jsonl", "demo/sitcom.csv"):
        assert f"curate/_assets/{asset}" in names, asset


def test_wheel_ships_the_demo_data_but_not_its_generator(wheel: Path) -> None:
    prefix = "curate/_assets/demo/"
    shipped = {n.removeprefix(prefix) for n in zipfile.ZipFile(wheel).namelist() if n.startswith(prefix)}
    demo = REPO / "demo"
    # every generated file of the checkout's demo/ (all but the generator and its banks), and nothing else
    data = {p.relative_to(demo).as_posix() for p in demo.rglob("*")
            if p.is_file() and p.relative_to(demo).parts[0] not in ("make_demo.py", "banks")
            and "__pycache__" not in p.parts}
    assert {"web.jsonl", "dialogues.jsonl", "chat_messages.jsonl", "sitcom.csv", "notes/diary.txt"} <= data
    assert shipped == data
    assert "make_demo.py" not in shipped and not any(n.startswith("banks/") for n in shipped)


@pytest.mark.ray
def test_installed_wheel_runs_the_demo_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "import sys; from curate.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "run", "jobs/demo.yaml", "-o", "out"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((elsewhere / "out" / "manifest.json").read_text())
    # the run used the installed copy's assets, not the checkout's
    assert str(site) in manifest["job"]["file"]
    assert manifest["totals"]["records_in"] == manifest["totals"]["kept"] + manifest["totals"]["rejected"] > 300
