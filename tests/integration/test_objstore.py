"""Runs on object storage: `curate run` reading inputs from and writing OUT to a real S3-compatible server.

The server is moto in server mode (`tests/s3server.py`, its own process on a free loopback port); curate
talks HTTP to it as to S3 or MinIO, nothing of curate is mocked. Every run is the real CLI in its own
process, its own local Ray, the server's AWS_* settings in its environment:

* the demo job into `s3://BUCKET/demo` gives the objects a local run gives, byte for byte, and leaves no
  checkpoint, temporary object or unfinished upload; its credentials appear in no object, log or Ray log;
* inputs on the store (gzip and zstd JSONL, a CSV, a glob of text files, a JSONL big enough to be read in
  byte-range pieces) and an evaluation file to decontaminate against give the records the same files give
  from disk;
* `curate inspect`, `dashboard`, `export` and `dedup` take URLs, `export --to` and dedup's OUT included;
* a driver killed while shards are written, then rerun into the same `s3://` OUT, resumes (no rename on a
  store: finished units are known by their markers), aborts an unfinished upload left under OUT, and ends
  with the objects of an uninterrupted run.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest
import yaml
import zstandard

from tests.s3server import S3Server

REPO = Path(__file__).resolve().parents[2]
CURATE = [sys.executable, "-m", "curate.cli"]
WEB_TEXT = "建议预留三到六个月的生活费"  # in demo/web.jsonl (web-0002): a record of the first web shard
SHARDS = ("data", "rejects", "stats")

pytestmark = pytest.mark.ray


def _env(s3: S3Server, **extra: str) -> dict[str, str]:
    """This environment without Ray or fault settings, with the server's endpoint and credentials."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RAY_", "AWS_")) and k not in ("CURATE_FAULTS", "CURATE_DRIVER_PID")}
    return {**env, **s3.env, **extra}


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # its own session: a killed driver's local Ray is stopped by process group afterwards
    proc = subprocess.Popen([*CURATE, *args], cwd=REPO, env=env, stdout=open(log, "w"),  # noqa: SIM115
                            stderr=subprocess.STDOUT, start_new_session=True)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _finish(proc: subprocess.Popen, timeout: float = 400) -> tuple[int, str]:
    try:
        proc.wait(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the run's local Ray, if the driver was killed
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, proc.log.read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]


def _local_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _shards(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if k.split("/")[0] in SHARDS}


