"""The same input gives the same survivors whatever the input order, file split, shard size or worker count."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from curate.job import parse_job
from curate.run import run_job

REPO = Path(__file__).resolve().parents[2]
DEMO_WEB = REPO / "demo" / "web.jsonl"
DEMO_DIALOGUES = REPO / "demo" / "dialogues.jsonl"

pytestmark = pytest.mark.ray


def _job_doc(files: list[Path], out: Path, shard_rows: int = 500) -> dict:
    return {
        "name": "determinism",
        "output": str(out),
        "inputs": [{"name": f"part{i}", "path": str(f), "kind": "web", "id_field": "id"} for i, f in enumerate(files)],
        "rules": ["default.yaml"],
        "shard_rows": shard_rows,
        "scores": False,  # dedup decisions only: no models needed
        "tags": False,
    }


def _outcome(out: Path) -> dict[str, tuple]:
    frames = [pl.read_parquet(p) for p in sorted((out / "data").glob("*.parquet")) + sorted((out / "rejects").glob("*.parquet"))]
    df = pl.concat(frames).select("id", "drop_reason", "dup_of", "dup_cluster")
    return {r[0]: tuple(r[1:]) for r in df.rows()}


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _run(files: list[Path], out: Path, shard_rows: int = 500) -> dict[str, tuple]:
    run_job(parse_job(_job_doc(files, out, shard_rows), out.parent))
    return _outcome(out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    # demo web pages plus the demo dialogues' texts as web documents: exact and near duplicates of both kinds
    lines = _lines(DEMO_WEB)
    for line in _lines(DEMO_DIALOGUES):
        d = json.loads(line)
        text = "\n".join(t["content"] for t in d["turns"])
        lines.append(json.dumps({"id": d["id"], "text": text * 3}, ensure_ascii=False))
    return lines


@pytest.fixture(scope="module")
def baseline(corpus: list[str], tmp_path_factory: pytest.TempPathFactory, ray_local) -> dict[str, tuple]:
    d = tmp_path_factory.mktemp("base")
    f = d / "all.jsonl"
    f.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    outcome = _run([f], d / "out")
    reasons = [v[0] for v in outcome.values()]
    assert reasons.count("near_duplicate") >= 20 and reasons.count("exact_duplicate") >= 10  # something to decide
    return outcome


def test_shuffled_input_order_gives_the_same_survivors(corpus, baseline, tmp_path) -> None:
    lines = corpus[:]
    random.Random(3).shuffle(lines)
    f = tmp_path / "shuffled.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _run([f], tmp_path / "out") == baseline


def test_other_file_splits_give_the_same_survivors(corpus, baseline, tmp_path) -> None:
    files = []
    for k in range(3):
        f = tmp_path / f"split{k}.jsonl"
        f.write_text("\n".join(corpus[k::3]) + "\n", encoding="utf-8")
        files.append(f)
    assert _run(list(reversed(files)), tmp_path / "out") == baseline


def test_other_shard_sizes_give_the_same_survivors(corpus, baseline, tmp_path) -> None:
    f = tmp_path / "all.jsonl"
    f.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    assert _run([f], tmp_path / "out", shard_rows=37) == baseline


def test_the_hash_shuffle_path_gives_the_same_survivors(corpus, baseline, tmp_path, monkeypatch) -> None:
    # large runs group LSH buckets and lines with Ray's key-based hash shuffle instead of one block
    import curate.engine.plans
    import curate.stages.dedup_global

    monkeypatch.setattr(curate.engine.plans, "SINGLE_BLOCK_GROUP_ROWS", 0)
    monkeypatch.setattr(curate.stages.dedup_global, "DRIVER_GROUP_ROWS", 0)  # small runs group in the driver otherwise
    # all bands in one shuffle (a real large run shuffles one band per pass: the same code, more passes)
    monkeypatch.setattr(curate.stages.dedup_global, "band_passes", lambda bands, n: [(0, bands)])
    f = tmp_path / "all.jsonl"
    f.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    assert _run([f], tmp_path / "out", shard_rows=100) == baseline


def test_band_passes_give_the_same_survivors(corpus, baseline, tmp_path, monkeypatch) -> None:
    # a million records bucket their bands in several passes; here three uneven passes of one block each
    import curate.stages.dedup_global

    monkeypatch.setattr(curate.stages.dedup_global, "band_passes", lambda bands, n: [(0, 5), (5, 6), (6, bands)])
    monkeypatch.setattr(curate.stages.dedup_global, "DRIVER_GROUP_ROWS", 0)
    f = tmp_path / "all.jsonl"
    f.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    assert _run([f], tmp_path / "out", shard_rows=100) == baseline


def test_file_pieces_give_the_same_survivors(corpus, baseline, tmp_path, monkeypatch) -> None:
    # large JSONL files are read in byte-range pieces, one Ray task each; here pieces of ~3 kB
    import curate.run

    monkeypatch.setattr(curate.run, "piece_bytes", lambda total, cpus: 3000)
    f = tmp_path / "all.jsonl"
    f.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert _run([f], out) == baseline
    assert len(list((out / "stats").glob("*.json"))) > 10  # many pieces, so many shards


def test_one_worker_gives_the_same_survivors(corpus, baseline, tmp_path) -> None:
    # a separate process with its own single-CPU local Ray
    f = tmp_path / "all.jsonl"
    f.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    doc = _job_doc([f], tmp_path / "out")
    doc["ray"] = {"num_cpus": 1}
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code = "import sys; from curate.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "run", str(job_file)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _outcome(tmp_path / "out") == baseline
