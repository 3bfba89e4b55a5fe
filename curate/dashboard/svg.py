"""Inline SVG charts (no JavaScript): histograms, label bars, a funnel, per-shard score spreads.

Every chart is drawn in its own coordinates (a viewBox) and scales to the width of its panel (CSS: width 100%),
so no chart is wider than the panel it sits in, whatever the window. Every string that reaches the markup goes
through `esc` (text and attribute values alike).
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

KEPT, DROPPED, TOTAL, MUTED = "#2f855a", "#c05621", "#2b6cb0", "#a0aec0"
MAX_COLUMNS = 100  # spread columns per chart: beyond, consecutive shards share a column (about 9 px at 1000 px)
ELLIPSIS = "…"
BOLD = 1.1  # bold text is about this much wider


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


def _char_em(c: str) -> float:
    """Width of one character in em, on the wide side of common sans fonts (DejaVu Sans is among the widest)."""
    if unicodedata.east_asian_width(c) in "WF":
        return 1.0
    if c in "iIjl.,:;!|'`()[] ":
        return 0.34
    if c in "frt-":
        return 0.45
    if c in "mwMW@%":
        return 0.95
    if c.isupper():
        return 0.74
    return 0.64


def text_width(text: str, font_px: float) -> float:
    """Estimated rendered width of `text` at `font_px` (no browser here: an upper estimate, so text fits)."""
    return font_px * sum(_char_em(c) for c in text)


def fit_text(text: str, font_px: float, max_px: float) -> str:
    """`text`, or its head and an ellipsis, short enough to fit `max_px` (the full text goes in a <title>)."""
    if text_width(text, font_px) <= max_px + 1e-6:  # a label measured against its own width fits
        return text
    room = max_px - text_width(ELLIPSIS, font_px)
    out = ""
    for c in text:
        if text_width(out + c, font_px) > room:
            break
        out += c
    return out + ELLIPSIS


def _svg(kind: str, width: float, height: float, parts: Sequence[str]) -> str:
    """One chart: an inline <svg> of class `chart KIND`, drawn in a WIDTHxHEIGHT viewBox that CSS scales to fit."""
    return (f'<svg class="chart {kind}" role="img" viewBox="0 0 {width:g} {height:g}" '
            f'preserveAspectRatio="xMinYMin meet">' + "".join(parts) + "</svg>")


def histogram_svg(edges: Sequence[float], total: Sequence[int], kept: Sequence[int] | None = None, *,
                  width: int = 400, height: int = 130, caption: str = "") -> str:
    """Bars per fixed bin: kept part in green, the rest (rejected) in orange stacked on top; hover titles."""
    n = len(total)
    top = max([*total, 1])
    plot_h, pad_b = height - 24, 16
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
        parts.append(f'<text x="{1 + i * bw:.1f}" y="{height - 3}" font-size="11" text-anchor="{anchor}">'
                     f"{esc(fmt_num(edges[i]))}</text>")
    return _svg("hist", width, height, parts)


def _bar_row(cls: str, title: str, label: str, label_x: float, text_y: float, font: int, weight: str,
             rects: str, count_x: float, count: int) -> str:
    """One labelled horizontal bar: escaped title and label (right-aligned), its rect(s), the count after it."""
    return (f'<g class="{esc(cls)}"><title>{esc(title)}</title>'
            f'<text x="{label_x:.1f}" y="{text_y}" font-size="{font}" font-weight="{weight}" text-anchor="end">{esc(label)}</text>'
            f'{rects}<text x="{count_x:.1f}" y="{text_y}" font-size="10">{count}</text></g>')


def _label_column(labels: Sequence[str], font_px: float, width: int) -> float:
    """Width of the label column: the longest label and a margin, at most half the chart (longer labels are
    cut to fit it with an ellipsis)."""
    widest = max((text_width(lab, font_px) for lab in labels), default=0.0)
    return min(max(widest, 40.0), width / 2) + 8


def label_bars_svg(items: Sequence[tuple[str, int, int]], *, width: int = 400) -> str:
    """Horizontal bars, one per (label, count, kept count): kept in green, the rest in orange.

    The label column is as wide as the longest label (up to half the chart); a longer label ends in an
    ellipsis and is shown whole in the row's hover title."""
    row, font = 16, 11
    height = row * len(items) + 4
    top = max([n for _, n, _ in items] + [1])
    label_w = _label_column([lab for lab, _, _ in items], font, width)
    bar_w = width - label_w - text_width(str(top), 10) - 8
    parts: list[str] = []
    for i, (label, n, k) in enumerate(items):
        y = 2 + i * row
        w_all, w_kept = bar_w * n / top, bar_w * k / top
        rects = (f'<rect x="{label_w:.1f}" y="{y + 2}" width="{w_kept:.1f}" height="{row - 4}" fill="{KEPT}"/>'
                 f'<rect x="{label_w + w_kept:.1f}" y="{y + 2}" width="{w_all - w_kept:.1f}" height="{row - 4}" fill="{DROPPED}"/>')
        parts.append(_bar_row("bar", f"{label}: {n} ({k} kept)", fit_text(label, font, label_w - 8), label_w - 4,
                              y + 11, font, "normal", rects, label_w + w_all + 4, n))
    return _svg("labels", width, height, parts)


