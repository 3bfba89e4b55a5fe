"""A run's progress on the terminal: one display per phase, drawn in place on a terminal, one line otherwise.

On a terminal each phase is one line redrawn in place (records and MB so far, their rates, and an ETA when
the phase's total is known), then left with the phase's totals. Anywhere else (a pipe, a file, a log
collector, `-v`, whose log lines would tangle with a redrawn line) each phase writes one line when it ends:
its records, MB, seconds and rates. The counts come from the pipeline (`sample`, polled on a thread only
while a live line is drawn); this module only renders them. Standard library only: the CLI imports it
before any heavy module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

MB = 1e6
# a live line polls the phase's counts (a listing of OUT's folders) and redraws this often
TICK_S = 0.5
MIN_REDRAW_S = 0.1  # `update` calls closer together than this draw nothing

Sample = Callable[[], tuple[int, int | None]]  # (records done, bytes done or None) so far


def _num(n: float) -> str:
    return f"{n:,.0f}"


def _duration(s: float) -> str:
    s = max(0, int(round(s)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class PhaseProgress:
    """One phase's display on `stream`: `update` redraws a live line (at most every MIN_REDRAW_S), `finish` ends it
    with the phase's totals (the only output when not `live`).

    `total_records` / `total_bytes`: the phase's totals when known up front (None: unknown), for the share
    done and the ETA; `incremental=False`: the phase's counts are known only at its end (its live line shows
    what it works on and the time); `clock`: seconds, monotonic (tests pass their own).
    """

    def __init__(self, stream: TextIO, label: str, *, live: bool, total_records: int | None = None,
                 total_bytes: int | None = None, incremental: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.label, self.live = stream, label, live
        self.total_records, self.total_bytes, self.incremental = total_records, total_bytes, incremental
        self.clock = clock
        self.started = clock()
        self._drawn_at: float | None = None

    def line(self, records: int, nbytes: int | None, now: float | None = None) -> str:
        """The live line for these counts: share done, records and MB (of their totals), rates, time, ETA."""
        seconds = (self.clock() if now is None else now) - self.started
        if not self.incremental:
            work = [f"{_num(self.total_records)} records" if self.total_records is not None else "",
                    f"{self.total_bytes / MB:,.1f} MB" if self.total_bytes is not None else ""]
            return "  ".join(p for p in [self.label, *work, _duration(seconds)] if p)
        # the share and ETA follow bytes when their total is known (records may not be), else records
        done, total = (nbytes, self.total_bytes) if nbytes is not None and self.total_bytes else (records, self.total_records)
        share = f"{min(1.0, done / total):.0%}" if total else ""
        recs = f"{_num(records)}" + (f"/{_num(self.total_records)}" if self.total_records else "") + " records"
        size = ""
        if nbytes is not None:
            size = f"{nbytes / MB:,.1f}" + (f"/{self.total_bytes / MB:,.1f}" if self.total_bytes else "") + " MB"
        rates = ""
        if seconds >= 1 and records:
            rates = f"{_num(records / seconds)} rec/s" + (f"  {nbytes / MB / seconds:,.1f} MB/s" if nbytes is not None else "")
        eta = f"ETA {_duration(seconds * (total - done) / done)}" if seconds >= 1 and total and done and done < total else ""
        return "  ".join(p for p in [self.label, share, recs, size, rates, _duration(seconds), eta] if p)

    def summary(self, records: int, nbytes: int | None, now: float | None = None) -> str:
        """The phase's closing line: records, MB, seconds and rates."""
        seconds = (self.clock() if now is None else now) - self.started
        per_s = max(seconds, 1e-3)
        size = f", {nbytes / MB:,.1f} MB" if nbytes is not None else ""
        rates = f"{_num(records / per_s)} records/s" + (f", {nbytes / MB / per_s:,.2f} MB/s" if nbytes is not None else "")
        return f"{self.label}: {_num(records)} records{size} in {seconds:,.1f} s ({rates})"

    def update(self, records: int, nbytes: int | None = None) -> None:
        """Redraw the live line with these counts (no output when not live, or within MIN_REDRAW_S of the last)."""
        if not self.live:
            return
        now = self.clock()
        if self._drawn_at is not None and now - self._drawn_at < MIN_REDRAW_S:
            return
        self._drawn_at = now
        _redraw(self.stream, self.line(records, nbytes, now))

    def finish(self, records: int, nbytes: int | None = None) -> None:
        """End the phase: its summary line, in place of the live line on a terminal."""
        text = self.summary(records, nbytes)
        if self.live:  # whole, even if it wraps: it is never redrawn
            _redraw(self.stream, text, fit=False)
            self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def abandon(self) -> None:
        """The phase failed: end a live line so that the error starts on a line of its own."""
        if self.live and self._drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()


