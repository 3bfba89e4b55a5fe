"""Recording label lines into a gold file: one row per line, comments and rows the file holds left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.annotations import append_rows, read_rows


def _row(line: str) -> dict | None:
    idx, label = line.rstrip("\n").split("\t")[:2]
    if label == "skip":
        return None
    if label not in ("a", "b"):
        raise SystemExit(f"bad label {label!r} for sample {idx}")
    return {"id": int(idx), "label": label}


def _key(row: dict) -> int:
    return row["id"]


def test_append_rows_records_new_rows_once(tmp_path: Path) -> None:
    gold = tmp_path / "sub" / "gold.jsonl"
    assert append_rows(["# header", "0\ta", "", "1\tb", "2\tskip", "0\tb"], gold, _key, _row) == 2
    assert read_rows(gold) == [{"id": 0, "label": "a"}, {"id": 1, "label": "b"}]
    # a second session: what the file holds stays as first recorded
    assert append_rows(["1\ta", "3\ta\n"], gold, _key, _row) == 1
    assert read_rows(gold) == [{"id": 0, "label": "a"}, {"id": 1, "label": "b"}, {"id": 3, "label": "a"}]


def test_append_rows_bad_label_stops_with_the_sample(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="bad label 'c' for sample 7"):
        append_rows(["7\tc"], tmp_path / "gold.jsonl", _key, _row)
