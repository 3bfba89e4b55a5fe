"""Exact merge of per-shard stats (schemas/stats.json): counts add, fixed-bin histograms add bin by bin,
label counts add, sample reservoirs keep the rows with the smallest id hashes again.

So run-level stats are the same whatever the shard size or order: merging shard stats equals the stats of
the whole run computed at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curate.io import storage
from curate.stats.shard import stats_spec

STATS_DIR = "stats"
_WRITER_KEYS = ("shard", "data", "rejects")  # per-shard bookkeeping the writer adds; not merged


def _add_counts(into: dict[str, int], other: dict[str, int]) -> None:
    for k, n in other.items():
        into[k] = into.get(k, 0) + n


def _add_histogram(into: dict[str, Any], other: dict[str, Any]) -> None:
    if len(into["counts"]) != len(other["counts"]):
        raise ValueError("histograms with different bins cannot be merged")
    for k in ("n", "nulls", "below", "above"):
        into[k] += other[k]
    into["counts"] = [a + b for a, b in zip(into["counts"], other["counts"], strict=True)]
    for k, pick in (("min", min), ("max", max)):
        vals = [v for v in (into[k], other[k]) if v is not None]
        into[k] = pick(vals) if vals else None


def empty_stats() -> dict[str, Any]:
    """Stats of no rows: the identity of `merge_stats`."""
    spec = stats_spec()

    def hist(n: int) -> dict[str, Any]:
        return {"n": 0, "nulls": 0, "below": 0, "above": 0, "min": None, "max": None, "counts": [0] * n}

    return {
        "stats_schema": spec.tag, "records_in": 0, "kept": 0, "rejected": 0, "files": {}, "rejected_by_reason": {},
        "duplicates": {"exact": 0, "near": 0, "clusters": 0}, "kinds": {},
        "histograms": {h.name: {"all": hist(len(h.edges) - 1), "kept": hist(len(h.edges) - 1)}
                       for h in spec.histograms},
        "labels": {c: {"all": {}, "kept": {}} for c, _ in spec.label_columns},
        "samples": {b["name"]: [] for b in spec.samples["bands"]},
        "risk_by_source": {},
        "risk_samples": {level: [] for level in spec.doc["risk"]["levels"]},
    }


def merge_stats(docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Merge shard stats into one document of the same shape (without the writer's shard/data/rejects keys)."""
    out = empty_stats()
    per_band = stats_spec().samples["per_band"]
    per_level = stats_spec().doc["risk"]["per_level"]
    for d in docs:
        if d.get("stats_schema") != out["stats_schema"]:
            raise ValueError(f"stats of shard {d.get('shard')} were written as {d.get('stats_schema')!r}; this curate "
                             f"reads {out['stats_schema']!r}: run the job again to rewrite them")
        for k in ("records_in", "kept", "rejected"):
            out[k] += d[k]
        for path, f in d["files"].items():
            acc = out["files"].setdefault(path, {"records_in": 0, "kept": 0, "rejected": 0,
                                                 "rejected_by_reason": {}, "kept_text_bytes": 0,
                                                 "contaminated_by": {}})
            for k in ("records_in", "kept", "rejected", "kept_text_bytes"):
                acc[k] += f[k]
            _add_counts(acc["rejected_by_reason"], f["rejected_by_reason"])
            _add_counts(acc["contaminated_by"], f["contaminated_by"])
            if f.get("pii"):
                _add_counts(acc.setdefault("pii", {}), f["pii"])
        _add_counts(out["rejected_by_reason"], d["rejected_by_reason"])
        _add_counts(out["duplicates"], d["duplicates"])
        for kind, c in d["kinds"].items():
            _add_counts(out["kinds"].setdefault(kind, {"records_in": 0, "kept": 0}), c)
        for name, pair in d["histograms"].items():
            for part in ("all", "kept"):
                _add_histogram(out["histograms"][name][part], pair[part])
        for name, pair in d["labels"].items():
            for part in ("all", "kept"):
                _add_counts(out["labels"][name][part], pair[part])
        for band, rows in d["samples"].items():
            merged = sorted([*out["samples"][band], *rows], key=lambda r: (r["hash"], r["id"]))
            out["samples"][band] = merged[:per_band]
        for source, pair in d["risk_by_source"].items():
            acc = out["risk_by_source"].setdefault(source, {"all": {}, "kept": {}})
            for part in ("all", "kept"):
                _add_counts(acc[part], pair[part])
        for level, rows in d["risk_samples"].items():
            merged = sorted([*out["risk_samples"][level], *rows], key=lambda r: (r["hash"], r["id"]))
            out["risk_samples"][level] = merged[:per_level]
    for key in ("rejected_by_reason", "duplicates"):
        out[key] = dict(sorted(out[key].items()))
    for pair in [*out["labels"].values(), *out["risk_by_source"].values()]:
        for part in ("all", "kept"):
            pair[part] = dict(sorted(pair[part].items()))
    out["risk_by_source"] = dict(sorted(out["risk_by_source"].items()))
    return out


def read_shard_stats(out: str | Path) -> list[dict[str, Any]]:
    """Every OUT/stats/part-*.json of a run (OUT: a folder or a URL), in shard order."""
    folder = storage.join(out, STATS_DIR)
    if not storage.is_dir(folder):
        raise FileNotFoundError(f"{folder} not found: is {out} the output folder of a curate run?")
    return [json.loads(storage.read_bytes(p).decode("utf-8")) for p in storage.listdir(folder, "part-*.json")]
