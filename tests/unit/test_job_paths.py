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


@pytest.mark.parametrize(("overrides", "message"), [
    ({"output": "s3://bucket/out"}, r"output: 's3://bucket/out' is a URL"),
    ({"inputs": ["s3://bucket/web.jsonl"]}, r"--input s3://bucket/web.jsonl: 's3://bucket/web.jsonl' is a URL"),
])
def test_urls_are_refused_with_the_supported_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   overrides: dict, message: str) -> None:
    # before, `-o s3://bucket/out` silently wrote a local folder ./s3:/bucket/out
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"text": "你好"}\n', encoding="utf-8")
    (tmp_path / "job.yaml").write_text("inputs: [{path: in.jsonl}]\n", encoding="utf-8")
    with pytest.raises(JobError, match=message) as e:
        load_job(tmp_path / "job.yaml", **overrides)
    assert "mount" in str(e.value)
    with pytest.raises(JobError, match=r"inputs\[0\]\.path: 'gs://b/x\.jsonl' is a URL"):
        parse_job({"inputs": [{"path": "gs://b/x.jsonl"}]}, tmp_path)
    assert not (tmp_path / "s3:").exists()


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
