"""Inline SVG charts (no JavaScript): histograms, label bars, a funnel, per-shard score spreads.

Every string that reaches the markup goes through `esc` (text and attribute values alike).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

KEPT, DROPPED, TOTAL, MUTED = "#2f855a", "#c05621", "#2b6cb0", "#a0aec0"


def esc(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_num(x: float) -> str:
    """A bin edge or count, short: 0.05, 1k, 20k, 1M."""
    if x >= 1_000_000 and x % 1_000_000 == 0:
        return f"{int(x // 1_000_000)}M"
    if x >= 1000 and x % 1000 == 0:
        return f"{int(x // 1000)}k"
    return f"{x:g}"


def _svg(kind: str, width: float, height: float, parts: Sequence[str]) -> str:
    """One chart: an inline <svg> of class `chart KIND` around its parts."""
    return (f'<svg class="chart {kind}" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            + "".join(parts) + "</svg>")


def histogram_svg(edges: Sequence[float], total: Sequence[int], kept: Sequence[int] | None = None, *,
                  width: int = 300, height: int = 110, caption: str = "") -> str:
    """Bars per fixed bin: kept part in green, the rest (rejected) in orange stacked on top; hover titles."""
    n = len(total)
    top = max([*total, 1])
    plot_h, pad_b = height - 22, 16
    bw = (width - 2) / max(n, 1)
    parts = [f"<title>{esc(caption)}</title>"]
    for i, t in enumerate(total):
        k = kept[i] if kept is not None else t
        x = 1 + i * bw
        h_all, h_kept = plot_h * t / top, plot_h * k / top
        tip = esc(f"[{fmt_num(edges[i])}, {fmt_num(edges[i + 1])}{']' if i == n - 1 else ')'}: {t} rows"
                  + (f", {k} kept" if kept is not None else ""))
        base = height - pad_b
        parts.append(f'<g class="bar"><title>{tip}</title>'
                     f'<rect x="{x:.1f}" y="{base - h_all:.1f}" width="{max(bw - 1, 1):.1f}" height="{h_all - h_kept:.1f}" fill="{DROPPED}"/>'
                     f'<rect x="{x:.1f}" y="{base - h_kept:.1f}" width="{max(bw - 1, 1):.1f}" height="{h_kept:.1f}" fill="{KEPT}"/></g>')
    parts.append(f'<line x1="0" y1="{height - pad_b}" x2="{width}" y2="{height - pad_b}" stroke="#718096"/>')
    for i in sorted({0, n // 2, n}):
        anchor = "start" if i == 0 else "end" if i == n else "middle"
        parts.append(f'<text x="{1 + i * bw:.1f}" y="{height - 3}" font-size="10" text-anchor="{anchor}">'
                     f"{esc(fmt_num(edges[i]))}</text>")
    return _svg("hist", width, height, parts)


def _bar_row(cls: str, title: str, label: str, label_x: float, text_y: float, font: int, weight: str,
             rects: str, count_x: float, count: int) -> str:
    """One labelled horizontal bar: escaped title and label (right-aligned), its rect(s), the count after it."""
    return (f'<g class="{esc(cls)}"><title>{esc(title)}</title>'
            f'<text x="{label_x}" y="{text_y}" font-size="{font}" font-weight="{weight}" text-anchor="end">{esc(label)}</text>'
            f'{rects}<text x="{count_x:.1f}" y="{text_y}" font-size="10">{count}</text></g>')


def label_bars_svg(items: Sequence[tuple[str, int, int]], *, width: int = 360, label_w: int = 150) -> str:
    """Horizontal bars, one per (label, count, kept count): kept in green, the rest in orange."""
    row = 16
    height = row * len(items) + 4
    top = max([n for _, n, _ in items] + [1])
    bar_w = width - label_w - 50
    parts: list[str] = []
    for i, (label, n, k) in enumerate(items):
        y = 2 + i * row
        w_all, w_kept = bar_w * n / top, bar_w * k / top
        rects = (f'<rect x="{label_w}" y="{y + 2}" width="{w_kept:.1f}" height="{row - 4}" fill="{KEPT}"/>'
                 f'<rect x="{label_w + w_kept:.1f}" y="{y + 2}" width="{w_all - w_kept:.1f}" height="{row - 4}" fill="{DROPPED}"/>')
        parts.append(_bar_row("bar", f"{label}: {n} ({k} kept)", label[:28], label_w - 4, y + 11, 11, "normal",
                              rects, label_w + w_all + 4, n))
    return _svg("labels", width, height, parts)


@dataclass(frozen=True)
class FunnelStep:
    """One row of the funnel: a running total (`total`, `kept`) or a drop (`drop`) by one reason."""

    label: str
    count: int
    kind: str  # total | drop | kept


def funnel_svg(steps: Sequence[FunnelStep], *, width: int = 640) -> str:
    """Input to kept: running totals as full bars, each reason's drop as an indented bar of its size."""
    row = 18
    height = row * len(steps) + 4
    top = max([s.count for s in steps] + [1])
    label_w, bar_w = 220, width - 220 - 70
    colour = {"total": TOTAL, "drop": DROPPED, "kept": KEPT}
    parts: list[str] = []
    for i, s in enumerate(steps):
        y = 2 + i * row
        w = bar_w * s.count / top
        label = ("− " if s.kind == "drop" else "") + s.label
        weight = "normal" if s.kind == "drop" else "bold"
        rect = f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row - 5}" fill="{colour[s.kind]}"/>'
        parts.append(_bar_row(f"step {s.kind}", f"{label}: {s.count}", label[:34], label_w - 6, y + 12, 11, weight,
                              rect, label_w + w + 4, s.count))
    return _svg("funnel", width, height, parts)


