"""`curate export` on a real run over SMILECHAT (the committed fixture) and the demo's web pages: every exported line checked
against its format, the selection round-tripped against an independent Polars query, the card and
dataset_info.json, seeded sampling, and the exported Parquet loaded by Polars, PyArrow, DuckDB and `datasets`."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.export import ExportSpec, export_run
from curate.schema import arrow_schema, label_set
from tests.conftest import REPO, SMILECHAT_FIXTURE, make_job

pytestmark = pytest.mark.ray

N_DIALOGUES = sum(1 for line in SMILECHAT_FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip())
# quality does the selecting (the toxicity model no longer flags these counselling dialogues): quality 1.3.0 puts
# the fixture's dialogues between about 0.66 and 0.73, so 0.7 keeps about half (0.9, set for 1.1.0, kept none)
WHERE = "quality > 0.7 and toxicity < 0.3 and esc_relevance > 0.5"


@pytest.fixture(scope="module")
def run_out(tmp_path_factory, ray_local) -> Path:
    """A real run: the N SMILECHAT dialogues of the fixture and the demo's web pages, scored, strategy-tagged."""
    from curate.run import run_job

    tmp = tmp_path_factory.mktemp("export-run")
    job = make_job(tmp, [
        {"name": "smilechat", "path": str(SMILECHAT_FIXTURE), "kind": "dialogue", "id_field": "id", "license": "CC0-1.0",
         "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}},
        {"name": "web", "path": str(REPO / "demo" / "web.jsonl"), "kind": "web",
         "text_field": "text", "url_field": "url", "license": "Apache-2.0"},
    ], rules=["default.yaml", "dialogue.yaml"], tags={"strategy": "strategy.yaml"}, shard_rows=40)
    result = run_job(job)
    assert result.manifest["totals"]["kept"] > N_DIALOGUES // 2
    return result.out


def expected(run_out: Path, where: str) -> pl.DataFrame:
    """The dialogues an export with `where` should contain, by an independent query over the shards."""
    return (pl.scan_parquet(run_out / "data" / "*.parquet").filter(pl.sql_expr(where))
            .filter(pl.col("kind") == "dialogue").select("id", "turns").collect())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_conversation(turns: list[dict], role: str, content: str, user: str, assistant: str) -> None:
    """LLaMA-Factory's rule: user and assistant alternate, user first, assistant last; no empty turn."""
    assert turns and len(turns) % 2 == 0
    for i, t in enumerate(turns):
        assert t[role] == (user if i % 2 == 0 else assistant), turns
        assert isinstance(t[content], str) and t[content].strip() == t[content] and t[content]


@pytest.mark.parametrize("fmt", ["sharegpt", "messages"])
def test_smilechat_export_is_valid_and_round_trips_the_selection(run_out, tmp_path, fmt):
    runner = CliRunner()
    res = runner.invoke(main, ["export", str(run_out), "--to", str(tmp_path / fmt), "--format", fmt,
                               "--where", WHERE, "--turn-tag", "strategy", "--name", "smile"])
    assert res.exit_code == 0, res.output
    rows = read_jsonl(tmp_path / fmt / "smile.jsonl")
    want = expected(run_out, WHERE)
    assert 0 < want.height < N_DIALOGUES  # the expression selects, it does not keep everything
    assert sorted(r["id"] for r in rows) == sorted(want["id"])
    summary = json.loads((tmp_path / fmt / "export.json").read_text(encoding="utf-8"))
    matched = pl.scan_parquet(run_out / "data" / "*.parquet").filter(pl.sql_expr(WHERE)).select(pl.len()).collect().item()
    assert summary["selection"]["matched"] == summary["selection"]["selected"] == matched
    assert summary["counts"]["records"] == summary["counts"]["rows"] == len(rows) == want.height
    assert summary["counts"]["skipped"].get("web document (not a dialogue)", 0) == matched - want.height
    texts = {r["id"]: [t["text"].strip() for t in r["turns"] if t["text"] and t["text"].strip()]
             for r in want.iter_rows(named=True)}
    supporter_strategies: list[str | None] = []
    for r in rows:
        if fmt == "sharegpt":
            turns = r["conversations"]
            check_conversation(turns, "from", "value", "human", "gpt")
            values = [t["value"] for t in turns]
            assert r["system"] is None
        else:
            turns = r["messages"]
            check_conversation(turns, "role", "content", "user", "assistant")
            values = [t["content"] for t in turns]
        # nothing invented or lost beyond the documented trims: the turns' texts, in order, merged
        assert "\n".join(values) in "\n".join(texts[r["id"]])
        assert {t["strategy"] for t in turns[0::2]} == {None}  # help-seekers' turns never carry a strategy
        supporter_strategies += [t["strategy"] for t in turns[1::2]]
    # supporter turns carry their strategy, except where the tagger withheld it (below its min_confidence)
    assert set(supporter_strategies) - {None} <= set(label_set("strategy"))
    assert sum(s is not None for s in supporter_strategies) > 0.5 * len(supporter_strategies) > 0
    info = json.loads((tmp_path / fmt / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["smile"]["file_name"] == "smile.jsonl" and info["smile"]["formatting"] == "sharegpt"
    assert info["smile"]["tags"]["user_tag"] == ("human" if fmt == "sharegpt" else "user")
    card = (tmp_path / fmt / "README.md").read_text(encoding="utf-8")
    for needle in (WHERE, "CC0-1.0", "`smilechat`", "strategy-smilechat-weak", "toxicity-cold", "### turn `strategy`",
                   f"{want.height} records"):
        assert needle in card, needle


def test_alpaca_rows_follow_the_conversations(run_out, tmp_path):
    share = export_run(ExportSpec(run_out, tmp_path / "s", format="sharegpt", where=WHERE))
    alpaca = export_run(ExportSpec(run_out, tmp_path / "a", format="alpaca", where=WHERE, history=3))
    conv = read_jsonl(share.files[0])
    rows = read_jsonl(alpaca.files[0])
    assert len(rows) == sum(len(r["conversations"]) // 2 for r in conv)
    by_id = {r["id"]: r["conversations"] for r in conv}
    for r in rows:
        assert r["instruction"] and r["output"] and r["input"] == "" and len(r["history"]) <= 3
        turns = by_id[r["id"]]
        pairs = [[turns[i]["value"], turns[i + 1]["value"]] for i in range(0, len(turns), 2)]
        k = pairs.index([r["instruction"], r["output"]])
        assert r["history"] == pairs[max(0, k - 3):k]
    info = json.loads((tmp_path / "a" / "dataset_info.json").read_text(encoding="utf-8"))["a"]
    assert info["formatting"] == "alpaca" and info["columns"]["history"] == "history"


def test_sampling_is_seeded_and_capped(run_out, tmp_path):
    def ids(to: str, **kw) -> list[str]:
        r = export_run(ExportSpec(run_out, tmp_path / to, format="parquet", **kw))
        return sorted(pl.read_parquet(r.files)["id"])

    a, b, c = ids("a", sample=25, seed=1), ids("b", sample=25, seed=1), ids("c", sample=25, seed=2)
    assert len(a) == 25 and a == b and a != c
    capped = pl.read_parquet(export_run(ExportSpec(run_out, tmp_path / "m", format="parquet", max_per_source=10)).files)
    assert capped.group_by("source").len()["len"].to_list() == [10, 10]
    bal = pl.read_parquet(export_run(ExportSpec(run_out, tmp_path / "bal", format="parquet", balance="toxic")).files)
    counts = bal.group_by("toxic").len()
    assert counts.height == 2 and counts["len"].n_unique() == 1


def test_cli_errors_exit_2_and_name_the_problem(run_out, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["export", str(run_out), "--to", str(tmp_path / "x"), "--where", "qualty > 0.6"])
    assert res.exit_code == 2 and "unknown column 'qualty'" in res.output and "quality" in res.output
    res = runner.invoke(main, ["export", str(run_out), "--to", str(tmp_path / "x"), "--turn-tag", "stratgy"])
    assert res.exit_code == 2 and "--turn-tag 'stratgy'" in res.output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    res = runner.invoke(main, ["export", str(run_out), "--to", str(tmp_path / "busy"), "--overwrite"])
    assert res.exit_code == 2 and "not replacing it" in res.output and (tmp_path / "busy" / "notes.txt").exists()
    res = runner.invoke(main, ["export", "--help"])
    assert res.exit_code == 0 and "Examples:" in res.output and "--balance" in res.output


def check_readers(files: list[Path], n: int, folder: Path) -> None:
    """Polars, PyArrow, DuckDB and `datasets` load the files as-is, with n rows and the record's types."""
    import duckdb
    import pyarrow.parquet as pq
    from datasets import load_dataset

    df = pl.read_parquet(files)
    assert df.height == n and df.schema["quality"] == pl.Float32 and df.schema["exact_hash"] == pl.UInt64
    assert isinstance(df.schema["turns"], pl.List) and isinstance(df.schema["turns"].inner, pl.Struct)
    table = pq.read_table(folder)
    assert table.num_rows == n and table.schema.remove_metadata().equals(arrow_schema().remove_metadata())
    con = duckdb.connect()
    glob = str(folder / "*.parquet")
    assert con.execute(f"select count(*) from read_parquet('{glob}')").fetchone()[0] == n
    types = dict(con.execute(f"select column_name, column_type from (describe select * from read_parquet('{glob}'))").fetchall())
    assert types["quality"] == "FLOAT" and types["id"] == "VARCHAR" and types["turns"].startswith("STRUCT(")
    assert con.execute(f"select count(*) from (select unnest(turns) from read_parquet('{glob}'))").fetchone()[0] == \
        df.select(pl.col("turns").list.len().sum()).item()
    ds = load_dataset("parquet", data_files=[str(f) for f in files], split="train",
                      cache_dir=str(folder.parent / "hf-cache"))
    assert ds.num_rows == n and ds.features["quality"].dtype == "float32" and ds.features["id"].dtype == "string"
    assert ds.features.arrow_schema.field("turns").type == arrow_schema().field("turns").type


def test_parquet_shards_load_in_polars_pyarrow_duckdb_datasets(run_out, tmp_path):
    result = export_run(ExportSpec(run_out, tmp_path / "pq", format="parquet", where=WHERE, rows_per_file=20))
    n = result.summary["counts"]["rows"]
    assert n == pl.scan_parquet(run_out / "data" / "*.parquet").filter(pl.sql_expr(WHERE)).select(pl.len()).collect().item()
    assert len(result.files) == -(-n // 20)
    check_readers(result.files, n, tmp_path / "pq" / "data")
    run_files = sorted((run_out / "data").glob("*.parquet"))  # and the run's own shards
    check_readers(run_files, pl.scan_parquet(run_files).select(pl.len()).collect().item(), run_out / "data")


def test_conversations_as_parquet_load_in_datasets(run_out, tmp_path):
    from datasets import load_dataset

    result = export_run(ExportSpec(run_out, tmp_path / "m", format="messages", where=WHERE, file_format="parquet"))
    ds = load_dataset("parquet", data_files=[str(f) for f in result.files], split="train",
                      cache_dir=str(tmp_path / "hf-cache"))
    assert ds.num_rows == result.summary["counts"]["rows"] > 0
    assert ds.features.arrow_schema.field("messages").type.value_type == pa.struct(
        [("role", pa.large_string()), ("content", pa.large_string())])
    first = ds[0]["messages"]
    assert first[0]["role"] == "user" and first[-1]["role"] == "assistant"
