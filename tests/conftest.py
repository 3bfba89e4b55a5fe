"""Shared fixtures: repo paths, the committed dataset fixtures, the full datasets, one local Ray per session.

Data: `tests/fixtures/` holds small cuts of CPED, COLD, SMILECHAT and EmoLLM in the layout (and the file
formats) of the full datasets folder, so every test runs on a fresh clone. Tests that need the full
datasets (`curate.assets.data_root()`: $CURATE_DATA, else ../shared/data beside the checkout) are marked
`data` (a test that uses `shared_data` is marked so here): without the folder they are skipped and the run
ends with one line saying how many and why; with CI=true the run stops before any test, naming the folder.
Which tests, and where the data comes from: tests/data-sources.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from curate.assets import DATA_ENV, data_root

# No test asserts wall-clock time: Hypothesis' per-example deadline would, and fails on a loaded machine.
settings.register_profile("curate", deadline=None)
settings.load_profile("curate")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"      # the datasets folder's layout: FIXTURES / "cped" / "valid.csv", ...
SMILECHAT_FIXTURE = FIXTURES / "smilechat" / "dialogues.jsonl"
CPED_FIXTURE = FIXTURES / "cped" / "valid.csv"
SHARED_DATA = data_root()
DATA_SKIP = "needs the full datasets"
SOURCES = "tests/data-sources.md"


def _data_missing() -> bool:
    return not SHARED_DATA.is_dir()


def _skip_reason() -> str:
    return f"{DATA_SKIP}: {SHARED_DATA} is missing (set {DATA_ENV}; see {SOURCES})"


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that reads the full datasets `data`; skip them when the folder is missing."""
    skip = pytest.mark.skip(reason=_skip_reason())
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()) and item.get_closest_marker("data") is None:
            item.add_marker(pytest.mark.data)
        if _data_missing() and item.get_closest_marker("data") is not None:
            item.add_marker(skip)


def pytest_collection_finish(session: pytest.Session) -> None:
    """On CI a missing datasets folder is a broken setup, not a reason to skip: stop before any test runs
    (only when selected tests need it: `-m "not data"` opts out)."""
    if _on_ci() and _data_missing() and any(i.get_closest_marker("data") for i in session.items):
        pytest.exit(f"CI=true and the full datasets folder {SHARED_DATA} is missing: set {DATA_ENV}=/path/to/data "
                    f"(sources: {SOURCES}), or deselect the tests that need it with -m 'not data'",
                    returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config):
    """One line when tests were skipped for want of the full datasets: the outermost wrapper, so it comes
    after pytest's short test summary, just above the final counts."""
    result = yield
    n = sum(DATA_SKIP in str(getattr(r, "longrepr", "")) for r in terminalreporter.stats.get("skipped", []))
    if n:
        terminalreporter.write_line(f"{n} tests skipped: they need the full datasets; set {DATA_ENV}=/path/to/data "
                                    f"(looked in {SHARED_DATA}; sources: {SOURCES})", yellow=True, bold=True)
    return result


@pytest.fixture(scope="session")
def repo() -> Path:
    """The checkout's root."""
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The full datasets (curate.assets.data_root()), read in place, never copied into the repo."""
    if _data_missing():
        pytest.skip(_skip_reason())
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixture_data() -> Path:
    """tests/fixtures: the committed cuts of CPED, COLD, SMILECHAT and EmoLLM, laid out as the datasets folder."""
    return FIXTURES


@pytest.fixture(scope="session")
def smilechat_fixture() -> Path:
    """100 SMILECHAT dialogues in the dataset's own JSONL (`{"id", "turns": [{"role", "content"}]}`)."""
    return SMILECHAT_FIXTURE


@pytest.fixture(scope="session")
def cped_fixture() -> Path:
    """30 whole CPED dialogues of the valid split, in CPED's own CSV (header, CRLF line ends)."""
    return CPED_FIXTURE


@pytest.fixture(scope="session", params=["fixtures", pytest.param("full", marks=pytest.mark.data)])
def dataset_root(request: pytest.FixtureRequest) -> Path:
    """A datasets folder: the committed fixtures, and (marked `data`) the full datasets, in the same layout,
    so a test that takes it runs on every fresh clone and again on the full data where it is present."""
    if request.param == "fixtures":
        return FIXTURES
    return request.getfixturevalue("shared_data")


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the whole session (NeMo Curator's conftest does the same); shut down at the end."""
    import ray

    from curate.engine.session import init_ray

    info = init_ray(num_cpus=2)
    yield info
    ray.shutdown()


def shared_sample_inputs(shared_data: Path) -> list[str]:
    """`--input NAME=PATH` overrides pointing jobs/shared-sample.yaml (whose paths say ../../shared/data, beside
    the checkout) at the datasets folder the tests use, which $CURATE_DATA may put elsewhere."""
    return [f"smilechat={shared_data / 'smilechat' / 'dialogues.jsonl'}", f"cped={shared_data / 'cped' / 'train.csv'}",
            f"commoncrawl={shared_data / 'web' / 'cwt-commoncrawl-sample.jsonl'}"]


def make_job(tmp_path: Path, inputs: list[dict], **extra) -> object:
    """A validated Job over `inputs` (paths relative to tmp_path), writing to tmp_path/out."""
    from curate.job import parse_job

    doc = {"name": "t", "inputs": inputs, "output": str(tmp_path / "out"), **extra}
    return parse_job(doc, tmp_path)
