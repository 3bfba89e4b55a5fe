"""Dashboards read right at any shard count and window width: measured in headless Chromium over real runs of
1 shard (dialogues only), 5 shards (web only) and 200 shards (200 small input files, web and dialogues).

For every chart on the index and on shard pages: its box lies within its panel's, its labels within the chart,
no two panels overlap, nothing is wider than the window, and no chart is drawn empty (a panel without data for
the run is left out and named in one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.dashboard import render_dashboard
from curate.dashboard.svg import MAX_COLUMNS
from curate.job import parse_job
from curate.run import run_job
from tests.integration.browser import browser_page, layout, screenshot

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"
WIDTHS = (1000, 1400)
WEB = {"kind": "web", "id_field": "id", "url_field": "url"}
DIALOGUE = {"kind": "dialogue", "id_field": "id",
            "dialogue": {"style": "turns", "roles": {"client": "seeker", "counselor": "supporter"}}}
WEB_ONLY_FIELDS = ("sig_char_len", "sig_n_lines", "sig_avg_line_len")  # null for dialogues
DIALOGUE_ONLY_FIELDS = ("turn_chars", "sig_n_turns", "turns.role", "turns.strategy")  # null or absent for web

pytestmark = pytest.mark.ray


def _run(out: Path, inputs: list[dict], **extra: object) -> Path:
    doc = {"name": out.name, "output": str(out), "rules": ["default.yaml", "dialogue.yaml"], "inputs": inputs, **extra}
    run_job(parse_job(doc, out.parent))
    render_dashboard(out)
    return out


def _many_files(folder: Path, files: int) -> list[dict]:
    """`files` small JSONL inputs from the demo corpus: one dialogue per dialogue file, the web pages dealt
    round-robin over the rest (one shard per input file)."""
    dialogues = (DEMO / "dialogues.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    web = (DEMO / "web.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    n_web = files - len(dialogues)
    for sub in ("web", "dlg"):
        (folder / sub).mkdir(parents=True)
    for i in range(n_web):
        (folder / "web" / f"w{i:03d}.jsonl").write_text("".join(web[i::n_web]), encoding="utf-8")
    for i, line in enumerate(dialogues):
        (folder / "dlg" / f"d{i:03d}.jsonl").write_text(line, encoding="utf-8")
    return [{"name": "web", "path": str(folder / "web" / "*.jsonl"), **WEB},
            {"name": "dlg", "path": str(folder / "dlg" / "*.jsonl"), **DIALOGUE}]


@pytest.fixture(scope="module", params=[1, 5, 200], ids=lambda n: f"{n}-shards")
def run_out(request, ray_local, tmp_path_factory) -> Path:
    """A real run of that many shards, its dashboard rendered."""
    tmp = tmp_path_factory.mktemp(f"layout-{request.param}")
    if request.param == 1:
        out = _run(tmp / "dialogues", [{"name": "dlg", "path": str(DEMO / "dialogues.jsonl"), **DIALOGUE}])
    elif request.param == 5:
        out = _run(tmp / "web", [{"name": "web", "path": str(DEMO / "web.jsonl"), **WEB}], shard_rows=61)
    else:
        out = _run(tmp / "many", _many_files(tmp / "inputs", request.param))
    assert len(list((out / "stats").glob("part-*.json"))) == request.param
    return out


def _pages(out: Path) -> list[Path]:
    """The index, the first and last shard's pages, and the first page of each record kind's shard."""
    stats = sorted((out / "stats").glob("part-*.json"))
    picked = {stats[0].stem, stats[-1].stem}
    for kind in ("web", "dialogue"):
        picked |= {next((p.stem for p in stats if json.loads(p.read_text())["kinds"].get(kind)), stats[0].stem)}
    return [out / "dashboard" / "index.html", *(out / "dashboard" / f"{s}.html" for s in sorted(picked))]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_chart_lies_within_its_panel(run_out, width, tmp_path):
    with browser_page(width) as (page, visit):
        for path in _pages(run_out):
            page.goto(path.as_uri())
            found = layout(page)
            assert found["charts"] >= 3, path.name
            assert found["problems"] == [], f"{path.name} at {width} px"
        page.goto(_pages(run_out)[0].as_uri())
        screenshot(page, tmp_path, f"layout-{run_out.name}-{width}.png")
    assert visit.console_errors == [] and visit.page_errors == []


def test_spread_charts_keep_one_column_per_shard_or_bucket_many(run_out):
    shards = {p.stem for p in (run_out / "stats").glob("part-*.json")}
    with browser_page() as (page, _):
        page.goto((run_out / "dashboard" / "index.html").as_uri())
        charts = page.locator("svg.spread")
        assert charts.count() >= 1
        for i in range(charts.count()):
            chart = charts.nth(i)
            per_shard, buckets = chart.locator("g.shard").count(), chart.locator("g.bucket").count()
            caption = chart.locator("xpath=..").locator("figcaption").inner_text()
            assert "run order" in caption
            # a chart covers the shards with scored kept records (dialogue_quality: the dialogue shards only)
            covered = int(caption.split(" shards with scored kept records")[0].split()[-1])
            assert 1 <= covered <= len(shards)
            if covered <= MAX_COLUMNS:
                assert buckets == 0 and per_shard == covered
            else:
                assert per_shard == 0 and buckets <= MAX_COLUMNS and buckets >= MAX_COLUMNS // 2
            for href in chart.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
                assert href.removesuffix(".html") in shards, href
        if len(shards) > MAX_COLUMNS:  # the scores every kept record has are bucketed
            assert page.locator("svg.spread g.bucket").count() > 0


def test_panels_without_data_for_the_run_are_named_not_drawn(run_out):
    kinds = {k for p in (run_out / "stats").glob("part-*.json") for k in json.loads(p.read_text())["kinds"]}
    missing = WEB_ONLY_FIELDS if "web" not in kinds else DIALOGUE_ONLY_FIELDS if "dialogue" not in kinds else ()
    with browser_page() as (page, _):
        for path in _pages(run_out):
            page.goto(path.as_uri())
            titles = set(page.locator("figure h3").all_inner_texts())
            absent = " ".join(page.locator("p.absent").all_inner_texts())
            for name in missing:
                assert name not in titles, f"{name} drawn on {path.name} of a run without {name}"
                assert name in absent, f"{path.name} does not say why {name} is not drawn"
