"""curate.stages.dup_ids: later copies of an id within one input, found across its files and rejected."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.stages.dup_ids import REASON, apply_duplicate_ids, find_duplicate_ids, report, skipped_nodes

COLUMNS = ("source", "id", "source_file", "source_line", "exact_hash", "drop_reason", "drop_detail")


def checkpoint(path: Path, rows: list[tuple]) -> str:
    """A checkpoint shard holding the columns phase B reads: (source, id, file, line, hash, reason)."""
    cols = list(zip(*[(*r, None if r[5] is None else f"{r[2]}:{r[3]}: why") for r in rows], strict=True))
    types = [pa.string(), pa.string(), pa.string(), pa.int64(), pa.uint64(), pa.string(), pa.string()]
    pq.write_table(pa.table({n: pa.array(c, t) for n, c, t in zip(COLUMNS, cols, types, strict=True)}), path)
    return str(path)


def test_the_first_occurrence_is_by_file_order_then_line_and_every_later_copy_is_found(tmp_path: Path) -> None:
    # b.jsonl comes first in the job's file order although its shard is written second
    a = checkpoint(tmp_path / "1.parquet", [
        ("s", "x", "a.jsonl", 1, 10, None),
        ("s", "y", "a.jsonl", 2, 20, None),
        ("s", "y", "a.jsonl", 5, 21, "some_rule"),     # a copy a rule rejected: counted, not re-rejected
        ("s", "z", "a.jsonl", 3, 30, "malformed_input"),  # read badly: its id is no input id
        ("t", "x", "a2.jsonl", 1, 10, None),          # another input may use the same id
    ])
    b = checkpoint(tmp_path / "2.parquet", [
        ("s", "x", "b.jsonl", 7, 11, None),
        ("s", "z", "b.jsonl", 1, 30, None),
        ("s", "y", "b.jsonl", 2, 20, None),
    ])
    order = {"b.jsonl": 0, "a.jsonl": 1, "a2.jsonl": 2}
    copies = find_duplicate_ids([a, b], ["s", "t"], order)
    got = {(r["id"], r["source_file"], r["source_line"]): (r["first_file"], r["first_line"], r["live"])
           for r in copies.iter_rows(named=True)}
    assert got == {("x", "a.jsonl", 1): ("b.jsonl", 7, True),
                   ("y", "a.jsonl", 2): ("b.jsonl", 2, True),
                   ("y", "a.jsonl", 5): ("b.jsonl", 2, False)}
    assert report(copies, ["s", "t"]) == {"s": {"records": 3, "ids": 2, "rejected": 2, "examples": ["x", "y"]},
                                          "t": {"records": 0, "ids": 0, "rejected": 0, "examples": []}}
    # inputs without an id field are not looked at
    assert find_duplicate_ids([a, b], [], order).height == 0


def test_texts_only_the_rejected_copies_carry_are_skipped(tmp_path: Path) -> None:
    shard = checkpoint(tmp_path / "1.parquet", [
        ("s", "x", "a.jsonl", 1, 10, None),
        ("s", "x", "a.jsonl", 2, 10, None),  # the same text as the first: the text stays
        ("s", "y", "a.jsonl", 3, 20, None),
        ("s", "y", "a.jsonl", 4, 21, None),  # a text of its own: skipped by dedup and line rules
        ("s", "w", "a.jsonl", 5, 22, None),
        ("s", "v", "a.jsonl", 6, 30, None),
        ("s", "v", "a.jsonl", 7, 22, None),  # the text of another kept record (w): it stays
    ])
    copies = find_duplicate_ids([shard], ["s"], {"a.jsonl": 0})
    assert skipped_nodes(copies).to_pylist() == [21]


def test_apply_rejects_live_copies_naming_the_first_and_keeps_row_order(tmp_path: Path) -> None:
    rows = [("s", "x", "a.jsonl", 1, 10, None), ("s", "y", "a.jsonl", 2, 20, "some_rule"),
            ("s", "x", "a.jsonl", 3, 11, None), ("s", "y", "a.jsonl", 4, 20, "some_rule"),
            ("s", "q", "a.jsonl", 5, 50, None)]
    shard = checkpoint(tmp_path / "1.parquet", rows)
    copies = find_duplicate_ids([shard], ["s"], {"a.jsonl": 0})
    table = pq.read_table(shard)
    out = apply_duplicate_ids(table.take([4, 3, 2, 1, 0]), copies)
    assert out.column("source_line").to_pylist() == [5, 4, 3, 2, 1]
    assert out.column("drop_reason").to_pylist() == [None, "some_rule", REASON, "some_rule", None]
    assert out.column("drop_detail").to_pylist()[2] == "duplicate_id x: first at a.jsonl:1"
    assert out.column("drop_detail").to_pylist()[1] == "a.jsonl:4: why"  # a rule's verdict stays
