"""The `curate` command line: help everywhere, light start-up, dry runs, inspect, list, reproducible re-runs."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

import curate
from curate.assets import asset_dir
from curate.cli import main
from curate.job import load_job
from curate.schema import record_schema
from curate.stages.rules import load_rule_set
from curate.stages.signals import REGISTRY
from tests.conftest import FIXTURES, REPO, SMILECHAT_FIXTURE, shared_sample_inputs

HEAVY = ("ray", "pyarrow", "fasttext", "polars", "torch", "transformers")
# dedup_global (near-duplicate LSH through Ray's hash shuffle) costs ~30 s even for a handful of records on a
# 2-core machine; these CLI runs check the command line and byte-reproducibility, so they leave dedup off
# (dedup is covered by test_run_shared and test_dedup_determinism).
NO_DEDUP = {"exact": False, "near": False}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, cmd in sorted(group.commands.items()):
        found.append(((*prefix, name), cmd))
        if isinstance(cmd, click.Group):
            found += _commands(cmd, (*prefix, name))
    return found


COMMANDS = [((), main), *_commands(main)]


def test_the_command_tree_is_what_we_document():
    paths = {" ".join(p) for p, _ in COMMANDS}
    assert {"", "run", "inspect", "list", "rules", "rules explain", "schema", "schema docs"} <= paths


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "curate")
def test_every_command_has_help_with_a_description(path):
    cmd = dict(COMMANDS)[path]
    assert cmd.help and cmd.help.strip(), f"{path} has no docstring"
    for flag in ("--help", "-h"):
        result = invoke(*path, flag)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Usage: ")
        first = cmd.help.strip().split("\n\n")[0]
        assert _squeeze(first) in _squeeze(result.output), (path, first)
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.opts[-1] in result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and curate.__version__ in result.output


_PROBE = """
import json, sys
from curate.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main(args)
    except SystemExit as e:
        assert e.code in (0, None), (args, e.code)
print("MODULES=" + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy})))
"""


def _loaded_modules(runs: list[list[str]], cwd: Path) -> tuple[list[str], str]:
    code = _PROBE.format(heavy=set(HEAVY))
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(runs)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES="))
    return json.loads(line.removeprefix("MODULES=")), proc.stdout


def test_help_imports_nothing_heavy(tmp_path):
    runs = [[*path, "--help"] for path, _ in COMMANDS]
    modules, _ = _loaded_modules(runs, tmp_path)
    assert modules == [], f"--help imported {modules}"


# the demo job reads only committed files; shared-sample reads the full datasets beside the checkout
@pytest.mark.parametrize("job_name", ["demo.yaml", pytest.param("shared-sample.yaml", marks=pytest.mark.data)])
def test_dry_run_prints_the_config_hash_and_runs_nothing(repo, job_name, tmp_path, request):
    overrides: list[str] = []
    if job_name == "shared-sample.yaml":  # its inputs must exist to resolve: point them at the datasets
        overrides = shared_sample_inputs(request.getfixturevalue("shared_data"))
    flags = [a for o in overrides for a in ("--input", o)]
    out = tmp_path / "out"
    job_file = repo / "jobs" / job_name
    expected = load_job(job_file, inputs=overrides, output=str(out)).config_hash()
    result = invoke("run", str(job_file), *flags, "-o", str(out), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"config hash: {expected}" in result.output
    assert re.fullmatch(r"[0-9a-f]{16}", expected)
    shown = yaml.safe_load(result.output.split("config hash:")[0])
    names = [i["name"] for i in yaml.safe_load(job_file.read_text(encoding="utf-8"))["inputs"]]
    assert [i["name"] for i in shown["inputs"]] == names and len(names) >= 3
    assert shown["output"] == str(out.resolve())
    assert not out.exists()
    # the resolved hash does not depend on where the output goes; and nothing heavy is started
    assert f"config hash: {expected}" in invoke("run", str(job_file), *flags, "--dry-run", "-o", str(tmp_path / "o2")).output
    modules, stdout = _loaded_modules([["run", str(job_file), *flags, "--dry-run", "-o", str(out)]], tmp_path)
    assert f"config hash: {expected}" in stdout
    assert "ray" not in modules and "fasttext" not in modules
    assert not out.exists()


# ------------------------------------------------------------------------------------------- small job


def _snapshot(out: Path) -> dict[str, str]:
    return {
        f"{sub}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejects", "stats")
        for p in sorted((out / sub).iterdir())
    }


DEMO_WEB = REPO / "demo" / "web.jsonl"


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.fixture(scope="module")
def small_job(ray_local, tmp_path_factory) -> tuple[Path, Path]:
    """The SMILECHAT fixture (100 dialogues) and the demo's web pages, read in place."""
    tmp = tmp_path_factory.mktemp("cli-small")
    doc = {
        "name": "small",
        "inputs": [
            {"name": "smilechat", "path": str(SMILECHAT_FIXTURE), "kind": "dialogue", "id_field": "id",
             "dialogue": {"style": "turns"}},
            {"name": "web", "path": str(DEMO_WEB), "text_field": "text", "url_field": "url"},
        ],
        "dedup": NO_DEDUP,
        "shard_rows": 40,
    }
    job_file = tmp / "small.yaml"
    job_file.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return job_file, tmp / "out"


