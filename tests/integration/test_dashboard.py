"""Dashboards of real runs, opened in headless Chromium: charts render, nothing errs, injected markup never runs;
and run-level stats are the same whether a run writes one shard or many."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curate.dashboard import render_dashboard
from curate.job import load_job, parse_job
from curate.run import run_job
from curate.schema import conform
from curate.stats.merge import merge_stats, read_shard_stats
from curate.stats.shard import shard_stats
from tests.integration.browser import browser_page, screenshot

REPO = Path(__file__).resolve().parents[2]
DEMO_WEB = REPO / "demo" / "web.jsonl"

pytestmark = pytest.mark.ray

PAYLOADS = [
    "<script>window.__pwned = 'script';</script>",
    '<img src=x onerror="window.__pwned = \'img\'">',
    '"><svg onload="window.__pwned = \'svg\'"></svg>',
    "'><iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "</title></style></textarea><script>window.__pwned = 'close'</script>",
    "<a href=\"javascript:window.__pwned='href'\">点我</a>",
]
CLEAN = "这是一段关于情绪支持和心理健康的中文文章，讨论了如何倾听、理解与陪伴身边的人。" * 4


@pytest.fixture(scope="module")
def demo_out(ray_local, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dash-demo") / "out"
    run_job(load_job(str(REPO / "jobs" / "demo.yaml"), output=str(out)))
    render_dashboard(out)
    return out


def test_index_and_a_shard_page_render_in_chromium(demo_out, tmp_path):
    shards = sorted(p.stem for p in (demo_out / "stats").glob("part-*.json"))
    dialogue_shard = next(s for s in shards if json.loads((demo_out / "stats" / f"{s}.json").read_text())["kinds"]
                          .get("dialogue"))
    with browser_page() as (page, visit):
        page.goto((demo_out / "dashboard" / "index.html").as_uri())
        assert page.locator("svg.funnel g.step").count() >= 4
        assert page.locator("svg.hist").count() >= 3
        assert page.locator("svg.spread g.shard").count() >= len(shards)
        assert page.locator("table.shards tr").count() == len(shards) + 1
        assert page.locator("svg.labels").count() > 5
        screenshot(page, tmp_path, "index.png")
        page.locator(f'table.shards a[href="{dialogue_shard}.html"]').click()
        page.wait_for_load_state()
        assert page.url.endswith(f"{dialogue_shard}.html")
        assert page.locator("h1").inner_text() == f"shard {dialogue_shard}"
        assert page.locator("svg.funnel").count() == 1
        assert page.locator("svg.hist").count() >= 20
        assert page.locator("figure.label-counts svg.labels").count() >= 10
        assert page.locator("article.sample").count() >= 3
        assert page.locator("li.turn.supporter .tag").count() > 0, "dialogue samples are shown as tagged turns"
        screenshot(page, tmp_path, "shard.png")
        for shard in shards:  # every page loads without an error
            page.goto((demo_out / "dashboard" / f"{shard}.html").as_uri())
    assert visit.console_errors == [] and visit.page_errors == []
    assert visit.remote_requests == [], "the pages load nothing from the network"


def _injection_job(tmp: Path) -> Path:
    web = [{"id": f"inj-{i}<b onmouseover=\"window.__pwned='id'\">", "url": f"https://x.test/?q={p}",
            "text": f"{CLEAN}\n{p}\n{CLEAN}"} for i, p in enumerate(PAYLOADS)]
    web.append({"id": "short<script>window.__pwned='short'</script>", "text": PAYLOADS[0]})  # rejected: too short
    (tmp / "web.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in web), encoding="utf-8")
    dialogues = [{"id": f"dlg-{i}", "turns": [
        {"role": "client", "content": f"我最近很难过，{p}，不知道该怎么办才好。"},
        {"role": "counselor<img src=x onerror=\"window.__pwned='role'\">", "content": f"听起来你很辛苦。{p}"},
        {"role": "client", "content": "谢谢你愿意听我说这些，我感觉好一些了。"},
        {"role": "counselor", "content": "不客气，我们可以慢慢聊，你并不孤单。"}]} for i, p in enumerate(PAYLOADS)]
    (tmp / "dialogues.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in dialogues),
                                         encoding="utf-8")
    doc = {"name": "inject<script>window.__pwned='job'</script>", "output": str(tmp / "out"),
           "inputs": [{"name": "web", "path": "web.jsonl", "kind": "web", "id_field": "id", "url_field": "url"},
                      {"name": "talks", "path": "dialogues.jsonl", "kind": "dialogue", "id_field": "id",
                       "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}}],
           # pii off: the payloads must reach the pages as written (an unknown speaker label is a name to redact)
           "rules": ["default.yaml", "dialogue.yaml"], "pii": {"mode": "off"}}
    (tmp / "job.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return tmp / "job.yaml"


def test_injected_markup_shows_as_text_and_never_runs(ray_local, tmp_path):
    job = load_job(str(_injection_job(tmp_path)))
    run_job(job)
    index = render_dashboard(Path(job.output))
    pages = sorted(index.parent.glob("*.html"))
    sampled = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "&lt;script&gt;" in sampled and "onerror=&quot;" in sampled, "the payloads reached the pages, escaped"
    assert not re.search(r"<(script|img|iframe|a href=\"javascript)", sampled, re.I)
    with browser_page() as (page, visit):
        for path in pages:
            page.goto(path.as_uri())
            assert page.evaluate("window.__pwned") is None, path.name
            assert page.locator("script, iframe, img, [onerror], [onload], [onmouseover]").count() == 0
            # the same markup without its Content-Security-Policy: escaping alone keeps the payloads inert
            html = path.read_text(encoding="utf-8")
            page.set_content(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html))
            assert page.evaluate("window.__pwned") is None, f"{path.name} without CSP"
        page.goto(pages[-1].as_uri())
        text = page.locator("body").inner_text()
        assert "<script>window.__pwned" in text, "a payload is shown to the reviewer as text"
        screenshot(page, tmp_path, "injection.png")
    assert visit.page_errors == []


def _web_run(out: Path, shard_rows: int) -> dict:
    doc = {"name": "merge", "output": str(out), "shard_rows": shard_rows, "rules": ["default.yaml"],
           "inputs": [{"name": "web", "path": str(DEMO_WEB), "kind": "web", "id_field": "id", "url_field": "url"}]}
    run_job(parse_job(doc, out.parent))
    return read_shard_stats(out)


def test_run_level_stats_are_the_same_in_one_shard_or_many(ray_local, tmp_path):
    few = _web_run(tmp_path / "few", 100_000)  # Ray's blocks still split the file into a few shards
    many = _web_run(tmp_path / "many", 20)
    assert len(many) > 10 > len(few)
    merged_few, merged_many = merge_stats(few), merge_stats(many)
    assert merged_few["records_in"] == merged_many["records_in"] > 300
    assert merged_few["histograms"] == merged_many["histograms"]
    assert merged_few["labels"] == merged_many["labels"]
    assert merged_few == merged_many, "counts, files, duplicates and samples too"
    # and the whole run as one shard: every written row, kept and rejected, in a single table
    rows = pa.concat_tables([pq.read_table(p) for sub in ("data", "rejects")
                             for p in sorted((tmp_path / "many" / sub).glob("*.parquet"))])
    assert merge_stats([shard_stats(conform(rows))]) == merged_many
