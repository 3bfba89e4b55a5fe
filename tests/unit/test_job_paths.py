"""A job's rule files and model cards resolve to the same files in a Ray worker whose working folder is
another (as on a cluster node), not only in the driver."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from curate.assets import asset_dir
from curate.job import JobError, load_job, parse_job
from curate.stages.rules import load_rule_sets


def test_files_given_from_the_working_folder_travel_as_absolute_paths(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    here, worker = tmp_path / "here", tmp_path / "worker"
    (here / "my").mkdir(parents=True)
    worker.mkdir()
    # a user's own rule set and card that share their file names with shipped ones
    shipped = (asset_dir("rules") / "default.yaml").read_text(encoding="utf-8")
    (here / "my" / "default.yaml").write_text(shipped.replace("\nname: default\n", "\nname: mine\n"), encoding="utf-8")
    (here / "my" / "words").symlink_to(asset_dir("rules") / "words")  # its word lists, beside it
    shutil.copy(asset_dir("classifiers") / "quality.yaml", here / "my" / "quality.yaml")
    (here / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")

    monkeypatch.chdir(here)
    job = parse_job({"inputs": [{"path": "in.jsonl", "kind": "web"}], "rules": ["my/default.yaml", "dialogue.yaml"],
                     "scores": {"quality": "my/quality.yaml"}, "tags": False}, here)

    monkeypatch.chdir(worker)  # where a worker runs: the user's files, not the shipped ones of the same name
    assert [rs.name for rs in load_rule_sets(job.rules)] == ["mine", "dialogue"]
    assert Path(job.scores["quality"].card).is_file()
    # by absolute path; a shipped rule set keeps its name (each node's install has it)
    assert job.rules == [str(here / "my" / "default.yaml"), "dialogue.yaml"]
    assert job.scores["quality"].card == str(here / "my" / "quality.yaml")


def test_a_relative_output_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # workers write the shards, and on a cluster they work from another folder than the driver
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    job = parse_job({"inputs": [{"path": "in.jsonl"}], "output": "runs/x", "scores": False, "tags": False}, tmp_path)
    assert job.output == str(tmp_path / "runs" / "x")


def test_an_output_url_is_kept_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the manifest records it so; a file:// URL is the local path it names (before URLs were read, `-o
    # s3://bucket/out` silently wrote a local folder ./s3:/bucket/out)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    (tmp_path / "job.yaml").write_text("inputs: [{path: in.jsonl}]\ntags: false\n", encoding="utf-8")
    assert load_job(tmp_path / "job.yaml", output="s3://bucket/runs/x/").output == "s3://bucket/runs/x/"
    assert load_job(tmp_path / "job.yaml", output=f"file://{tmp_path}/o").output == str(tmp_path / "o")
    assert not (tmp_path / "s3:").exists()


def test_input_urls_name_objects_prefixes_and_globs(s3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3.bucket()
    for key in ("crawl/a.jsonl.gz", "crawl/b.jsonl.gz", "crawl/sub/c.jsonl", "crawl/readme.pdf", "dlg/d.jsonl"):
        s3.client().put_object(Bucket=bucket, Key=key, Body=b'{"text": "x"}\n')
    monkeypatch.chdir(tmp_path)
    job = parse_job({"inputs": [{"name": "web", "path": f"s3://{bucket}/crawl/*.jsonl.gz"},
                                {"name": "all", "path": f"s3://{bucket}/crawl/sub"},
                                {"name": "one", "path": f"s3://{bucket}/dlg/d.jsonl"}], "tags": False}, tmp_path)
    assert [s.files for s in job.inputs] == [[f"s3://{bucket}/crawl/a.jsonl.gz", f"s3://{bucket}/crawl/b.jsonl.gz"],
                                             [f"s3://{bucket}/crawl/sub/c.jsonl"], [f"s3://{bucket}/dlg/d.jsonl"]]
    with pytest.raises(JobError, match=r"inputs\[0\]\.path: no input files match 's3://.*/nothing/\*\.jsonl'"):
        parse_job({"inputs": [{"path": f"s3://{bucket}/nothing/*.jsonl"}]}, tmp_path)


def test_input_may_omit_the_name_when_the_job_has_one_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    (tmp_path / "other.jsonl").write_text('{"text": "再见"}\n', encoding="utf-8")
    (tmp_path / "a=b.jsonl").write_text('{"text": "再见"}\n', encoding="utf-8")
    (tmp_path / "job.yaml").write_text("inputs: [{name: web, path: in.jsonl}]\ntags: false\n", encoding="utf-8")
    for given, file in (("other.jsonl", "other.jsonl"), ("web=other.jsonl", "other.jsonl"), ("a=b.jsonl", "a=b.jsonl")):
        job = load_job(tmp_path / "job.yaml", inputs=[given])
        assert job.inputs[0].name == "web" and job.inputs[0].files == [str(tmp_path / file)], given


def test_a_bare_input_path_on_a_job_of_several_inputs_names_the_inputs(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    (tmp_path / "job.yaml").write_text("inputs: [{name: web, path: in.jsonl}, {name: chat, path: in.jsonl}]\n",
                                       encoding="utf-8")
    with pytest.raises(JobError, match=r"--input in.jsonl: the job has 2 inputs, so name one: NAME=PATH with NAME "
                                       r"in \['chat', 'web'\]"):
        load_job(tmp_path / "job.yaml", inputs=["in.jsonl"])
    with pytest.raises(JobError, match=r"--input wbe=in.jsonl: no input named 'wbe'; inputs: \['chat', 'web'\]"):
        load_job(tmp_path / "job.yaml", inputs=["wbe=in.jsonl"])
