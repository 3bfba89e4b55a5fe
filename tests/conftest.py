"""Shared fixtures: repo paths, the real data in ../shared/data, one local Ray per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo() -> Path:
    """The checkout's root."""
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real public datasets, read in place (never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: the tests read the real datasets that sit beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the whole session (NeMo Curator's conftest does the same); shut down at the end."""
    import ray

    from curate.engine.session import init_ray

    info = init_ray(num_cpus=2)
    yield info
    ray.shutdown()


def make_job(tmp_path: Path, inputs: list[dict], **extra) -> object:
    """A validated Job over `inputs` (paths relative to tmp_path), writing to tmp_path/out."""
    from curate.job import parse_job

    doc = {"name": "t", "inputs": inputs, "output": str(tmp_path / "out"), **extra}
    return parse_job(doc, tmp_path)
