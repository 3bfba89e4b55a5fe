"""The committed dataset fixtures (tests/fixtures/): small, in their datasets' own formats, documented, and
recut byte for byte by tests/fixtures/make_fixtures.py from the full datasets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import curate.job
from tests.conftest import FIXTURES
from tests.fixtures import make_fixtures as mf

LIMIT = 1_000_000  # bytes, everything under tests/fixtures (the data README's rule: well under 1 MB)
COLD_COLUMNS = ["id", "split", "topic", "label", "TEXT"]


def test_recutting_from_the_datasets_reproduces_the_committed_bytes(shared_data: Path, tmp_path: Path) -> None:
    written = mf.make_fixtures(shared_data, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [c.path for c in mf.CUTS]
    for cut in mf.CUTS:
        assert (tmp_path / cut.path).read_bytes() == (FIXTURES / cut.path).read_bytes(), cut.path


def test_the_fixtures_are_the_cuts_and_stay_small() -> None:
    dataset_files = {p.relative_to(FIXTURES).as_posix() for d in ("cped", "cold", "smilechat", "emollm")
                     for p in (FIXTURES / d).rglob("*") if p.is_file()}
    assert dataset_files == {c.path for c in mf.CUTS}
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < LIMIT, f"tests/fixtures holds {total:,} bytes"


def _csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


@pytest.mark.parametrize("name", ["cped/train.csv", "cped/valid.csv"])
def test_cped_fixtures_are_whole_dialogues_in_cpeds_csv(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n"), "CPED's CRLF line ends"
    header, rows = _csv(FIXTURES / name)
    assert header == list(curate.job.CPED_COLUMNS)
    dialogues = [r[1] for r in rows]
    runs = [d for i, d in enumerate(dialogues) if i == 0 or d != dialogues[i - 1]]
    assert len(runs) == len(set(runs)) == 30, "each dialogue's rows together, in order"
    for d in set(runs):  # whole dialogues: utterance numbers 000, 001, ... without a gap
        ids = [r[2] for r in rows if r[1] == d]
        assert ids == [f"{d}_{i:03d}" for i in range(len(ids))], d


@pytest.mark.parametrize("name", ["cold/train.csv", "cold/dev.csv"])
def test_cold_fixtures_keep_colds_columns_and_both_labels(name: str) -> None:
    header, rows = _csv(FIXTURES / name)
    assert header == COLD_COLUMNS and len(rows) == 250
    assert {r[3] for r in rows} == {"0", "1"} and {r[2] for r in rows} == {"race", "region", "gender"}


def test_smilechat_and_emollm_fixtures_keep_their_formats() -> None:
    lines = (FIXTURES / "smilechat" / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 100 and all(set(r) == {"id", "turns"} for r in records)
    assert {t["role"] for r in records for t in r["turns"]} == {"client", "counselor"}
    raw = (FIXTURES / "emollm" / "data.json").read_bytes()
    items = json.loads(raw)
    assert mf.emollm_dumps(items) == raw and len(items) == 48
    assert all(set(c) <= {"system", "input", "output"} for it in items for c in it["conversation"])


def test_readme_names_every_fixture_its_source_and_license() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for cut in mf.CUTS:
        assert f"`{cut.path}`" in readme, cut.path
    for needle in ("scutcyr/CPED", "thu-coai/COLDataset", "qiuhuachuan/smile", "SmartFlowAI/EmoLLM",
                   "Apache-2.0", "CC0-1.0", "MIT", "NOTICE", "make_fixtures.py"):
        assert needle in readme, needle


def test_csv_cut_copies_raw_rows_and_keeps_dialogues_whole(tmp_path: Path) -> None:
    """A quoted field with a line break, CRLF ends and a U+2028 inside a field come through byte for byte."""
    rows = [b'1,a,"x\r\ny"\r\n', b"1,a,plain\r\n", b"2,b,\xe2\x80\xa8sep\r\n", b"3,c,z\r\n", b"3,c,zz\r\n"]
    raw = b"n,Dialogue_ID,T\r\n" + b"".join(rows)
    cut = mf.Cut("x/y.csv", 2, key="Dialogue_ID")
    out = mf.cut_csv(raw, cut, "y.csv")
    kept = mf.pick(cut, ["a", "b", "c"], "y.csv")
    assert out == b"n,Dialogue_ID,T\r\n" + b"".join(r for r in rows if r.split(b",")[1].decode() in kept)
    assert mf.cut_csv(raw, mf.Cut("x/y.csv", 1, "head", key="Dialogue_ID"), "y.csv") == b"n,Dialogue_ID,T\r\n" + rows[0] + rows[1]
    with pytest.raises(ValueError, match="y.csv: only 3 keys to pick 4"):
        mf.cut_csv(raw, mf.Cut("x/y.csv", 4, key="Dialogue_ID"), "y.csv")