@dataclass(frozen=True)
class Spread:
    """A shard's score distribution in three numbers (10th, 50th, 90th percentile), linked to its page."""

    shard: str
    href: str
    p10: float
    p50: float
    p90: float
    n: int


def spread_svg(spreads: Sequence[Spread], lo: float, hi: float, *, width: int = 640, height: int = 120,
               caption: str = "") -> str:
    """One vertical p10-p90 line and median dot per shard (x: shards in order, y: the score): a bad shard stands out."""
    pad_l, pad_b = 30, 4
    plot_h = height - 8 - pad_b
    step = (width - pad_l - 4) / max(len(spreads), 1)

    def y(v: float) -> float:
        return 4 + plot_h * (1 - (min(max(v, lo), hi) - lo) / ((hi - lo) or 1))

    parts = [f"<title>{esc(caption)}</title>"]
    for v in (lo, (lo + hi) / 2, hi):
        parts.append(f'<line x1="{pad_l}" x2="{width}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e2e8f0"/>'
                     f'<text x="{pad_l - 3}" y="{y(v) + 3:.1f}" font-size="9" text-anchor="end">{esc(fmt_num(v))}</text>')
    for i, s in enumerate(spreads):
        x = pad_l + step * (i + 0.5)
        tip = esc(f"{s.shard}: n={s.n}, p10 {s.p10:.2f}, median {s.p50:.2f}, p90 {s.p90:.2f}")
        parts.append(f'<a href="{esc(s.href)}"><g class="shard"><title>{tip}</title>'
                     f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(s.p90):.1f}" y2="{y(s.p10):.1f}" stroke="{TOTAL}" '
                     f'stroke-width="{max(min(step * 0.5, 4), 1):.1f}" stroke-opacity="0.5"/>'
                     f'<circle cx="{x:.1f}" cy="{y(s.p50):.1f}" r="{max(min(step * 0.4, 3), 1.2):.1f}" fill="{TOTAL}"/></g></a>')
    return _svg("spread", width, height, parts)
