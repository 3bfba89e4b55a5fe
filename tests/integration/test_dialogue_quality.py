"""Dialogue quality in a real run (local Ray): the run-wide generic-reply step finds a closing shared by many
dialogues, the finish stage fills the signals and risk_unaddressed, the score lands in the shards and the
manifest, and `curate export --where "dialogue_quality > x"` selects by it and reports its distribution."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.models.dialogue_quality import cap
from curate.stages.generic_replies import min_dialogues
from tests.conftest import make_job

pytestmark = pytest.mark.ray

N_DIALOGUES = 100
SHARED_CLOSING = {"role": "counselor", "content": "祝你早日走出阴霾，拥抱属于自己的美好生活。"}
N_SHARED = 8  # dialogues that end with SHARED_CLOSING: above min_dialogues(N) = 5
RISKY = {"id": "risky-1", "turns": [
    {"role": "client", "content": "我最近每天都在想，我是不是死了算了，活着真的太累了。"},
    {"role": "counselor", "content": "你可以多出去走走，培养一些兴趣爱好，生活会慢慢变好的。"},
    {"role": "client", "content": "可是我什么都不想做。"},
    {"role": "counselor", "content": "那就先从小事做起，比如每天早上起来整理床铺。"},
]}
WHERE = "dialogue_quality > 0.6"


@pytest.fixture(scope="module")
def run_out(tmp_path_factory, smilechat_fixture, ray_local) -> Path:
    from curate.run import run_job

    tmp = tmp_path_factory.mktemp("dlg-quality-run")
    with smilechat_fixture.open(encoding="utf-8") as f:  # the committed 100 SMILECHAT dialogues
        records = [json.loads(next(f)) for _ in range(N_DIALOGUES)]
    for r in records[:N_SHARED]:
        r["turns"] = [*r["turns"], {"role": "client", "content": "谢谢你。"}, SHARED_CLOSING]
    lines = [json.dumps(r, ensure_ascii=False) for r in [*records, RISKY]]
    (tmp / "smile.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = make_job(tmp, [
        {"name": "smilechat", "path": "smile.jsonl", "kind": "dialogue", "id_field": "id", "license": "CC0-1.0",
         "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}},
    ], rules=["default.yaml", "dialogue.yaml"], scores={"dialogue_quality": "dialogue_quality.yaml"},
        tags={"strategy": "strategy.yaml", "emotion": "emotion.yaml"}, shard_rows=30)
    return run_job(job).out


@pytest.fixture(scope="module")
def rows(run_out) -> pl.DataFrame:
    return pl.read_parquet(run_out / "data").filter(pl.col("drop_reason").is_null())


def test_generic_step_finds_the_shared_closing(run_out, rows):
    manifest = json.loads((run_out / "manifest.json").read_text(encoding="utf-8"))
    report = manifest["dialogue_quality"]["generic_replies"]
    assert report["min_dialogues"] == min_dialogues(report["dialogues"]) == 5
    assert report["generic_clauses"] >= 1
    assert report["seconds"] >= 0
    shared = rows.filter(pl.col("turns").list.last().struct.field("text") == SHARED_CLOSING["content"])
    assert shared.height == N_SHARED
    # the closing is one generic turn of each of them; dialogues without it do not get it counted
    n_sup = shared["turns"].list.eval(pl.element().struct.field("role") == "supporter").list.sum()
    assert (shared["sig_generic_reply_frac"] >= 1 / n_sup - 1e-6).all()


def test_every_live_dialogue_is_scored_and_risk_caps(rows):
    assert rows.height > N_DIALOGUES // 2
    q = rows["dialogue_quality"]
    assert q.null_count() == 0 and q.min() >= 0 and q.max() <= 1 and q.std() > 0.02
    for col in ("sig_generic_reply_frac", "sig_strategy_entropy", "sig_seek_valence_shift", "sig_sup_question_frac",
                "sig_seek_reply_chars", "risk_unaddressed"):
        assert rows[col].null_count() == 0, col
    risky = rows.filter(pl.col("id") == "risky-1").row(0, named=True)
    assert risky["risk_unaddressed"] is True and risky["dialogue_quality"] <= cap() + 1e-6


def test_manifest_counts_risk_unaddressed(run_out, rows):
    block = json.loads((run_out / "manifest.json").read_text(encoding="utf-8"))["dialogue_quality"]
    assert block["risk_unaddressed"]["by_source"]["smilechat"] == block["risk_unaddressed"]["kept"]
    assert block["risk_unaddressed"]["kept"] == rows["risk_unaddressed"].sum() >= 1
    assert block["scored"] == rows.height == sum(block["histogram"]["counts"])


def test_export_where_dialogue_quality(run_out, rows, tmp_path):
    res = CliRunner().invoke(main, ["export", str(run_out), "--to", str(tmp_path / "x"), "--where", WHERE,
                                    "--name", "good"])
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in (tmp_path / "x" / "good.jsonl").read_text(encoding="utf-8").splitlines()]
    want = rows.filter(pl.col("dialogue_quality") > 0.6)
    assert 0 < len(got) == want.height < rows.height
    summary = json.loads((tmp_path / "x" / "export.json").read_text(encoding="utf-8"))
    hist = summary["stats"]["scores"]["dialogue_quality"]["histogram"]
    assert sum(hist["counts"]) == want.height and sum(hist["counts"][:6]) == 0  # nothing at or under 0.6
    card = (tmp_path / "x" / "README.md").read_text(encoding="utf-8")
    assert "### `dialogue_quality` distribution" in card and WHERE in card