@pytest.fixture(scope="module")
def demo_runs(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`curate run jobs/demo.yaml` into s3://BUCKET/demo (with -v, its Ray under a folder of its own) and into
    a local folder, at once (much of a small run is Ray's start-up, not CPU)."""
    tmp = tmp_path_factory.mktemp("demo")
    bucket = s3_server.bucket()
    url, local = f"s3://{bucket}/demo", tmp / "local"
    ray_dir = Path(tempfile.mkdtemp(prefix="rs3-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    try:
        runs = [_start(["-v", "run", "jobs/demo.yaml", "-o", url], _env(s3_server, RAY_TMPDIR=str(ray_dir)),
                       tmp / "s3.log"),
                _start(["run", "jobs/demo.yaml", "-o", str(local)], _env(s3_server), tmp / "local.log")]
        results = [_finish(p) for p in runs]
        for rc, log in results:
            assert rc == 0, log
        ray_logs = b"".join(p.read_bytes() for p in ray_dir.rglob("*") if p.is_file() and not p.is_symlink())
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)
    return {"url": url, "objects": s3_server.objects(url), "local": _local_files(local), "log": results[0][1],
            "ray_logs": ray_logs, "local_dir": local}


def test_the_demo_on_s3_equals_the_local_run_byte_for_byte(demo_runs: dict, s3_server: S3Server) -> None:
    objects, local = demo_runs["objects"], demo_runs["local"]
    assert sorted(objects) == sorted(local), "the same objects as files"
    assert "manifest.json" in objects and "dashboard/index.html" in objects
    assert not [k for k in objects if k.startswith("_work/") or k.endswith((".tmp", "/"))], "no checkpoint left"
    assert s3_server.uploads(demo_runs["url"]) == []
    shards = _shards(objects)
    assert any(k.startswith("data/") for k in shards) and any(k.startswith("rejects/") for k in shards)
    assert [k for k in shards if shards[k] != local[k]] == [], "every shard, rejects and stats object, byte for byte"
    manifest = json.loads(objects["manifest.json"])
    ref = json.loads(local["manifest.json"])
    assert manifest["job"]["config"]["output"] == demo_runs["url"]  # recorded as given
    assert manifest["totals"] == ref["totals"] and all(f["reconciled"] for f in manifest["inputs"])
    assert f"output: {demo_runs['url']}" in demo_runs["log"]


def test_credentials_are_never_written(demo_runs: dict, s3_server: S3Server) -> None:
    """Not in any object (manifest, stats, dashboards, shards), the run's log (-v) or its Ray's logs."""
    assert len(demo_runs["ray_logs"]) > 10_000, "the run's Ray wrote its logs where the test looks"
    for secret in (s3_server.key_id, s3_server.secret):
        assert [k for k, v in demo_runs["objects"].items() if secret.encode() in v] == []
        assert secret not in demo_runs["log"]
        assert secret.encode() not in demo_runs["ray_logs"]


def _cli(s3: S3Server, *args: str) -> str:
    proc = subprocess.run([*CURATE, *args], cwd=REPO, env=_env(s3), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_inspect_dashboard_export_and_dedup_take_urls(demo_runs: dict, s3_server: S3Server, tmp_path: Path) -> None:
    url, bucket = demo_runs["url"], demo_runs["url"].removeprefix("s3://").split("/")[0]
    assert _cli(s3_server, "inspect", url, "-n", "1") == _cli(s3_server, "inspect", str(demo_runs["local_dir"]), "-n", "1")
    assert f"wrote {url}/dashboard/index.html" in _cli(s3_server, "dashboard", url)
    export = ["--format", "parquet", "--where", "quality > 0.5", "--rows-per-file", "50"]
    _cli(s3_server, "export", url, "--to", f"s3://{bucket}/export", *export)
    _cli(s3_server, "export", str(demo_runs["local_dir"]), "--to", str(tmp_path / "export"), *export)
    exported, local = s3_server.objects(f"s3://{bucket}/export"), _local_files(tmp_path / "export")
    assert sorted(exported) == sorted(local) and len([k for k in exported if k.startswith("data/")]) > 1
    assert all(exported[k] == local[k] for k in exported if k.startswith("data/"))
    assert s3_server.uploads(f"s3://{bucket}/export") == []
    out = _cli(s3_server, "dedup", url, f"s3://{bucket}/dedup", "--num-cpus", "1")
    manifest = json.loads(s3_server.objects(f"s3://{bucket}/dedup")["manifest.json"])
    assert manifest["records_in"] == manifest["kept"] + manifest["rejected"] == json.loads(
        demo_runs["objects"]["manifest.json"])["totals"]["kept"], out


def _inputs_job(inputs: dict[str, str], out: str) -> dict:
    return {"name": "objstore-inputs", "output": out, "shard_rows": 500, "scores": False, "tags": False, "pii": False,
            "inputs": [
                {"name": "web", "path": inputs["web"], "kind": "web", "id_field": "id", "url_field": "url"},
                {"name": "big", "path": inputs["big"], "kind": "web", "id_field": "id"},
                {"name": "dialogues", "path": inputs["dialogues"], "kind": "dialogue", "id_field": "id",
                 "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}},
                {"name": "sitcom", "path": inputs["sitcom"], "kind": "dialogue",
                 "dialogue": {"style": "csv", "group_field": "Dialogue_ID", "speaker_field": "Speaker",
                              "text_field": "Utterance"}},
                {"name": "notes", "path": inputs["notes"], "kind": "web", "text_mode": "blank_line"}],
            # a plain path: whether it holds dialogues is read from its first record, on the store too
            "decontaminate": {"against": [inputs["heldout"]], "mode": "flag"}}


def _rows(out: Path) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in sorted(out.glob("*/*.parquet"))], how="diagonal_relaxed")


def test_inputs_read_from_s3_give_the_records_read_from_disk(s3_server: S3Server, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "notes").mkdir(parents=True)
    web = (REPO / "demo" / "web.jsonl").read_bytes()
    (src / "web.jsonl.gz").write_bytes(gzip.compress(web))
    (src / "dialogues.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress((REPO / "demo" / "dialogues.jsonl").read_bytes()))
    (src / "sitcom.csv.bz2").write_bytes(bz2.compress((REPO / "demo" / "sitcom.csv").read_bytes()))
    for p in (REPO / "demo" / "notes").glob("*.txt"):
        shutil.copy(p, src / "notes" / p.name)
    # over 4 MB of plain JSONL (long documents: few records): read in byte-range pieces, whose line numbers
    # Ray tasks count on the store
    texts = [json.loads(line)["text"] for line in web.splitlines() if line.strip()]
    with open(src / "big.jsonl", "w", encoding="utf-8") as f:
        for i in range(4_600_000 // len(web) + 1):
            for k in range(0, len(texts), 8):
                doc = "\n".join(texts[k:k + 8]) + f"\n第{i}版"
                f.write(json.dumps({"id": f"big-{i}-{k}", "text": doc}, ensure_ascii=False) + "\n")
    # an evaluation set: three of the demo's dialogues, so those records (and any copies) are contaminated
    (src / "eval").mkdir()
    (src / "eval" / "heldout.jsonl").write_bytes(b"".join((REPO / "demo" / "dialogues.jsonl").open("rb").readlines()[:3]))
    url = f"s3://{s3_server.bucket()}/in"
    s3_server.upload(src, url)
    names = {"web": "web.jsonl.gz", "big": "big.jsonl", "dialogues": "dialogues.jsonl.zst",
             "sitcom": "sitcom.csv.bz2", "notes": "notes/*.txt", "heldout": "eval/heldout.jsonl"}
    outs = {}
    for where, base in (("disk", str(src)), ("s3", url)):
        job = tmp_path / f"{where}.yaml"
        job.write_text(yaml.safe_dump(_inputs_job({k: f"{base}/{v}" for k, v in names.items()},
                                                  str(tmp_path / f"out-{where}")), allow_unicode=True), encoding="utf-8")
        outs[where] = _start(["run", str(job)], _env(s3_server), tmp_path / f"{where}.log")
    for where, proc in outs.items():
        rc, log = _finish(proc)
        assert rc == 0, f"{where}:\n{log}"
    manifest = json.loads((tmp_path / "out-s3" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["ray"] and manifest["timings"]
    by_input = {f["input"]: f for f in manifest["inputs"]}
    assert sorted(f["file"] for f in manifest["inputs"] if f["input"] == "notes") == \
        sorted(f"{url}/notes/{p.name}" for p in (src / "notes").glob("*.txt"))  # the glob, on the store
    assert all(f["reconciled"] and f["records_in"] > 0 for f in manifest["inputs"]), manifest["inputs"]
    assert by_input["big"]["bytes"] > 4_000_000
    # read in two pieces (their line numbers counted by Ray tasks on the store): a checkpoint, so a shard, each
    assert len([s for s in manifest["shards"] if s["shard"].startswith("part-00001-")]) >= 2, manifest["shards"]
    assert [f["path"] for f in manifest["decontamination"]["evaluation_files"]] == [f"{url}/eval/heldout.jsonl"]
    disk, s3 = _rows(tmp_path / "out-disk"), _rows(tmp_path / "out-s3")
    assert disk.filter(pl.col("contaminated_by") == "heldout.jsonl")["id"].is_in(["dlg-001", "dlg-002", "dlg-003"]).sum() == 3
    assert s3["source_file"].str.starts_with(f"{url}/").all()
    assert s3.height == disk.height == manifest["totals"]["records_in"]
    same = [c for c in disk.columns if c not in ("source_file", "drop_detail")]  # these two name the file
    assert s3.select(same).sort("id").equals(disk.select(same).sort("id"))
    assert s3["drop_detail"].str.replace(url, str(src), literal=True).sort().equals(disk["drop_detail"].sort())


def test_killed_on_s3_then_resumed_gives_the_same_objects(demo_runs: dict, s3_server: S3Server, tmp_path: Path) -> None:
    """The driver SIGKILLed while the finish phase writes shards to s3://, then the same command again."""
    bucket = s3_server.bucket()
    url = f"s3://{bucket}/demo"
    fault = [{"at": "finish", "match": WEB_TEXT, "action": "kill_driver"}]
    rc, log = _finish(_start(["run", "jobs/demo.yaml", "-o", url], _env(s3_server, CURATE_FAULTS=json.dumps(fault)),
                             tmp_path / "killed.log"))
    assert rc == -signal.SIGKILL, log
    left = s3_server.objects(url)
    assert "manifest.json" not in left and any(k.startswith("_work/") for k in left)
    # what a writer killed mid-upload leaves: an unfinished multipart upload under OUT (curate's own writes
    # are single requests; another tool's, or an export's, are not)
    s3_server.client().create_multipart_upload(Bucket=bucket, Key="demo/data/part-99999-0000000001.parquet")
    assert s3_server.uploads(url)

    t0 = time.monotonic()
    rc, log = _finish(_start(["run", "jobs/demo.yaml", "-o", url], _env(s3_server), tmp_path / "resumed.log"))
    assert rc == 0, log
    assert "resumed the run started" in log, log
    objects = s3_server.objects(url)
    assert sorted(objects) == sorted(demo_runs["objects"]), "nothing left over, nothing missing"
    shards, ref = _shards(objects), _shards(demo_runs["local"])
    assert [k for k in ref if shards.get(k) != ref[k]] == [], "byte for byte as an uninterrupted run"
    assert s3_server.uploads(url) == []
    resumed = json.loads(objects["manifest.json"])["resumed"]
    assert resumed["dedup_global"] == "done before" and resumed["per_record"]["read_now"] == 0
    assert resumed["finish"]["written_now"] >= 1, (resumed, time.monotonic() - t0)
