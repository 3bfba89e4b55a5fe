"""What `curate run` shows: no Ray internals on a normal run, one line per phase when piped, a line redrawn
in place on a terminal, and Ray's and curate's logs with -v.

Each run is the real CLI in its own process on its own local Ray, with the demo's models (the finish phase's actor
pool, where Ray's core worker used to print an error line on every run).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CURATE = [sys.executable, "-m", "curate.cli"]
TIMEOUT_S = 600

# lines that only Ray's internals print: its C++ core (`core_worker.cc:2465`, `[... E 123 123]`), raylet
# and worker output forwarded to the driver, its Python loggers and Ray Data's banners and bars
RAY_INTERNALS = re.compile(r"core_worker|\.cc:\d|\(raylet\)|\(pid=|\bWARNING\b|\bINFO\b|Started a local Ray|"
                           r"Dataset dataset_|Running Dataset|Tasks: \d|[█▏▎▍▌▋▊▉]|^\[\d{4}-\d\d-\d\d", re.M)
PHASES = ["per_record", "dedup_global", "finish"]
PHASE_LINE = re.compile(r"^(per_record|dedup_global|finish) \([^)]*\): [\d,]+ records(, [\d,.]+ MB)? in [\d,.]+ s \([\d,]+ records/s"
                        r"(, [\d,.]+ MB/s)?\)$")

pytestmark = pytest.mark.ray


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "CURATE_FAULTS", "CURATE_DRIVER_PID")}


def _run(out: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([*CURATE, *args, "run", "jobs/demo.yaml", "-o", str(out)], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_a_piped_run_shows_no_ray_internals_and_one_line_per_phase(tmp_path: Path) -> None:
    proc = _run(tmp_path / "out")
    assert not RAY_INTERNALS.search(proc.stderr + proc.stdout), proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("curate: job 'demo': ")
    assert [line.split()[0] for line in lines[1:]] == PHASES, proc.stderr
    assert all(PHASE_LINE.match(line) for line in lines[1:]), proc.stderr
    assert re.search(r"^finish \(.*\): 372 records, ", proc.stderr, re.M)  # every demo record scored or rejected
    assert re.search(r"^input +in +kept +rejected +malformed +reconciled$", proc.stdout, re.M)
    assert proc.stdout.rstrip().splitlines()[-1].startswith("output: ")


def test_verbose_shows_ray_and_curate_logs(tmp_path: Path) -> None:
    proc = _run(tmp_path / "out", "-v")
    assert "INFO curate: ray: " in proc.stderr  # our INFO log
    assert "Started a local Ray instance" in proc.stderr  # Ray's own
    assert len(proc.stderr.splitlines()) > 1 + len(PHASES)  # more than the job line and the phase lines


def test_on_a_terminal_the_phase_line_is_redrawn_in_place(tmp_path: Path) -> None:
    """stderr on a pseudo-terminal (stdout piped): each phase is drawn with carriage returns and left as its
    totals line; nothing of Ray's reaches the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # 30 lines of 120 columns
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other end closed: the run is over
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([*CURATE, "run", "jobs/demo.yaml", "-o", str(tmp_path / "out"), "--limit", "60"],
                              cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=slave, text=True,
                              timeout=TIMEOUT_S)
    finally:
        os.close(slave)
        reader.join(timeout=30)
        os.close(master)
    terminal = b"".join(chunks).decode("utf-8", errors="replace")
    assert proc.returncode == 0, terminal + proc.stdout
    assert not RAY_INTERNALS.search(terminal), terminal
    assert "\rstarting a local Ray\x1b[K" in terminal
    assert re.search(r"\rper_record \(read, rules, hashes\)  .*60 records.*\x1b\[K", terminal), terminal
    # what the screen keeps: each line as its last carriage return left it
    screen = [line.rsplit("\r", 1)[-1].replace("\x1b[K", "") for line in terminal.replace("\r\n", "\n").split("\n")]
    phases = [line for line in screen if line.split(" ", 1)[0] in PHASES]
    assert [line.split()[0] for line in phases] == PHASES, terminal
    assert all(PHASE_LINE.match(line) for line in phases), phases
    assert "reconciled" in proc.stdout
