"""Rank shards by how far they sit from their peers, so that a bad shard stands out on the run overview.

A shard is compared with the other shards of its source (leave-one-out: the peers' counts are the group total
minus the shard's own), else with the other shards of its kind, else with the rest of the run. For each
distribution (outcome: kept or each drop reason; every histogram, bin by bin with below/above/null as extra
bins; the record-level tags) the distance is the total variation distance (half the L1 distance between the
two normalised distributions, 0-1), shrunk for small shards by n / (n + SHRINK) (n: the shard's rows in that
distribution), so a shard of one record is not an outlier by chance alone. The per-label domain and emotion score
histograms are left out (the domain and emotion tags stand for them). The outlier score is the largest distance
(one distribution far off is what a bad shard looks like; an average would dilute it), reported with the three
distributions that differ most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from curate.stats.shard import stats_spec

TOP = 3
SHRINK = 30  # rows at which a distance counts half
_SKIP_GROUPS = ("domain score", "emotion score")
_TAGS = ("domain", "emotion", "sentiment")


@dataclass(frozen=True)
class Outlier:
    """One shard's outlier score and the distributions that differ most from its peers."""

    shard: str
    score: float
    peers: str  # what it was compared with: source NAME, kind NAME, run
    reasons: tuple[tuple[str, float], ...]


def _dominant(counts: dict[str, int]) -> str | None:
    return max(sorted(counts), key=lambda k: counts[k]) if counts else None


def distributions(doc: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The shard's distributions as {name: {bucket: count}} (scores over kept rows, signals over all rows)."""
    groups = {h.name: h.group for h in stats_spec().histograms}
    out: dict[str, dict[str, float]] = {"outcome": {"kept": doc["kept"], **doc["rejected_by_reason"]}}
    for name, pair in doc["histograms"].items():
        if groups.get(name) in _SKIP_GROUPS:
            continue
        h = pair["kept"] if groups.get(name) == "score" else pair["all"]
        out[name] = {"below": h["below"], "above": h["above"], "null": h["nulls"],
                     **{str(i): c for i, c in enumerate(h["counts"])}}
    for tag in _TAGS:
        out[tag] = dict(doc["labels"].get(tag, {}).get("kept", {}))
    return out


def total_variation(p: dict[str, float], q: dict[str, float]) -> float | None:
    """Half the L1 distance between two count vectors once normalised; None when either is empty."""
    keys = sorted(set(p) | set(q))
    a = np.array([p.get(k, 0) for k in keys], dtype=float)
    b = np.array([q.get(k, 0) for k in keys], dtype=float)
    if a.sum() <= 0 or b.sum() <= 0:
        return None
    return float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def _sum(into: dict[str, dict[str, float]], d: dict[str, dict[str, float]], sign: int) -> None:
    for name, counts in d.items():
        acc = into.setdefault(name, {})
        for k, n in counts.items():
            acc[k] = acc.get(k, 0) + sign * n


def rank_shards(docs: list[dict[str, Any]]) -> list[Outlier]:
    """Every shard's Outlier, most unusual first (ties: shard name)."""
    dists = [distributions(d) for d in docs]
    keys = [(_dominant(d["labels"]["source"]["all"]), _dominant(d["labels"]["kind"]["all"])) for d in docs]
    totals: dict[tuple[str, object], dict[str, dict[str, float]]] = {}
    sizes: dict[tuple[str, object], int] = {}
    for (source, kind), dist in zip(keys, dists, strict=True):
        for group in (("source", source), ("kind", kind), ("run", None)):
            _sum(totals.setdefault(group, {}), dist, +1)
            sizes[group] = sizes.get(group, 0) + 1
    ranked = []
    for doc, (source, kind), dist in zip(docs, keys, dists, strict=True):
        group = next((g for g in (("source", source), ("kind", kind), ("run", None)) if sizes[g] > 1), ("run", None))
        peers: dict[str, dict[str, float]] = {}
        _sum(peers, totals[group], +1)
        _sum(peers, dist, -1)
        tvs = [(name, tv * n / (n + SHRINK)) for name in dist
               if (tv := total_variation(dist[name], peers.get(name, {}))) is not None
               and (n := sum(dist[name].values())) > 0]
        tvs.sort(key=lambda t: (-t[1], t[0]))
        top = tvs[:TOP]
        score = top[0][1] if top and sizes[group] > 1 else 0.0
        label = group[0] if group[1] is None else f"{group[0]} {group[1]}"
        ranked.append(Outlier(doc["shard"], round(score, 4), label, tuple((n, round(t, 3)) for n, t in top)))
    ranked.sort(key=lambda o: (-o.score, o.shard))
    return ranked


def quantiles(h: dict[str, Any], edges: tuple[float, ...], qs: tuple[float, ...] = (0.1, 0.5, 0.9)) -> list[float]:
    """Approximate quantiles of a fixed-bin histogram (linear inside a bin; below/above at the outer edges)."""
    counts = [h["below"], *h["counts"], h["above"]]
    n = sum(counts)
    bounds = [(edges[0], edges[0]), *zip(edges[:-1], edges[1:], strict=True), (edges[-1], edges[-1])]
    out = []
    for q in qs:
        target, cum = q * n, 0.0
        value = edges[-1]
        for c, (lo, hi) in zip(counts, bounds, strict=True):
            if c and cum + c >= target:
                value = lo + (hi - lo) * (target - cum) / c
                break
            cum += c
        out.append(value)
    return out
