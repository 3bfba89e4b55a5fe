"""curate.io.storage on a real S3-compatible server (moto, over HTTP) and on local disk: the same answers from
both, objects written whole in one request, unfinished uploads aborted, credentials never taken from a URL."""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard

from curate.io import storage
from curate.io.encoding import Encoding, open_text
from curate.io.readers import jsonl_pieces
from curate.io.writer import atomic_write_parquet
from curate.job import JobError, parse_job

LINES = b"".join(json.dumps({"text": f"第{i}行" * (i % 7 + 1)}, ensure_ascii=False).encode() + b"\n" for i in range(3000))


@pytest.fixture
def both(s3, tmp_path: Path) -> tuple[str, str]:
    """The same tree of files in a local folder and under an S3 prefix."""
    root = tmp_path / "tree"
    (root / "a" / "b").mkdir(parents=True)
    (root / "x.jsonl").write_bytes(LINES)
    (root / "x.jsonl.gz").write_bytes(gzip.compress(LINES))
    (root / "a" / "y.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(LINES))
    (root / "a" / "b" / "z.jsonl.bz2").write_bytes(bz2.compress(LINES))
    (root / "a" / "notes.bin").write_bytes(b"\0")
    url = f"s3://{s3.bucket()}/tree"
    s3.upload(root, url)
    return str(root), url


def _rel(paths: list[str], base: str) -> list[str]:
    return [p[len(base) + 1:] for p in paths]


def test_listing_globs_and_reading_agree_with_local_disk(both: tuple[str, str]) -> None:
    local, url = both
    for base in both:
        assert storage.is_dir(base) and not storage.is_file(base)
        assert storage.is_file(storage.join(base, "x.jsonl")) and storage.exists(storage.join(base, "a"))
        assert not storage.exists(storage.join(base, "nothing"))
        assert storage.size(storage.join(base, "x.jsonl")) == len(LINES)
    assert _rel(storage.listdir(url, "*.gz"), url) == _rel(storage.listdir(local, "*.gz"), local) == ["x.jsonl.gz"]
    assert _rel(storage.files_under(url), url) == _rel(storage.files_under(local), local)
    assert _rel(storage.glob_url(f"{url}/**/*.jsonl*"), url) == [
        "a/b/z.jsonl.bz2", "a/y.jsonl.zst", "x.jsonl", "x.jsonl.gz"]
    assert _rel(storage.glob_url(f"{url}/*.jsonl*"), url) == ["x.jsonl", "x.jsonl.gz"]
    assert _rel(storage.glob_url(f"{url}/a/*/z.jsonl.[bx]z2"), url) == ["a/b/z.jsonl.bz2"]
    for name in ("x.jsonl", "x.jsonl.gz", "a/y.jsonl.zst", "a/b/z.jsonl.bz2"):
        with open_text(storage.join(url, name), Encoding("utf-8", "declared")) as f:
            assert f.read() == LINES, name
    assert storage.read_range(storage.join(url, "x.jsonl"), 5, 40) == LINES[5:40]


def test_jsonl_pieces_of_a_remote_file_number_lines_as_the_local_file(both: tuple[str, str]) -> None:
    local, url = both
    pieces = jsonl_pieces(storage.join(url, "x.jsonl"), 10_000)
    assert len(pieces) > 3 and pieces == jsonl_pieces(storage.join(local, "x.jsonl"), 10_000)


def test_writes_are_whole_objects_in_one_request_and_trees_go(s3) -> None:
    out = f"s3://{s3.bucket()}/run"
    table = pa.table({"id": ["a", "b"], "n": [1, 2]})
    atomic_write_parquet(storage.join(out, "data", "part-1.parquet"), table)
    storage.put(storage.join(out, "stats", "part-1.json"), b"{}")
    assert storage.read_table(storage.join(out, "data", "part-1.parquet")).equals(table)
    assert storage.read_metadata(storage.join(out, "data", "part-1.parquet")).num_rows == 2
    assert storage.scan_parquet(storage.listdir(storage.join(out, "data"), "*.parquet")).collect().height == 2
    assert sorted(s3.objects(out)) == ["data/part-1.parquet", "stats/part-1.json"]
    assert s3.uploads(out) == []  # a single PutObject, never a multipart upload
    storage.remove_tree(storage.join(out, "data"))
    assert sorted(s3.objects(out)) == ["stats/part-1.json"] and storage.has_entries(out)


def test_unfinished_multipart_uploads_are_aborted(s3) -> None:
    bucket = s3.bucket()
    client = s3.client()
    upload = client.create_multipart_upload(Bucket=bucket, Key="run/data/part-9.parquet")
    client.upload_part(Bucket=bucket, Key="run/data/part-9.parquet", UploadId=upload["UploadId"], PartNumber=1,
                       Body=b"half a shard")
    client.create_multipart_upload(Bucket=bucket, Key="other/x")
    assert s3.uploads(f"s3://{bucket}/run") == ["run/data/part-9.parquet"]
    assert storage.abort_uploads(f"s3://{bucket}/run") == 1
    assert s3.uploads(f"s3://{bucket}/run") == [] and s3.uploads(f"s3://{bucket}/other") == ["other/x"]
    assert s3.objects(f"s3://{bucket}/run") == {}


def test_a_write_the_store_refuses_names_the_object(s3) -> None:
    with pytest.raises(storage.StorageError, match="NoSuchBucket") as e:
        storage.put("s3://no-such-bucket-here/run/stats/x.json", b"{}")
    assert e.value.filename == "s3://no-such-bucket-here/run/stats/x.json"


def test_credentials_in_a_url_are_refused_without_echoing_them(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    with pytest.raises(JobError) as e:
        parse_job({"inputs": [{"path": "in.jsonl"}], "output": "s3://AKIAXYZ:hunter2secret@bucket/out"}, tmp_path)
    assert "credentials in a URL are refused" in str(e.value)
    assert "hunter2secret" not in str(e.value) and "AKIAXYZ" not in str(e.value)


def test_local_paths_and_file_urls_are_local(tmp_path: Path) -> None:
    assert not storage.is_url(str(tmp_path)) and not storage.is_url(f"file://{tmp_path}")
    assert storage.is_url("s3://b/k") and storage.is_url("gs://b/k")
    assert storage.join(f"file://{tmp_path}", "x") == str(tmp_path / "x")
    assert storage.join("s3://b/out/", "data", "p.parquet") == "s3://b/out/data/p.parquet"
    storage.put(str(tmp_path / "f.json"), b"{}")
    assert (tmp_path / "f.json").read_bytes() == b"{}" and [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_rule_files_and_model_cards_at_urls_are_fetched_with_what_they_name(s3, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from curate.assets import asset_dir
    from curate.io.fetch import CACHE_ENV
    from curate.models.classifier import load_classifier
    from curate.stages.rules import describe_rule_sets, load_rule_sets

    bucket = s3.bucket()
    mine = tmp_path / "mine"
    (mine / "rules").mkdir(parents=True)
    shipped = (asset_dir("rules") / "default.yaml").read_text(encoding="utf-8")
    (mine / "rules" / "default.yaml").write_text(shipped.replace("\nname: default\n", "\nname: mine\n"), encoding="utf-8")
    shutil.copytree(asset_dir("rules") / "words", mine / "rules" / "words")
    (mine / "cards").mkdir()
    for name in ("quality.yaml", "quality.ftz"):
        shutil.copy(asset_dir("classifiers") / name, mine / "cards" / name)
    s3.upload(mine, f"s3://{bucket}/assets")
    rules_url, card_url = f"s3://{bucket}/assets/rules/default.yaml", f"s3://{bucket}/assets/cards/quality.yaml"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")

    job = parse_job({"inputs": [{"path": "in.jsonl"}], "rules": [rules_url, "dialogue.yaml"],
                     "scores": {"quality": card_url}, "tags": False}, tmp_path)
    assert job.rules == [rules_url, "dialogue.yaml"] and job.scores["quality"].card == card_url  # workers fetch
    sets = load_rule_sets(job.rules)
    assert [s.name for s in sets] == ["mine", "dialogue"] and sets[0].words is not None
    assert describe_rule_sets(job.rules)[0]["file"] == rules_url
    model = load_classifier(card_url)
    assert model.card.model_path.read_bytes() == (asset_dir("classifiers") / "quality.ftz").read_bytes()
    assert str(model.card.model_path).startswith(str(tmp_path / "cache"))
    assert job.config_hash() == parse_job({"inputs": [{"path": "in.jsonl"}], "rules": [rules_url, "dialogue.yaml"],
                                          "scores": {"quality": card_url}, "tags": False}, tmp_path).config_hash()