@dataclass(frozen=True)
class FunnelStep:
    """One row of the funnel: a running total (`total`, `kept`) or a drop (`drop`) by one reason."""

    label: str
    count: int
    kind: str  # total | drop | kept


def funnel_svg(steps: Sequence[FunnelStep], *, width: int = 720) -> str:
    """Input to kept: running totals as full bars, each reason's drop as an indented bar of its size."""
    row, font = 18, 11
    height = row * len(steps) + 4
    top = max([s.count for s in steps] + [1])
    labels = [("− " if s.kind == "drop" else "") + s.label for s in steps]
    label_w = _label_column(labels, font * BOLD, width)
    bar_w = width - label_w - text_width(str(top), 10) - 8
    colour = {"total": TOTAL, "drop": DROPPED, "kept": KEPT}
    parts: list[str] = []
    for i, (s, label) in enumerate(zip(steps, labels, strict=True)):
        y = 2 + i * row
        w = bar_w * s.count / top
        weight = "normal" if s.kind == "drop" else "bold"
        rect = f'<rect x="{label_w:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row - 5}" fill="{colour[s.kind]}"/>'
        parts.append(_bar_row(f"step {s.kind}", f"{label}: {s.count}", fit_text(label, font * BOLD, label_w - 8),
                              label_w - 6, y + 12, font, weight, rect, label_w + w + 4, s.count))
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


def spread_columns(n_shards: int, max_columns: int = MAX_COLUMNS) -> int:
    """Shards per column of a spread chart: 1 up to `max_columns` shards, else enough to stay within them."""
    return max(1, math.ceil(n_shards / max_columns))


