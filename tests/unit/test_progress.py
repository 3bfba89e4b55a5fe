"""The progress display: one line per phase with its totals when not on a terminal, a redrawn line on one;
and the counts the pipeline feeds it, read from a phase's files."""

from __future__ import annotations

import io
import json
import logging
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.progress import MIN_REDRAW_S, PhaseProgress, Progress
from curate.run_progress import CheckpointProgress, ShardProgress


class Clock:
    """A clock the test moves by hand: no test depends on how fast it runs."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _never() -> tuple[int, int | None]:
    raise AssertionError("a display that is not live samples nothing")


def test_not_a_terminal_one_line_per_phase_with_its_totals() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(out)
    assert not progress.live
    with progress.phase("per_record (read)", total_bytes=2_000_000, sample=_never, clock=clock) as shown:
        clock.now += 4
        shown.done(1_000, 2_000_000)
    with progress.phase("dedup_global (duplicates)", total_records=1_000, incremental=False, clock=clock) as shown:
        clock.now += 0.5
        shown.done(1_000, None)
    assert out.getvalue().splitlines() == [
        "per_record (read): 1,000 records, 2.0 MB in 4.0 s (250 records/s, 0.50 MB/s)",
        "dedup_global (duplicates): 1,000 records in 0.5 s (2,000 records/s)",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_nothing_is_written_before_a_phase_ends_or_for_a_phase_that_fails() -> None:
    out = io.StringIO()
    progress = Progress(out)
    with pytest.raises(RuntimeError), progress.phase("per_record", total_bytes=10) as shown:
        assert out.getvalue() == ""
        shown.bar.update(5, 5)  # not live: draws nothing
        assert out.getvalue() == ""
        raise RuntimeError("the run failed")
    assert out.getvalue() == ""


def test_no_stream_no_output() -> None:
    with Progress(None).phase("per_record", sample=_never) as shown:
        shown.done(3, 3)
    assert shown.bar is None


def test_live_by_default_only_on_a_terminal_without_the_info_log() -> None:
    assert Progress(Terminal()).live
    assert not Progress(io.StringIO()).live
    log = logging.getLogger("curate")
    level = log.level
    log.setLevel(logging.INFO)  # -v: log lines go to the same terminal, so no line is redrawn
    try:
        assert not Progress(Terminal()).live
    finally:
        log.setLevel(level)


def test_live_line_shows_share_rates_and_eta_from_bytes_then_leaves_the_totals() -> None:
    out, clock = Terminal(), Clock()
    bar = PhaseProgress(out, "per_record", live=True, total_bytes=10_000_000, clock=clock)
    clock.now += 5
    bar.update(500, 2_500_000)
    drawn = out.getvalue()
    assert drawn.startswith("\r") and drawn.endswith("\x1b[K")
    text = drawn[1:-3]
    assert text == "per_record  25%  500 records  2.5/10.0 MB  100 rec/s  0.5 MB/s  0:05  ETA 0:15"
    clock.now += 15
    bar.finish(2_000, 10_000_000)
    last = out.getvalue().rsplit("\r", 1)[1]
    assert last == "per_record: 2,000 records, 10.0 MB in 20.0 s (100 records/s, 0.50 MB/s)\x1b[K\n"


def test_live_eta_from_records_when_bytes_are_unknown() -> None:
    out, clock = Terminal(), Clock()
    bar = PhaseProgress(out, "per_record", live=True, total_records=1_000, clock=clock)
    clock.now += 10
    bar.update(250, None)
    assert out.getvalue() == "\rper_record  25%  250/1,000 records  25 rec/s  0:10  ETA 0:30\x1b[K"


def test_live_redraws_at_most_every_min_redraw_s() -> None:
    out, clock = Terminal(), Clock()
    bar = PhaseProgress(out, "p", live=True, total_records=10, clock=clock)
    bar.update(1)
    bar.update(2)  # same instant: not drawn
    clock.now += 1.5 * MIN_REDRAW_S
    bar.update(3)
    assert out.getvalue().count("\r") == 2 and "1/10" in out.getvalue() and "2/10" not in out.getvalue()


def test_live_line_fits_the_terminal_but_the_totals_line_is_whole() -> None:
    out, clock = Terminal(), Clock()  # a stream without a terminal size: 100 columns
    bar = PhaseProgress(out, "x" * 150, live=True, total_records=10, clock=clock)
    bar.update(1)
    assert out.getvalue() == "\r" + "x" * 99 + "\x1b[K"
    bar.finish(10)
    assert out.getvalue().endswith("\r" + "x" * 150 + ": 10 records in 0.0 s (10,000 records/s)\x1b[K\n")


def test_a_phase_known_only_at_its_end_shows_its_input_and_time() -> None:
    out, clock = Terminal(), Clock()
    bar = PhaseProgress(out, "dedup_global (duplicates)", live=True, total_records=1_234, total_bytes=5_000_000,
                        incremental=False, clock=clock)
    clock.now += 2
    bar.update(0, 0)
    assert out.getvalue() == "\rdedup_global (duplicates)  1,234 records  5.0 MB  0:02\x1b[K"


def test_live_phase_polls_its_sample_and_ends_with_the_totals() -> None:
    out, calls = Terminal(), []

    def sample() -> tuple[int, int | None]:
        calls.append(1)
        return 7, 700

    progress = Progress(out, live=True)
    with progress.note("starting a local Ray"):
        assert out.getvalue() == "\rstarting a local Ray\x1b[K"
    with progress.phase("per_record", total_bytes=1_400, sample=sample) as shown:
        shown.done(14, 1_400)
    assert calls, "the live line samples at least once"
    assert re.search(r"\rper_record  50%  7 records  0\.0/0\.0 MB  .*\x1b\[K", out.getvalue())
    final = out.getvalue().rsplit("\r", 1)[1]
    assert final.startswith("per_record: 14 records, 0.0 MB in ") and final.endswith("\x1b[K\n")


def test_live_phase_that_fails_ends_its_line() -> None:
    out = Terminal()
    with pytest.raises(ValueError), Progress(out, live=True).phase("finish", total_records=3, sample=lambda: (1, None)):
        raise ValueError("disk full")
    assert out.getvalue().endswith("\n") and "finish: " not in out.getvalue()


def _shard(path, rows: int) -> None:
    pq.write_table(pa.table({"x": list(range(rows))}), path)


def test_checkpoint_progress_counts_written_shards_and_finished_read_tasks(tmp_path) -> None:
    (tmp_path / "done").mkdir()
    count = CheckpointProgress(tmp_path, {0: 1_000, 1: 3_000}, before=frozenset({"part-00000-0000000000"}))
    assert count() == (0, 0)
    _shard(tmp_path / "part-00000-0000000000.parquet", 5)  # written by an earlier run: not counted
    _shard(tmp_path / "part-00001-0000000000.parquet", 4)
    _shard(tmp_path / ".part-00001-0000000004.parquet.abc.tmp", 9)  # being written
    assert count() == (4, 0)
    (tmp_path / "done" / "piece-000001.json").write_text(json.dumps([{"rows": 4}]))
    assert count() == (4, 3_000)
    assert CheckpointProgress(tmp_path, None)() == (9, None)


def test_shard_progress_counts_shards_whose_stats_are_written(tmp_path) -> None:
    count = ShardProgress(tmp_path, {"part-00000-0000000000": 10, "part-00001-0000000000": 30}, 2.5)
    assert count() == (0, 0)
    (tmp_path / "part-00001-0000000000.json").write_text("{}")
    (tmp_path / "part-00009-0000000000.json").write_text("{}")  # done by an earlier run: not in `rows`
    assert count() == (30, 75)
    assert ShardProgress(tmp_path, {"part-00001-0000000000": 30}, None)() == (30, None)
