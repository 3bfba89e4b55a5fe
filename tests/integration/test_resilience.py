"""Kill and resume, faults and storage errors, on the real `curate run`.

* A run SIGKILLed at any point and started again into the same OUT finishes without redoing finished units
  and writes the same shards, byte for byte, as an uninterrupted run; killed Ray workers are retried by Ray
  with the output unchanged.
* A record a stage fails on becomes a `processing_error` reject; the rest of its batch is unchanged.
* A full disk fails at the write with the file named, leaves nothing half-written, and the run resumes once
  there is room; a read-only OUT fails up front.

Every run is the real `curate run` CLI in its own process, on its own local Ray, with models in an actor
pool. Kills are injected through CURATE_FAULTS (`curate.faults`) at fixed points, so each test kills where
it says, plus one kill from outside at a moment chosen by polling the output folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CURATE = [sys.executable, "-m", "curate.cli"]
DLG_TEXT = "我爸妈最近天天吵架"  # in demo/dialogues.jsonl (dlg-001): a record of the dialogue input
WEB_TEXT = "建议预留三到六个月的生活费"  # in demo/web.jsonl (web-0002)

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def job_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo job with absolute paths, small shards (many units) and a few models (an actor pool)."""
    doc = yaml.safe_load((REPO / "jobs" / "demo.yaml").read_text(encoding="utf-8"))
    for spec in doc["inputs"]:
        spec["path"] = str((REPO / "jobs" / spec["path"]).resolve())
    doc.update(shard_rows=40, scores={"quality": "quality.yaml", "toxicity": "toxicity.yaml"},
               tags={"emotion": "emotion.yaml", "strategy": "strategy.yaml"})
    path = tmp_path_factory.mktemp("job") / "job.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _env(faults: list[dict] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "CURATE_FAULTS", "CURATE_DRIVER_PID")}
    if faults:
        env["CURATE_FAULTS"] = json.dumps(faults)
    return env


