"""Write OUT/dashboard/: index.html (run overview) and one part-*.html per shard, from OUT/stats and the manifest."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from curate.dashboard.outliers import rank_shards
from curate.dashboard.pages import index_page, shard_page
from curate.stats.merge import merge_stats, read_shard_stats

DASHBOARD = "dashboard"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def render_dashboard(out: Path) -> Path:
    """Render the dashboard of the run in `out`; returns OUT/dashboard/index.html.

    Reads OUT/stats/part-*.json (and OUT/manifest.json when present); pages are static HTML with inline SVG
    charts and an inlined stylesheet: they open offline, from disk, and run no script.
    """
    out = Path(out)
    docs = read_shard_stats(out)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else None
    run = merge_stats(docs)
    ranked = rank_shards(docs)
    folder = out / DASHBOARD
    folder.mkdir(parents=True, exist_ok=True)
    by_shard = {o.shard: o for o in ranked}
    for d in docs:
        _write(folder / f"{d['shard']}.html", shard_page(d, by_shard.get(d["shard"])))
    index = folder / "index.html"
    _write(index, index_page(run, docs, ranked, manifest))
    return index
