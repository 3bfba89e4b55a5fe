"""Quality dashboards: static HTML pages (inline SVG charts, no script) drawn from a run's per-shard stats."""

from __future__ import annotations

from curate.dashboard.render import DASHBOARD, render_dashboard

__all__ = ["DASHBOARD", "render_dashboard"]
