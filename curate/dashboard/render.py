"""Write OUT/dashboard/: index.html (run overview) and one part-*.html per shard, from OUT/stats and the manifest."""

from __future__ import annotations

import json
from pathlib import Path

from curate.dashboard.outliers import rank_shards
from curate.dashboard.pages import index_page, shard_page
from curate.io import storage
from curate.stats.merge import merge_stats, read_shard_stats

DASHBOARD = "dashboard"


def _write(path: str, text: str) -> None:
    storage.put(path, text.encode("utf-8"))  # whole: a temporary file renamed, or one request to a store


def render_dashboard(out: str | Path) -> Path | str:
    """Render the dashboard of the run in `out` (a folder or a URL); returns OUT/dashboard/index.html (a Path,
    or the URL as a string).

    Reads OUT/stats/part-*.json (and OUT/manifest.json when present); pages are static HTML with inline SVG
    charts and an inlined stylesheet: they open offline, from disk, and run no script.
    """
    out = str(out)
    docs = read_shard_stats(out)
    manifest_path = storage.join(out, "manifest.json")
    manifest = json.loads(storage.read_bytes(manifest_path).decode("utf-8")) if storage.is_file(manifest_path) else None
    run = merge_stats(docs)
    ranked = rank_shards(docs)
    folder = storage.join(out, DASHBOARD)
    storage.makedirs(folder)
    by_shard = {o.shard: o for o in ranked}
    for d in docs:
        _write(storage.join(folder, f"{d['shard']}.html"), shard_page(d, by_shard.get(d["shard"])))
    index = storage.join(folder, "index.html")
    _write(index, index_page(run, docs, ranked, manifest))
    return index if storage.is_url(index) else Path(index)