class Progress:
    """The displays of one run on `stream` (None: no output at all, e.g. a library call).

    `live`: draw in place; by default when `stream` is a terminal and curate's INFO log is off (`-v` writes
    log lines to the same terminal, which a redrawn line would tangle with).
    """

    def __init__(self, stream: TextIO | None, live: bool | None = None) -> None:
        self.stream = stream
        if live is None:
            live = bool(stream is not None and stream.isatty() and not logging.getLogger("curate").isEnabledFor(logging.INFO))
        self.live = live

    @contextlib.contextmanager
    def note(self, text: str) -> Iterator[None]:
        """On a terminal, show `text` while the block runs (e.g. Ray starting), then clear it; else nothing."""
        if not self.live or self.stream is None:
            yield
            return
        _redraw(self.stream, text)
        try:
            yield
        finally:
            _redraw(self.stream, "")

    @contextlib.contextmanager
    def phase(self, label: str, *, total_records: int | None = None, total_bytes: int | None = None,
              sample: Sample | None = None, incremental: bool = True,
              clock: Callable[[], float] = time.monotonic) -> Iterator[Phase]:
        """Show one phase while the block runs; the block ends it with `done(records, bytes)`.

        Live, a thread calls `sample` every TICK_S and redraws; otherwise nothing runs until the phase ends.
        A phase whose block raises (or never calls `done`) writes no totals.
        """
        if self.stream is None:
            yield Phase(None)
            return
        bar = PhaseProgress(self.stream, label, live=self.live, total_records=total_records,
                            total_bytes=total_bytes, incremental=incremental, clock=clock)
        stop = threading.Event()
        thread = None
        if self.live:
            thread = threading.Thread(target=_poll, args=(bar, sample, stop), name="curate-progress", daemon=True)
            thread.start()
        handle, ended = Phase(bar), False
        try:
            yield handle
            ended = True
        finally:
            stop.set()
            if thread is not None:
                thread.join()
            if ended and handle.totals is not None:
                bar.finish(*handle.totals)
            else:
                bar.abandon()


class Phase:
    """What a phase's block holds: `done(records, bytes)` records the totals its closing line shows."""

    def __init__(self, bar: PhaseProgress | None) -> None:
        self.bar = bar
        self.totals: tuple[int, int | None] | None = None

    def done(self, records: int, nbytes: int | None = None) -> None:
        """The phase's final counts (written when its block ends)."""
        self.totals = (records, nbytes)


def _poll(bar: PhaseProgress, sample: Sample | None, stop: threading.Event) -> None:
    counts: tuple[int, int | None] = (0, None if bar.total_bytes is None else 0)
    while True:
        if sample is not None:
            # a display never fails the run (e.g. a folder removed under us): keep the last counts
            with contextlib.suppress(Exception):
                counts = sample()
        bar.update(*counts)
        if stop.wait(TICK_S):
            return


def _columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to (100 when it has none or does not say, e.g. a StringIO)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 100
    except (AttributeError, OSError, ValueError):
        return 100


def _redraw(stream: TextIO, text: str, fit: bool = True) -> None:
    """Replace the terminal's current line with `text`: carriage return, the text, erase to the line's end.
    `fit`: cut to the terminal's width, since a wrapped line cannot be redrawn in place."""
    stream.write("\r" + (text[:_columns(stream) - 1] if fit else text) + "\x1b[K")
    stream.flush()
