"""The dashboard as a pure function of OUT/stats: outlier ranking, escaping, page sizes, the CLI and --serve (no Ray)."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.dashboard import render_dashboard
from curate.dashboard.outliers import rank_shards
from curate.dashboard.pages import MAX_INPUT_ROWS, inputs_table, sample_card
from curate.dashboard.serve import HOST, dashboard_server
from curate.dashboard.svg import MAX_COLUMNS, Spread, label_bars_svg, spread_svg, text_width
from curate.stats.shard import shard_stats
from tests.unit.stats_data import make_table


def _write_run(out: Path, shards: int, *, bad: int | None = None, rows: int = 150) -> list[str]:
    (out / "stats").mkdir(parents=True)
    names = []
    for i in range(shards):
        shift = -0.8 if i == bad else 0.0
        doc = {"shard": f"part-00000-{i:010d}", **shard_stats(make_table(rows, i, quality_shift=shift))}
        (out / "stats" / f"{doc['shard']}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        names.append(doc["shard"])
    return names


@pytest.fixture
def run_out(tmp_path) -> Path:
    out = tmp_path / "out"
    _write_run(out, 9, bad=4)
    return out


def test_a_bad_shard_ranks_first(run_out):
    docs = [json.loads(p.read_text()) for p in sorted((run_out / "stats").glob("*.json"))]
    ranked = rank_shards(docs)
    assert ranked[0].shard == "part-00000-0000000004"
    assert ranked[0].reasons[0][0] == "quality"
    assert ranked[0].score > 2 * ranked[1].score


def test_render_writes_an_index_and_a_page_per_shard(run_out):
    index = render_dashboard(run_out)
    pages = sorted(p.name for p in index.parent.glob("part-*.html"))
    assert index.name == "index.html" and len(pages) == 9
    html = index.read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in html and "<script" not in html
    assert "http://" not in html and "https://" not in html, "nothing to fetch"
    table = html[html.index('<table class="shards">'):]
    assert table.index("part-00000-0000000004.html") < table.index("part-00000-0000000000.html"), "outlier first"
    shard = (index.parent / pages[0]).read_text(encoding="utf-8")
    sample_id = json.loads((run_out / "stats" / pages[0].replace(".html", ".json")).read_text())["samples"]["rejected"][0]["id"]
    assert sample_id in shard and sample_id not in html, "the index does not embed shard samples"


def test_the_index_stays_small_with_hundreds_of_shards(tmp_path):
    out = tmp_path / "big"
    _write_run(out, 240, rows=12)
    index = render_dashboard(out)
    per_shard = (index.stat().st_size - 60_000) / 240
    assert per_shard < 2_500, f"{per_shard:.0f} bytes of index per shard"


def test_every_data_string_is_escaped_in_a_sample():
    row = {"id": "<script>x()</script>", "kind": "web", "source": '"><img src=x onerror=alert(1)>',
           "url": "javascript:alert(1)", "text_chars": 3, "quality": 0.5, "toxicity": None, "esc_relevance": None,
           "domain": "<b>d</b>", "emotion": None, "sentiment": None, "toxic": None, "drop_reason": None,
           "drop_detail": None, "rule_flags": ["<i>r</i>"], "text": "<svg onload=alert(1)>", "turns": [],
           "n_turns": 0, "speakers": []}
    html = sample_card(row)
    assert "<script" not in html and "<img" not in html and "<svg" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&quot;&gt;&lt;img" in html


def test_cli_dashboard_writes_pages_and_names_a_missing_run(run_out, tmp_path):
    result = CliRunner().invoke(main, ["dashboard", str(run_out)])
    assert result.exit_code == 0, result.output
    assert (run_out / "dashboard" / "index.html").is_file()
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["dashboard", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "stats" in result.output


def test_serve_binds_loopback_only(run_out):
    index = render_dashboard(run_out)
    server = dashboard_server(index.parent, 0)
    try:
        host, port = server.server_address[:2]
        assert host == HOST == "127.0.0.1"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10) as r:
            assert r.status == 200 and b"Content-Security-Policy" in r.read()
    finally:
        server.shutdown()
        server.server_close()


def _spreads(n: int, odd: int | None = None) -> list[Spread]:
    return [Spread(f"part-{i:05d}", f"part-{i:05d}.html", 0.1 if i == odd else 0.6, 0.2 if i == odd else 0.8,
                   0.3 if i == odd else 0.9, 10) for i in range(n)]


@pytest.mark.parametrize("n", [1, 5, MAX_COLUMNS])
def test_a_spread_chart_has_one_linked_column_per_shard_up_to_max_columns(n):
    svg = spread_svg(_spreads(n), 0.0, 1.0)
    assert svg.count('<g class="shard">') == n and "bucket" not in svg
    assert re.findall(r'href="([^"]+)"', svg) == [f"part-{i:05d}.html" for i in range(n)]
    assert "viewBox=" in svg and " width=" not in svg.split(">")[0], "no fixed pixel width: CSS scales it"


@pytest.mark.parametrize("n", [MAX_COLUMNS + 1, 200, 500])
def test_many_shards_share_columns_and_a_column_links_its_most_unusual_shard(n):
    odd = n - 7
    svg = spread_svg(_spreads(n, odd), 0.0, 1.0)
    buckets = re.findall(r'<a href="([^"]+)"><g class="bucket"><title>([^<]*)</title>', svg)
    assert MAX_COLUMNS // 2 <= len(buckets) <= MAX_COLUMNS and '<g class="shard">' not in svg
    assert sum(1 for href, _ in buckets if href == f"part-{odd:05d}.html") == 1
    assert f"most unusual part-{odd:05d} (median 0.20)" in next(t for h, t in buckets if h == f"part-{odd:05d}.html")
    ranges = [re.match(r"shards (\d+)–(\d+) of (\d+)", t).groups() for _, t in buckets]
    assert ranges[0][0] == "1" and ranges[-1][1] == ranges[-1][2] == str(n), "every shard in one column"


def test_a_long_label_is_cut_to_fit_and_named_whole_in_its_title():
    long = "Restatement or Paraphrasing of what the seeker said, at length"
    svg = label_bars_svg([(long, 5, 3), ("Question", 9, 9)], width=400)
    label_x = float(re.search(r'<text x="([\d.]+)"[^>]*text-anchor="end">', svg).group(1))
    shown = re.search(r'text-anchor="end">([^<]*)</text>', svg).group(1)
    assert shown.endswith("…") and long.startswith(shown[:-1]) and f"<title>{long}: 5 (3 kept)</title>" in svg
    assert text_width(shown, 11) <= label_x, "the cut label fits left of its bar"
    assert "<title>Question: 9 (9 kept)</title>" in svg and ">Question</text>" in svg


def test_many_input_files_fold_under_a_summary_with_unreconciled_ones_first():
    files = [{"input": "web", "file": f"/d/w{i:03d}.jsonl", "records_in": 2, "kept": 1, "rejected": 1,
              "reconciled": i != 17} for i in range(MAX_INPUT_ROWS + 5)]
    html = inputs_table({"inputs": files})
    assert html.startswith("<details open><summary>25 input files, 1 NOT reconciled</summary>")
    assert html.index("w017.jsonl") < html.index("w000.jsonl") and html.count("<tr>") == 26
    html = inputs_table({"inputs": [f | {"reconciled": True} for f in files]})
    assert html.startswith("<details><summary>25 input files, all reconciled</summary>")
    assert "<details" not in inputs_table({"inputs": files[:MAX_INPUT_ROWS]})