def spread_svg(spreads: Sequence[Spread], lo: float, hi: float, *, width: int = 1000, height: int = 150,
               caption: str = "", max_columns: int = MAX_COLUMNS) -> str:
    """Shards in run order along x, the score along y; a dashed line at the median of the shards' medians.

    Up to `max_columns` shards: one column per shard, its p10-p90 as a line and its median as a dot, linked to
    its page. More shards: each column stands for that many consecutive shards (a box per bucket): a thin line
    from their lowest p10 to their highest p90, a box from their lowest to their highest median, a dot at the
    median of their medians; it links to the bucket's most unusual shard (median farthest from the dashed
    line). So the chart keeps its width at any shard count and an odd shard still widens its column's box.
    """
    pad_l, pad_r, pad_t, pad_b = 36, 6, 8, 18
    plot_h = height - pad_t - pad_b
    per = spread_columns(len(spreads), max_columns)
    buckets = [spreads[i:i + per] for i in range(0, len(spreads), per)]
    step = (width - pad_l - pad_r) / max(len(buckets), 1)
    centre = median(s.p50 for s in spreads) if spreads else (lo + hi) / 2

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - (min(max(v, lo), hi) - lo) / ((hi - lo) or 1))

    parts = [f"<title>{esc(caption)}</title>"]
    for v in (lo, lo + (hi - lo) / 4, (lo + hi) / 2, lo + 3 * (hi - lo) / 4, hi):
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e2e8f0"/>'
                     f'<text x="{pad_l - 4}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{esc(fmt_num(v))}</text>')
    parts.append(f'<line class="centre" x1="{pad_l}" x2="{width - pad_r}" y1="{y(centre):.1f}" y2="{y(centre):.1f}" '
                 f'stroke="{MUTED}" stroke-dasharray="4 3"/>')
    hit = f'y="{pad_t}" width="{step:.2f}" height="{plot_h}" fill="{TOTAL}" fill-opacity="0"'
    for i, b in enumerate(buckets):
        x = pad_l + step * (i + 0.5)
        first = i * per + 1
        if per == 1:
            s = b[0]
            tip = f"shard {first} of {len(spreads)}, {s.shard}: n={s.n}, p10 {s.p10:.2f}, median {s.p50:.2f}, p90 {s.p90:.2f}"
            marks = (f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(s.p90):.1f}" y2="{y(s.p10):.1f}" stroke="{TOTAL}" '
                     f'stroke-width="{min(max(step * 0.4, 1), 6):.1f}" stroke-opacity="0.5"/>'
                     f'<circle cx="{x:.1f}" cy="{y(s.p50):.1f}" r="{min(max(step * 0.3, 1.5), 4):.1f}" fill="{TOTAL}"/>')
            cls, href = "shard", s.href
        else:
            odd = max(b, key=lambda s: abs(s.p50 - centre))
            meds = [s.p50 for s in b]
            low, high = min(s.p10 for s in b), max(s.p90 for s in b)
            tip = (f"shards {first}–{first + len(b) - 1} of {len(spreads)} ({b[0].shard} … {b[-1].shard}), "
                   f"n={sum(s.n for s in b)}: medians {min(meds):.2f}–{max(meds):.2f} (median {median(meds):.2f}), "
                   f"p10–p90 {low:.2f}–{high:.2f}; most unusual {odd.shard} (median {odd.p50:.2f}): click to open it")
            box_top, box_bottom = y(max(meds)), y(min(meds))
            box_h = max(box_bottom - box_top, 2.0)
            box_w = min(max(step * 0.6, 2), 10)
            marks = (f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(high):.1f}" y2="{y(low):.1f}" stroke="{TOTAL}" '
                     f'stroke-width="{min(max(step * 0.15, 1), 2):.1f}" stroke-opacity="0.45"/>'
                     f'<rect x="{x - box_w / 2:.1f}" y="{(box_top + box_bottom - box_h) / 2:.1f}" width="{box_w:.1f}" '
                     f'height="{box_h:.1f}" fill="{TOTAL}" fill-opacity="0.35" stroke="{TOTAL}" stroke-width="0.8"/>'
                     f'<circle cx="{x:.1f}" cy="{y(median(meds)):.1f}" r="{min(max(step * 0.25, 1.5), 3):.1f}" fill="{TOTAL}"/>')
            cls, href = "bucket", odd.href
        parts.append(f'<a href="{esc(href)}"><g class="{cls}"><title>{esc(tip)}</title>'
                     f'<rect class="hit" x="{x - step / 2:.2f}" {hit}/>{marks}</g></a>')
    ticks = sorted({1, (len(buckets) + 1) // 2, len(buckets)}) if buckets else []
    for i in ticks:
        x = pad_l + step * (i - 0.5)
        label = str((i - 1) * per + 1) if per == 1 else f"{(i - 1) * per + 1}–{min(i * per, len(spreads))}"
        anchor = "start" if i == 1 and len(ticks) > 1 else "end" if i == len(buckets) and len(ticks) > 1 else "middle"
        x = pad_l if anchor == "start" else width - pad_r if anchor == "end" else x
        parts.append(f'<text x="{x:.1f}" y="{height - 4}" font-size="11" text-anchor="{anchor}">shard {esc(label)}</text>')
    return _svg("spread", width, height, parts)
