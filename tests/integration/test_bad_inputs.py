"""Acceptance: every bad input either stops the job before any work (a configuration problem, naming the file
and the field) or becomes a `malformed_input` reject naming its file and line (a bad record) while the job
goes on and the manifest's counts reconcile. No traceback reaches the user for an input problem.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xxhash
import yaml
import zstandard
from click.testing import CliRunner

from curate.cli import main
from curate.job import JobError, parse_job
from curate.run import run_job
from curate.stages.rules import load_rule_sets

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"
MALFORMED = "malformed_input"
BIG_CHARS = 3_500_000  # "长" is 3 bytes in UTF-8: a 10.5 MB document, over the default 8 MB max_record_bytes
# dedup_global's near-duplicate shuffle costs ~30 s on a 2-core machine even for these few records; reading is
# what is under test here, so the bad-input job leaves dedup off (test_run_shared runs the shipped job with it).
NO_DEDUP = {"exact": False, "near": False}
DEDUP_REASONS = {"exact_duplicate", "near_duplicate"}


@dataclass
class Expect:
    """What one input file must give: its records (by source_line), which are malformed and why."""

    name: str
    path: Path
    lines: list[int]
    malformed: dict[int, str]  # line -> a phrase its drop_detail must contain
    own_ids: dict[int, str] = field(default_factory=dict)  # good lines whose record carries its own id
    spec: dict[str, Any] = field(default_factory=dict)

    def expected_ids(self) -> set[str]:
        """Own ids of good records, else the documented stable hash of source name, file name and position."""
        return {
            self.own_ids.get(line) or xxhash.xxh3_64_hexdigest(f"{self.name}:{self.path.name}:{line}".encode())[:16]
            for line in self.lines
        }


WEB_BAD_MALFORMED = {
    3: "invalid JSON",
    4: "not valid UTF-8 (byte 0xff",
    5: "missing text field 'text'",
    6: "text field 'text' is not a string (int)",
    7: "empty document",
    8: "JSON value is not an object (list)",
    11: "empty document",
}
WEB_BAD_LINES = [1, 3, 4, 5, 6, 7, 8, 10, 11, 12]  # lines 2 and 9 are blank: not records
WEB_BAD_IDS = {1: "w1", 10: "w7"}


def _write_big_jsonl(path: Path) -> None:
    docs = [
        {"id": "b1", "text": "这是一篇正常长度的中文文档，讲述了城市公园里的一个普通下午。" * 3},
        {"id": "b2", "text": "长" * BIG_CHARS},
        {"id": "b3", "text": "第三篇文档在大文档之后，读取应当照常继续。"},
    ]
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")


def _write_dialogue_csv(path: Path) -> None:
    """A CPED-like CSV: dialogue B has a ragged row (line 4), dialogue C an undecodable byte (line 6)."""
    path.write_bytes(
        "Dialogue_ID,Speaker,Utterance,Emotion\n"
        "A,甲,你好。,neutral\n"
        "A,乙,你好呀。,happy\n"
        "B,甲,这一行少了一列\n".encode()
        + "B,乙,第二句。,neutral\n".encode()
        + "C,甲,坏".encode() + b"\xff" + "字节,neutral\n".encode()
        + "C,乙,好。,neutral\nD,甲,最后一段。,neutral\nD,乙,再见。,neutral\n".encode()
    )


@pytest.fixture(scope="module")
def bad_run(ray_local, tmp_path_factory) -> tuple[Any, Any, list[Expect], pl.DataFrame]:
    tmp = tmp_path_factory.mktemp("bad-inputs")
    raw = (BAD / "web_bad.jsonl").read_bytes()
    (tmp / "web_bad_gz.jsonl.gz").write_bytes(gzip.compress(raw, mtime=0))
    (tmp / "web_bad_zst.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    shutil.copyfile(BAD / "notes_bad.txt", tmp / "notes_whole.txt")
    _write_big_jsonl(tmp / "big.jsonl")
    _write_dialogue_csv(tmp / "dialogues.csv")

    web = {"id_field": "id", "url_field": "url"}
    expects = [
        Expect("web", BAD / "web_bad.jsonl", WEB_BAD_LINES, WEB_BAD_MALFORMED, WEB_BAD_IDS, web),
        Expect("webgz", tmp / "web_bad_gz.jsonl.gz", WEB_BAD_LINES, WEB_BAD_MALFORMED, WEB_BAD_IDS, web),
        Expect("webzst", tmp / "web_bad_zst.jsonl.zst", WEB_BAD_LINES, WEB_BAD_MALFORMED, WEB_BAD_IDS, web),
        Expect(
            "dlg", BAD / "dialogues_bad.jsonl", [1, 2, 3, 4, 5],
            {2: "dialogue has no turns", 3: "turn 2 has no 'content'", 4: "invalid JSON"},
            {1: "d1", 5: "d5"}, {"kind": "dialogue", "id_field": "id"},
        ),
        Expect(
            "pq", BAD / "web_good.parquet", [0, 1, 2, 3],
            {1: "text field 'text' is null", 3: "empty document"}, {0: "g0", 2: "g2"}, {"id_field": "id"},
        ),
        Expect("notes", BAD / "notes_bad.txt", [1, 5, 8], {5: "not valid UTF-8 (byte 0xff"},
               spec={"text_mode": "blank_line"}),
        Expect("whole", tmp / "notes_whole.txt", [1], {1: "not valid UTF-8 (byte 0xff"}),
        Expect("big", tmp / "big.jsonl", [1, 2, 3], {2: "record of 10.5 MB exceeds max_record_bytes (8.0 MB)"},
               {1: "b1", 3: "b3"}, {"id_field": "id"}),
        Expect(
            "csvdlg", tmp / "dialogues.csv", [2, 4, 6, 8],
            {4: "row has 3 fields, header has 4", 6: "not valid UTF-8 (byte 0xff"},
            spec={"kind": "dialogue", "dialogue": {"style": "csv"}},
        ),
    ]
    inputs = [{"name": e.name, "path": str(e.path), **e.spec} for e in expects]
    job = parse_job({"name": "bad", "inputs": inputs, "output": str(tmp / "out"), "dedup": NO_DEDUP}, tmp)
    result = run_job(job)
    out = tmp / "out"
    rows = pl.concat([pl.read_parquet(sorted((out / sub).glob("*.parquet"))) for sub in ("data", "rejects")])
    return job, result, expects, rows


def _rows_of(rows: pl.DataFrame, e: Expect) -> pl.DataFrame:
    return rows.filter(pl.col("source") == e.name)


@pytest.mark.ray
def test_job_goes_on_and_counts_reconcile(bad_run):
    job, result, expects, rows = bad_run
    m = result.manifest
    assert [f["input"] for f in m["inputs"]] == [e.name for e in expects]
    for f, e in zip(m["inputs"], expects, strict=True):
        assert f["file"] == str(e.path)
        assert f["records_in"] == len(e.lines), e.name
        assert f["records_in"] == f["kept"] + f["rejected"], e.name
        assert f["reconciled"] is True
        assert f["malformed"] == len(e.malformed), e.name
        assert _rows_of(rows, e).height == f["records_in"], e.name
    assert rows.height == m["totals"]["records_in"] == m["totals"]["kept"] + m["totals"]["rejected"]
    assert m["totals"]["rejected_by_reason"][MALFORMED] == sum(len(e.malformed) for e in expects)
    assert (result.out / "manifest.json").is_file()


# the record-level inputs of the bad-input job, by name
RECORD_INPUTS = ["web", "webgz", "webzst", "dlg", "pq", "notes", "whole", "big", "csvdlg"]


def _input(expects, rows, name):
    """The expectation for input `name` and the output rows that came from its file."""
    (e,) = [x for x in expects if x.name == name]
    return e, _rows_of(rows, e)


@pytest.mark.ray
@pytest.mark.parametrize("name", RECORD_INPUTS)
def test_malformed_rows_are_exactly_the_bad_records(bad_run, name):
    _, _, expects, rows = bad_run
    e, got = _input(expects, rows, name)
    assert sorted(got["source_line"]) == e.lines
    malformed = got.filter(pl.col("drop_reason") == MALFORMED)
    assert sorted(malformed["source_line"]) == sorted(e.malformed)
    for r in malformed.iter_rows(named=True):
        line = r["source_line"]
        assert r["source_file"] == str(e.path)
        assert r["drop_detail"].startswith(f"{e.path}:{line}: "), r["drop_detail"]
        assert e.malformed[line] in r["drop_detail"], r["drop_detail"]
        assert r["text"], "the raw record is kept in the rejects, so nothing is lost"
        assert r["turns"] is None and r["rule_flags"] is None and r["exact_hash"] is None


@pytest.mark.ray
@pytest.mark.parametrize("name", RECORD_INPUTS)
def test_good_records_are_never_lost(bad_run, name):
    job, _, expects, rows = bad_run
    e, got = _input(expects, rows, name)
    assert set(got["id"]) == e.expected_ids()
    assert got["id"].n_unique() == got.height
    rule_ids = {r.id for rs in load_rule_sets(job.rules) for r in rs.rules}
    good = got.filter(~pl.col("source_line").is_in(list(e.malformed)))
    assert sorted(good["source_line"]) == sorted(set(e.lines) - set(e.malformed))
    for r in good.iter_rows(named=True):
        assert r["drop_reason"] is None or r["drop_reason"] in rule_ids | DEDUP_REASONS, r["drop_reason"]
        assert r["text"]
        if r["source_line"] in e.own_ids:
            assert r["id"] == e.own_ids[r["source_line"]]


@pytest.mark.ray
def test_compressed_copies_read_like_the_plain_file(bad_run):
    _, _, expects, rows = bad_run
    by = {e.name: _rows_of(rows, e).sort("source_line") for e in expects}
    cols = ["source_line", "text", "url", "meta", "drop_reason", "rule_flags"]
    for name in ("webgz", "webzst"):
        assert by[name].select(cols).equals(by["web"].select(cols)), name


@pytest.mark.ray
def test_big_document_is_kept_whole_in_the_rejects(bad_run):
    _, _, expects, rows = bad_run
    (e,) = [x for x in expects if x.name == "big"]
    (r,) = _rows_of(rows, e).filter(pl.col("source_line") == 2).to_dicts()
    assert r["drop_reason"] == MALFORMED
    assert json.loads(r["text"]) == {"id": "b2", "text": "长" * BIG_CHARS}
    others = _rows_of(rows, e).filter(pl.col("source_line") != 2)
    assert others["drop_reason"].to_list().count(MALFORMED) == 0


@pytest.mark.ray
def test_good_dialogues_next_to_bad_ones_keep_their_turns(bad_run):
    _, _, expects, rows = bad_run
    dlg = {r["id"]: r for r in _rows_of(rows, expects[3]).to_dicts()}
    assert [(t["role_raw"], t["role"], t["text"]) for t in dlg["d1"]["turns"]] == [
        ("client", "seeker", "我最近睡不好。"), ("counselor", "supporter", "能说说发生了什么吗？"),
    ]
    assert json.loads(dlg["d5"]["meta"]) == {"topic": "学业"}
    csv_rows = {r["source_line"]: r for r in _rows_of(rows, expects[-1]).to_dicts()}
    assert [t["text"] for t in csv_rows[2]["turns"]] == ["你好。", "你好呀。"]
    assert [json.loads(t["meta"]) for t in csv_rows[8]["turns"]] == [{"Emotion": "neutral"}] * 2
    assert json.loads(csv_rows[8]["meta"]) == {"Dialogue_ID": "D"}
    # a malformed dialogue keeps all its CSV rows as text
    assert csv_rows[4]["text"].splitlines() == ["B,甲,这一行少了一列", "B,乙,第二句。,neutral"]


# ----------------------------------------------------------------------------- configuration-level errors


CONFIG_ERRORS = {
    # case: (input spec, file name, field named in the message, column named in the message)
    "cped_missing_column": (
        {"name": "cped", "path": str(BAD / "dialogue_csv_missing_column.csv"), "kind": "dialogue",
         "dialogue": {"style": "csv", "group_field": "Dialogue_ID", "speaker_field": "Speaker",
                      "text_field": "Utterance"}},
        "dialogue_csv_missing_column.csv", "dialogue.text_field", "'Utterance'",
    ),
    "web_wrong_schema": (
        {"name": "wrong", "path": str(BAD / "web_wrong_schema.parquet"), "text_field": "text"},
        "web_wrong_schema.parquet", "text_field", "'text'",
    ),
}
GOOD_INPUT = {"name": "good", "path": str(BAD / "web_good.parquet"), "id_field": "id"}


@pytest.mark.parametrize("case", sorted(CONFIG_ERRORS))
def test_configuration_error_stops_before_any_work(tmp_path, case):
    spec, file_name, key, column = CONFIG_ERRORS[case]
    out = tmp_path / "out"
    job = parse_job({"name": case, "inputs": [GOOD_INPUT, spec], "output": str(out)}, tmp_path)
    with pytest.raises(JobError) as err:
        run_job(job)
    msg = str(err.value)
    assert str(BAD / file_name) in msg and key in msg and column in msg, msg
    assert "Traceback" not in msg
    assert not out.exists(), "no output is written for a configuration error"


def test_configuration_error_leaves_a_previous_run_alone(tmp_path):
    spec, *_ = CONFIG_ERRORS["web_wrong_schema"]
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    (out / "data" / "part-00000-0000000000.parquet").write_bytes(b"previous shard")
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    job = parse_job({"name": "x", "inputs": [spec], "output": str(out)}, tmp_path)
    with pytest.raises(JobError):
        run_job(job)
    assert (out / "data" / "part-00000-0000000000.parquet").read_bytes() == b"previous shard"
    assert (out / "manifest.json").read_text(encoding="utf-8") == "{}"
    assert sorted(p.name for p in out.iterdir()) == ["data", "manifest.json"]


def _job_yaml(tmp_path: Path, doc: dict[str, Any], name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def _assert_config_exit(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    assert "Traceback" not in result.output
    assert "Error: " in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)


@pytest.mark.parametrize("case", sorted(CONFIG_ERRORS))
def test_cli_configuration_error_exits_2_naming_file_and_field(tmp_path, case):
    spec, file_name, key, column = CONFIG_ERRORS[case]
    job = _job_yaml(tmp_path, {"name": case, "inputs": [GOOD_INPUT, spec]})
    out = tmp_path / "out"
    result = _invoke("run", str(job), "-o", str(out))
    _assert_config_exit(result, file_name, key, column)
    assert not out.exists()


JOB_ERRORS = {
    # case: (job document with {good} standing for a readable input, phrases the message must name)
    "unknown input key": ({"inputs": [{**GOOD_INPUT, "txt_field": "text"}]}, ["inputs[0]", "txt_field"]),
    "unknown job key": ({"inputs": [GOOD_INPUT], "shard_row": 10}, ["shard_row"]),
    "wrong kind": ({"inputs": [{**GOOD_INPUT, "kind": "chat"}]}, ["inputs[0].kind", "'chat'"]),
    "missing path key": ({"inputs": [{"name": "nopath", "kind": "web"}]}, ["inputs[0].path", "required"]),
    "path matches nothing": ({"inputs": [{"path": "missing/nothing-here.jsonl"}]},
                             ["inputs[0].path", "nothing-here.jsonl"]),
    "wrong dialogue style": ({"inputs": [{**GOOD_INPUT, "kind": "dialogue", "dialogue": {"style": "chatml"}}]},
                             ["inputs[0].dialogue.style", "'chatml'"]),
    "bad shard_rows": ({"inputs": [GOOD_INPUT], "shard_rows": 0}, ["shard_rows"]),
    "unknown rule file": ({"inputs": [GOOD_INPUT], "rules": ["no-such-rules.yaml"]},
                          ["rules[0]", "no-such-rules.yaml"]),
}


@pytest.mark.parametrize("case", sorted(JOB_ERRORS))
def test_cli_bad_job_yaml_exits_2_naming_the_key(tmp_path, case):
    doc, needles = JOB_ERRORS[case]
    job = _job_yaml(tmp_path, {"name": "t", **doc})
    out = tmp_path / "out"
    _assert_config_exit(_invoke("run", str(job), "-o", str(out)), *needles)
    _assert_config_exit(_invoke("run", str(job), "-o", str(out), "--dry-run"), *needles)
    assert not out.exists()


def test_cli_missing_job_file_and_invalid_yaml(tmp_path):
    _assert_config_exit(_invoke("run", str(tmp_path / "nope.yaml")), "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("inputs: [\n", encoding="utf-8")
    _assert_config_exit(_invoke("run", str(broken)), "broken.yaml", "not valid YAML")


def test_real_cli_process_shows_no_traceback(tmp_path):
    """As a user sees it: the installed entry point in its own process, stderr included."""
    spec, file_name, key, column = CONFIG_ERRORS["cped_missing_column"]
    job = _job_yaml(tmp_path, {"name": "user", "inputs": [spec]})
    proc = subprocess.run(
        [sys.executable, "-m", "curate.cli", "run", str(job), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert file_name in proc.stderr and key in proc.stderr and column in proc.stderr
    assert not (tmp_path / "out").exists()