def _start(job_file: Path, out: Path, faults: list[dict] | None = None) -> subprocess.Popen:
    # output to a file, not a pipe: a killed driver's local Ray would hold a pipe open for a while;
    # its own session, so whatever the killed driver leaves behind can be stopped by process group
    log = open(out.parent / f"{out.name}.{time.monotonic_ns()}.log", "w+", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen([*CURATE, "run", str(job_file), "-o", str(out)], env=_env(faults), cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):  # a killed driver's local Ray: stop it at once
        os.killpg(proc.pid, signal.SIGKILL)
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    text = log.read()
    log.close()
    return proc.returncode, text


def _run(job_file: Path, out: Path, faults: list[dict] | None = None) -> tuple[int, str]:
    return _finish(_start(job_file, out, faults))


def _outputs(out: Path) -> dict[str, bytes]:
    """Every shard and stats file of a run, by path under OUT."""
    files = {}
    for sub in ("data", "rejects", "stats"):
        for p in sorted((out / sub).glob("*")):
            files[f"{sub}/{p.name}"] = p.read_bytes()
    return files


def _final_files_complete(out: Path) -> None:
    """After a kill: every file under a final name is whole (Parquet footers read), none is half-written."""
    for p in list(out.glob("data/*.parquet")) + list(out.glob("rejects/*.parquet")) + list(out.glob("_work/per_record/*.parquet")):
        pq.read_metadata(p)
    for p in list(out.glob("stats/*.json")) + list(out.glob("_work/**/*.json")):
        json.loads(p.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference(job_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict]:
    """The uninterrupted run's files and manifest."""
    out = tmp_path_factory.mktemp("ref") / "out"
    rc, log = _run(job_file, out)
    assert rc == 0, log
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["resumed"] is None
    assert len(manifest["shards"]) >= 10  # enough units that a kill lands between some
    return _outputs(out), manifest


def _resume_and_compare(job_file: Path, out: Path, reference: tuple[dict[str, bytes], dict]) -> dict:
    _final_files_complete(out)
    rc, log = _run(job_file, out)
    assert rc == 0, log
    assert "resumed the run started" in log
    files, ref_manifest = reference
    got = _outputs(out)
    assert sorted(got) == sorted(files)
    assert [k for k in files if got[k] != files[k]] == []  # byte for byte
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["totals"] == ref_manifest["totals"]
    assert all(f["reconciled"] for f in manifest["inputs"])
    assert not (out / "_work").exists()
    assert not list(out.rglob(".*.tmp"))
    return manifest["resumed"]


@pytest.mark.parametrize("fault", [
    {"at": "per_record", "match": DLG_TEXT, "action": "kill_driver"},  # a read task in flight
    {"at": "after_per_record", "action": "kill_driver"},
    {"at": "finish", "match": WEB_TEXT, "action": "kill_driver"},  # shards being scored and written
], ids=lambda f: f["at"])
def test_driver_killed_then_resumed(job_file: Path, tmp_path: Path, reference: tuple, fault: dict) -> None:
    out = tmp_path / "out"
    rc, log = _run(job_file, out, [fault])
    assert rc == -signal.SIGKILL, log
    assert not (out / "manifest.json").exists()
    resumed = _resume_and_compare(job_file, out, reference)
    a, c = resumed["per_record"], resumed["finish"]
    if fault["at"] == "per_record":
        assert a["read_now"] >= 1 and "dedup_global" not in resumed
    else:  # killed after per_record: nothing read again
        assert a["done_before"] == a["pieces"] and a["read_now"] == 0
    if fault["at"] == "finish":  # the global steps' decisions were reused
        assert resumed["dedup_global"] == "done before"
        assert c["written_now"] >= 1
    assert c["done_before"] + c["written_now"] == c["shards"]


def test_driver_killed_from_outside_then_resumed(job_file: Path, tmp_path: Path, reference: tuple) -> None:
    """SIGKILL by another process once some final shards exist, then a rerun into the same OUT."""
    out = tmp_path / "out"
    proc = _start(job_file, out)
    deadline = time.monotonic() + 240
    while len(list(out.glob("stats/*.json"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    rc, log = _finish(proc)
    assert rc == -signal.SIGKILL, log
    resumed = _resume_and_compare(job_file, out, reference)
    assert resumed["finish"]["done_before"] >= 3


def test_workers_killed_are_retried(job_file: Path, tmp_path: Path, reference: tuple) -> None:
    """A Ray worker SIGKILLed in per_record (a task) and in finish (a model actor): Ray retries, output unchanged.
    The faults use the points' earlier names (phase_a, phase_c), still read for one release."""
    out = tmp_path / "out"
    faults = [{"at": "phase_a", "match": DLG_TEXT, "action": "kill_worker", "once": str(tmp_path / "a.flag")},
              {"at": "phase_c", "match": WEB_TEXT, "action": "kill_worker", "once": str(tmp_path / "c.flag")}]
    rc, log = _run(job_file, out, faults)
    assert rc == 0, log
    assert (tmp_path / "a.flag").exists() and (tmp_path / "c.flag").exists()  # both kills happened
    files, ref_manifest = reference
    got = _outputs(out)
    assert [k for k in files if got.get(k) != files[k]] == [] and sorted(got) == sorted(files)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["resumed"] is None and manifest["totals"] == ref_manifest["totals"]


def _reference_rows(reference: tuple, folder: Path) -> pl.DataFrame:
    for name, data in reference[0].items():
        if name.endswith(".parquet"):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    return pl.concat([pl.read_parquet(p) for p in sorted(folder.glob("*/*.parquet"))], how="diagonal_relaxed")


def test_failing_records_become_processing_errors(job_file: Path, tmp_path: Path, reference: tuple) -> None:
    """A stage raising on one record, in per_record and in finish: that record is rejected with the exception,
    every other record ends as in the uninterrupted run."""
    ref = _reference_rows(reference, tmp_path / "ref")
    # kept records with no duplicate anywhere, so that failing them changes no other record's fate
    alone = ref.filter(pl.col("drop_reason").is_null() & pl.col("dup_cluster").is_null())
    web, dlg = (alone.filter(pl.col("kind") == k)["id"].sort()[0] for k in ("web", "dialogue"))
    out = tmp_path / "out"
    rc, log = _run(job_file, out, [{"at": "per_record", "id": web, "action": "raise"},
                                   {"at": "finish", "id": dlg, "action": "raise"}])
    assert rc == 0, log
    assert "warning: 2 record(s) failed processing" in log
    rows = pl.concat([pl.read_parquet(p) for p in sorted(out.glob("*/*.parquet"))], how="diagonal_relaxed")
    failed = rows.filter(pl.col("drop_reason") == "processing_error")
    assert sorted(failed["id"].to_list()) == sorted([web, dlg])
    details = sorted(failed["drop_detail"].to_list())
    assert all("InjectedFault: injected fault at " in d for d in details)
    assert any("at per_record" in d for d in details) and any("at finish" in d for d in details)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert all(f["reconciled"] for f in manifest["inputs"])
    assert manifest["totals"]["records_in"] == reference[1]["totals"]["records_in"]
    key = ["id", "drop_reason", "dup_of", "quality", "emotion"]
    others = pl.col("id").is_in([web, dlg]).not_()
    assert rows.filter(others).select(key).sort("id").equals(ref.filter(others).select(key).sort("id"))


def _in_own_mounts(script: str) -> subprocess.CompletedProcess:
    """Run a shell script in a private mount namespace (a tmpfs mounted there is seen by nothing else)."""
    user = [] if os.geteuid() == 0 else ["-r"]  # unprivileged: a user namespace maps us to root in it
    return subprocess.run(["unshare", *user, "-m", "--propagation", "private", "bash", "-euc", script],
                          env=_env(), cwd=REPO, capture_output=True, text=True, timeout=600)


def test_full_disk_fails_at_the_write_then_resumes(job_file: Path, tmp_path: Path, reference: tuple) -> None:
    """OUT on a 600 kB file system: the run stops with the failing file named; with room, the rerun resumes."""
    mnt, saved = tmp_path / "mnt", tmp_path / "saved"
    mnt.mkdir()
    cli = " ".join(CURATE)
    script = f"""
mount -t tmpfs -o size=600k tmpfs {mnt}
rc=0; {cli} run {job_file} -o {mnt}/out > {tmp_path}/full.log 2>&1 || rc=$?
echo "first rc=$rc"
find {mnt}/out -name '*.parquet' -o -name '*.json' | sort > {tmp_path}/left.txt
ls -a {mnt}/out/_work/per_record > {tmp_path}/work.txt
mount -o remount,size=64m {mnt}
{cli} run {job_file} -o {mnt}/out > {tmp_path}/resumed.log 2>&1
cp -r {mnt}/out {saved}
"""
    proc = _in_own_mounts(script)
    full_log = (tmp_path / "full.log").read_text(encoding="utf-8")
    assert proc.returncode == 0, proc.stdout + proc.stderr + full_log
    assert "first rc=1" in proc.stdout, full_log
    assert f"could not write {mnt}/out/" in full_log and "No space left on device" in full_log, full_log
    assert "Traceback" not in full_log  # one clear line, not Ray's stack
    assert not any(".tmp" in line for line in (tmp_path / "work.txt").read_text().splitlines())
    assert f"{mnt}/out/manifest.json" not in (tmp_path / "left.txt").read_text()
    assert "resumed the run started" in (tmp_path / "resumed.log").read_text(encoding="utf-8")
    files, _ = reference
    got = _outputs(saved)
    assert sorted(got) == sorted(files) and [k for k in files if got[k] != files[k]] == []


def test_read_only_output_fails_up_front(job_file: Path, tmp_path: Path) -> None:
    mnt = tmp_path / "ro"
    mnt.mkdir()
    proc = _in_own_mounts(f"mount -t tmpfs -o ro tmpfs {mnt}; {' '.join(CURATE)} run {job_file} -o {mnt}/out")
    assert proc.returncode == 2  # found up front, before any work: the configuration exit code
    assert f"Error: cannot create output folder {mnt}/out" in proc.stderr or "is not writable" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_cluster_is_a_clear_error(job_file: Path, tmp_path: Path) -> None:
    proc = subprocess.run([*CURATE, "run", str(job_file), "-o", str(tmp_path / "out"), "--address", "127.0.0.1:1"],
                          env=_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in proc.stderr and "Traceback" not in proc.stderr