@pytest.fixture(scope="module")
def small_run(small_job) -> tuple[Path, Path, dict[str, str], dict]:
    job_file, out = small_job
    result = invoke("run", str(job_file), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"curate inspect {out}" in result.output
    return job_file, out, _snapshot(out), json.loads((out / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.ray
def test_small_run_counts(small_run):
    _, out, snap, manifest = small_run
    counts = {f["input"]: (f["records_in"], f["kept"], f["rejected"]) for f in manifest["inputs"]}
    assert counts["smilechat"][0] == _lines(SMILECHAT_FIXTURE) >= 100 and counts["web"][0] == _lines(DEMO_WEB) > 100
    assert all(f["reconciled"] for f in manifest["inputs"])
    assert any(k.startswith("data/") for k in snap) and any(k.startswith("rejects/") for k in snap)


@pytest.mark.ray
def test_a_run_leaves_a_ray_it_did_not_start_running(small_run):
    """`curate run` shuts down, early, only a Ray its run started: the one this process had (the tests') stays."""
    import ray

    assert ray.is_initialized()


@pytest.mark.ray
def test_rerun_into_the_same_output_is_byte_identical(small_run):
    job_file, out, first, manifest = small_run
    (out / "data" / "part-09999-0000000000.parquet").write_bytes(b"stale shard from an older run")
    result = invoke("run", str(job_file), "-o", str(out))
    assert result.exit_code == 0, result.output
    second = _snapshot(out)
    assert sorted(second) == sorted(first), "same shard names, nothing stale left"
    assert second == first, "same bytes"
    again = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert again["job"]["config_hash"] == manifest["job"]["config_hash"]
    assert again["inputs"] == manifest["inputs"]


@pytest.mark.ray
def test_inspect_prints_row_counts(small_run):
    _, out, _, manifest = small_run
    kept, rejected = manifest["totals"]["kept"], manifest["totals"]["rejected"]
    n_data = len(list((out / "data").glob("*.parquet")))
    result = invoke("inspect", str(out))
    assert result.exit_code == 0, result.output
    assert f"{n_data} file(s), {kept} rows" in result.output
    assert "source: " in result.output and "smilechat=" in result.output
    result = invoke("inspect", str(out / "rejects"), "-n", "1")
    assert result.exit_code == 0, result.output
    assert f", {rejected} rows" in result.output
    one = sorted((out / "data").glob("*.parquet"))[0]
    assert invoke("inspect", str(one)).output.startswith("1 file(s), ")


def test_inspect_of_nothing_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "nowhere" in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------------------------------------ list


def test_list_signals():
    result = invoke("list", "signals")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert listed == list(REGISTRY)
    assert set(listed) <= set(record_schema().signal_columns)


def test_list_rules():
    result = invoke("list", "rules")
    assert result.exit_code == 0
    for path in sorted(asset_dir("rules").glob("*.yaml")):
        assert path.name in result.output
        for rule in load_rule_set(str(path)).rules:
            assert re.search(rf"^\s+(\(off\) )?{re.escape(rule.id)}\s+fires when ", result.output, re.M), rule.id


def test_list_labels():
    result = invoke("list", "labels")
    assert result.exit_code == 0
    for name, labels in record_schema().label_sets.items():
        assert f"{name} ({len(labels)}): {', '.join(labels)}" in result.output


def test_list_rejects_an_unknown_thing():
    result = CliRunner().invoke(main, ["list", "widgets"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_list_models_shows_every_shipped_card():
    result = invoke("list", "models")
    assert result.exit_code == 0
    for task in ("quality", "domain", "toxicity", "esc_relevance", "emotion"):
        assert re.search(rf"^on\s+{task}\s+\S+@\S+\s+fasttext\s+valid acc=0\.\d+", result.output, re.M), result.output
    # the emotion task's three registers, each its own card
    for card in ("emotion.yaml", "emotion-spoken.yaml", "emotion-web.yaml"):
        assert re.search(rf"^on\s+emotion\s+\S+@\S+\s+fasttext\s.*\s{card}$", result.output, re.M), result.output
    # a graded score shows its rank agreement, not an accuracy it does not have
    assert re.search(r"^on\s+dialogue_quality\s+\S+@\S+\s+linear\s+select-CV Spearman=0\.\d+ \(web quality's -?0\.\d+\)",
                     result.output, re.M), result.output
    # a tagger that does not beat a constant is listed as off, with its reason
    assert re.search(r"^OFF\s+gender\s.*\n\s+off by default: .*for always 'female'", result.output, re.M), result.output


def test_rules_explain_gives_a_verdict():
    result = invoke("rules", "explain", "太短了")
    assert result.exit_code == 0, result.output
    assert "cwt_too_short" in result.output


@pytest.mark.data  # the card's figure: the whole COLD dev split
def test_eval_toxicity_on_cold_dev_prints_the_table(shared_data) -> None:
    result = invoke("eval", "toxicity", "--data", str(shared_data / "cold" / "dev.csv"))
    assert result.exit_code == 0, result.output
    card = yaml.safe_load((asset_dir("classifiers") / "toxicity.yaml").read_text(encoding="utf-8"))
    assert card["metrics"]["valid"]["n"] == 6431  # the card's valid split is COLD dev
    figure = f"accuracy={card['metrics']['valid']['accuracy']:.4f}"
    assert figure in result.output and "majority baseline (safe)" in result.output
    assert "confusion (rows gold, columns predicted)" in result.output


def test_eval_toxicity_on_the_cold_fixture_beats_the_majority() -> None:
    path = FIXTURES / "cold" / "dev.csv"
    result = invoke("eval", "toxicity", "--data", str(path))
    assert result.exit_code == 0, result.output
    m = re.search(r"^n=(\d+)\s+accuracy=([\d.]+) .* majority baseline \((\w+)\): accuracy=([\d.]+)", result.output, re.M)
    assert m, result.output
    n, acc, majority, base = int(m[1]), float(m[2]), m[3], float(m[4])
    assert n == _lines(path) - 1 and majority in ("safe", "offensive")
    assert acc > base + 0.2, result.output
    assert "confusion (rows gold, columns predicted)" in result.output


def test_eval_reads_ewect_style_posts_with_the_web_card(tmp_path) -> None:
    f = tmp_path / "posts.tsv"  # EWECT's layout (label digit, tab, text), synthetic posts
    f.write_text("label\ttext_a\n2\t今天收到录取通知书了，太开心了！\n1\t排了三个小时的队又被插队，气死我了。\n"
                 "3\t养了十年的猫走了，心里空落落的。\n0\t明天上午九点开会。\n", encoding="utf-8")
    web = invoke("eval", "emotion", "--data", str(f), "--map", "ewect")
    assert web.exit_code == 0, web.output
    assert "card emotion-web.yaml" in web.output and re.search(r"^n=4\s", web.output, re.M), web.output
    written = invoke("eval", "emotion", "--model", str(REPO / "classifiers" / "emotion.yaml"), "--data", str(f), "--map", "ewect")
    assert written.exit_code == 0 and "card emotion.yaml" in written.output, written.output


@pytest.mark.parametrize(("task", "column", "card"), [("emotion", "Emotion", "emotion-spoken.yaml"),
                                                     ("sentiment", "Sentiment", "sentiment-spoken.yaml")])
def test_eval_reads_cped_utterances_with_the_spoken_card(task, column, card) -> None:
    """A CPED-style CSV is measured with the card a run tags its turns with (role `other`: the spoken register),
    unless --model names another."""
    path = FIXTURES / "cped" / "valid.csv"
    spoken = invoke("eval", task, "--data", str(path), "--column", column)
    assert spoken.exit_code == 0 and f"card {card}" in spoken.output, spoken.output
    written = invoke("eval", task, "--model", str(REPO / "classifiers" / f"{task}.yaml"), "--data", str(path),
                     "--column", column)
    assert written.exit_code == 0 and f"card {task}.yaml" in written.output, written.output


def test_eval_names_a_bad_label(tmp_path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_text('{"text": "你好", "label": "rude"}\n', encoding="utf-8")
    result = invoke("eval", "toxicity", "--data", str(f))
    assert result.exit_code == 2 and "labels ['rude'] are not among the model's" in result.output
