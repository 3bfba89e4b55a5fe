"""Per-shard statistics: vectorised aggregations over a shard's rows, kept and rejected (the writer stores them).

What is counted, the histogram bins, the label columns and the sample bands are defined once, in
`schemas/stats.json` (read by `stats_spec()`); `curate.stats.merge` merges shard stats exactly and the
dashboard draws them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import xxhash

from curate.assets import asset_dir
from curate.schema import label_set

TURN_CHARS = "turn_chars"  # the one derived histogram: characters per dialogue turn
_KEPT = "__kept"


@dataclass(frozen=True)
class HistSpec:
    """One fixed-bin histogram: `name` (column, `column[label]` for list scores, or turn_chars) and its edges."""

    name: str
    column: str
    edges: tuple[float, ...]
    bins: str
    group: str
    index: int | None = None  # position in a list-of-scores column (domain_scores[i])


@dataclass(frozen=True)
class StatsSpec:
    """The parsed schemas/stats.json."""

    name: str
    version: str
    histograms: tuple[HistSpec, ...]
    label_columns: tuple[tuple[str, str], ...]  # (column, group)
    samples: dict[str, Any]
    null_label: str
    doc: dict[str, Any]

    @property
    def tag(self) -> str:
        """`name/version`, stored in every stats document."""
        return f"{self.name}/{self.version}"


def _edges(bins: dict[str, Any]) -> tuple[float, ...]:
    if "edges" in bins:
        return tuple(float(e) for e in bins["edges"])
    lo, hi, n = bins["range"]
    return tuple(round(lo + (hi - lo) * i / n, 10) for i in range(n + 1))


@cache
def stats_spec() -> StatsSpec:
    """The stats spec shipped with this curate (cached): bins, histograms, label columns, sample bands."""
    doc = json.loads((asset_dir("schemas") / "stats.json").read_text(encoding="utf-8"))
    hists: list[HistSpec] = []
    for h in doc["histograms"]:
        edges = _edges(doc["bins"][h["bins"]])
        if "labels" in h:
            hists += [HistSpec(f"{h['column']}[{lab}]", h["column"], edges, h["bins"], h["group"], i)
                      for i, lab in enumerate(label_set(h["labels"]))]
        else:
            hists.append(HistSpec(h["column"], h["column"], edges, h["bins"], h["group"]))
    # a column restricted to one role is named `turns.X[ROLE]`, as list-score histograms are `column[label]`
    labels = tuple((c["column"] + (f"[{c['role']}]" if c.get("role") else ""), c["group"]) for c in doc["label_columns"])
    return StatsSpec(doc["name"], doc["version"], tuple(hists), labels, doc["samples"], doc["null_label"], doc)


def histogram_block(values: np.ndarray, edges: np.ndarray) -> list[dict[str, Any]]:
    """Fixed-bin histograms of each column of a float matrix (NaN = null), in one pass for all columns.

    Bins are [e_i, e_i+1), the last one closed; values outside the edges count as below / above.
    """
    rows, cols = values.shape
    nbins = len(edges) - 1
    width = nbins + 3  # code 0: below, 1..nbins: the bins, nbins+1: above, nbins+2: null
    code = np.searchsorted(edges, values, side="right")
    code[values == edges[-1]] = nbins
    null = np.isnan(values)
    code[null] = nbins + 2
    flat = code + np.arange(cols) * width
    counts = np.bincount(flat.ravel(), minlength=cols * width).reshape(cols, width)
    finite = np.isfinite(values)
    lo = np.where(finite, values, np.inf).min(axis=0, initial=np.inf)
    hi = np.where(finite, values, -np.inf).max(axis=0, initial=-np.inf)
    return [{"n": rows, "nulls": int(c[nbins + 2]), "below": int(c[0]), "above": int(c[nbins + 1]),
             "min": float(lo[j]) if np.isfinite(lo[j]) else None,
             "max": float(hi[j]) if np.isfinite(hi[j]) else None, "counts": c[1:nbins + 1].tolist()}
            for j, c in enumerate(counts)]


def _list_matrix(s: pl.Series, width: int) -> np.ndarray:
    """A list-of-scores column as a rows x width float matrix (null lists and missing scores: NaN)."""
    try:
        return s.list.to_array(width).to_numpy().astype(np.float64).reshape(len(s), width)
    except pl.exceptions.PolarsError:  # ragged lists: one element at a time
        return pl.DataFrame([s.list.get(i, null_on_oob=True).alias(str(i)) for i in range(width)]).cast(
            pl.Float64).fill_nan(None).to_numpy().astype(np.float64).reshape(len(s), width)


def _matrix(frame: pl.DataFrame, hs: list[HistSpec]) -> np.ndarray:
    """The values of histograms `hs` as one rows x len(hs) float matrix (null: NaN), list scores unpacked at once."""
    scalars = [h.column for h in hs if h.index is None]
    parts: dict[str, np.ndarray] = {}
    if scalars:
        m = frame.select(scalars).cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
        parts.update({c: m[:, j] for j, c in enumerate(scalars)})
    for column in dict.fromkeys(h.column for h in hs if h.index is not None):
        width = 1 + max(h.index for h in hs if h.column == column and h.index is not None)
        m = _list_matrix(frame[column], width)
        parts.update({h.name: m[:, h.index] for h in hs if h.column == column and h.index is not None})
    return np.column_stack([parts[h.name if h.index is not None else h.column] for h in hs]) if hs else \
        np.empty((frame.height, 0))


def _histograms(df: pl.DataFrame, turns: pl.DataFrame) -> dict[str, Any]:
    """Every histogram of the spec, {all, kept}: one numpy pass per frame and set of bin edges."""
    spec = stats_spec()
    turn_frame = turns.select(pl.col("text").str.len_chars().alias(TURN_CHARS), _KEPT)
    out: dict[str, Any] = {}
    for frame, hs in ((turn_frame, [h for h in spec.histograms if h.column == TURN_CHARS]),
                      (df, [h for h in spec.histograms if h.column != TURN_CHARS])):
        m = _matrix(frame, hs)
        kept = frame[_KEPT].to_numpy()
        for bins in dict.fromkeys(h.bins for h in hs):
            idx = [j for j, h in enumerate(hs) if h.bins == bins]
            edges = np.asarray(hs[idx[0]].edges)
            block = m[:, idx]
            for j, a, k in zip(idx, histogram_block(block, edges), histogram_block(block[kept], edges), strict=True):
                out[hs[j].name] = {"all": a, "kept": k}
    return {h.name: out[h.name] for h in spec.histograms}


def _count_labels(frame: pl.DataFrame, columns: list[str], null_label: str) -> dict[str, dict[str, Any]]:
    """{column: {all: {label: n}, kept: {label: n}}} for scalar columns of `frame`, in one group_by."""
    out: dict[str, dict[str, Any]] = {c: {"all": {}, "kept": {}} for c in columns}
    if not columns or frame.height == 0:
        return out
    schema = frame.schema  # built anew on every access: once, not per column
    as_text = [(pl.col(c).cast(pl.String).str.to_lowercase() if schema[c] == pl.Boolean
                else pl.col(c).cast(pl.String)).fill_null(null_label) for c in columns]
    g = (frame.select(*as_text, _KEPT).unpivot(index=_KEPT, variable_name="column", value_name="label")
         .group_by("column", "label").agg(n=pl.len(), k=pl.col(_KEPT).sum()).sort("column", "label"))
    for column, label, n, k in g.iter_rows():
        out[column]["all"][label] = n
        if k:
            out[column]["kept"][label] = k
    return out


def _mark_abstained(frame: pl.DataFrame) -> pl.DataFrame:
    """A tag whose label is null but whose confidence is not was withheld (below min_confidence): counted as the
    spec's abstain label, apart from rows that were never tagged."""
    label = stats_spec().doc["abstain_label"]
    columns, schema = set(frame.columns), frame.schema  # both built anew on every access: once, not per column
    marks = [pl.when(pl.col(c).is_null() & pl.col(f"{c}_confidence").is_not_null()).then(pl.lit(label))
             .otherwise(pl.col(c)).alias(c)
             for c in frame.columns if f"{c}_confidence" in columns and schema[c] == pl.String]
    return frame.with_columns(marks) if marks else frame


def _labels(df: pl.DataFrame, turns: pl.DataFrame, speakers: pl.DataFrame) -> dict[str, Any]:
    """Label counts of every label column of the spec (turns.X per turn, speakers.X per speaker)."""
    spec = stats_spec()
    names = [c for c, _ in spec.label_columns]
    nested = {"turns": _mark_abstained(turns), "speakers": speakers}
    df = _mark_abstained(df)
    out: dict[str, Any] = {}
    for prefix, frame in nested.items():
        cols = [c for c in names if c.startswith(prefix + ".") and "[" not in c]
        counts = _count_labels(frame, [c.split(".", 1)[1] for c in cols], spec.null_label)
        out.update({c: counts[c.split(".", 1)[1]] for c in cols})
        for c in (c for c in names if c.startswith(prefix + ".") and "[" in c):
            field, role = c.split(".", 1)[1].rstrip("]").split("[")
            out[c] = _count_labels(frame.filter(pl.col("role") == role), [field], spec.null_label)[field]
    top = [c for c in names if "." not in c]
    schema = df.schema
    lists = [c for c in top if isinstance(schema[c], pl.List)]
    out.update(_count_labels(df, [c for c in top if c not in lists], spec.null_label))
    for c in lists:
        out.update(_count_labels(df.select(c, _KEPT).explode(c).drop_nulls(c), [c], spec.null_label))
    return {c: out[c] for c in names}


def _exploded(df: pl.DataFrame, column: str) -> pl.DataFrame:
    """One row per element of a list-of-struct column (turns, speakers), with its record's kept flag."""
    flat = df.select(column, _KEPT).explode(column).drop_nulls(column)
    return flat.unnest(column) if flat.height else pl.DataFrame(
        {f.name: pl.Series([], dtype=f.dtype) for f in df.schema[column].inner.fields} | {_KEPT: pl.Series([], dtype=pl.Boolean)})


def _clean(x: Any) -> Any:
    """JSON-safe scalar: floats rounded to 4 places, NaN and infinities to None."""
    if isinstance(x, float):
        return round(x, 4) if math.isfinite(x) else None
    return x


def _cut(s: str | None, n: int) -> str | None:
    return s if s is None or len(s) <= n else s[:n] + "…"


_SAMPLE_FIELDS = ("id", "kind", "source", "url", "drop_reason", "drop_detail", "rule_flags", "quality", "toxicity",
                  "toxic", "esc_relevance", "domain", "emotion", "sentiment", "risk", "text", "turns", "speakers")
_TURN_FIELDS = ("speaker", "role", "text", "emotion", "sentiment", "dialogue_act", "strategy", "risk")
SPEAKER_FIELDS = ("speaker", "role", "gender", "age_group", "neuroticism", "extraversion", "openness",
                   "agreeableness", "conscientiousness")


def _sample_row(row: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    out = {k: _clean(row[k]) for k in _SAMPLE_FIELDS if k not in ("text", "turns", "speakers", "drop_detail")}
    out["hash"] = row["__hash"]
    out["band"] = row["__band"]
    out["drop_detail"] = _cut(row["drop_detail"], cfg["detail_chars"])
    turns = row["turns"]
    out["text_chars"] = len(row["text"] or "")
    out["text"] = None if turns else _cut(row["text"], cfg["text_chars"])
    out["n_turns"] = len(turns) if turns else 0
    out["turns"] = [{k: (_cut(t[k], cfg["turn_chars"]) if k == "text" else t[k]) for k in _TURN_FIELDS}
                    for t in (turns or [])[: cfg["turns"]]]
    out["speakers"] = [{k: s[k] for k in SPEAKER_FIELDS} for s in (row["speakers"] or [])]
    return out


def _samples(df: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Per band, the rows whose id has the smallest xxh3-64 (deterministic, so merging keeps the smallest again)."""
    cfg = stats_spec().samples
    score = pl.col(cfg["score"]).fill_nan(None)
    band = pl.when(~pl.col(_KEPT)).then(pl.lit("rejected"))
    for b in cfg["bands"]:
        if "min" in b:
            band = band.when(score >= b["min"]).then(pl.lit(b["name"]))
    band = band.otherwise(pl.lit("unscored"))
    h = xxhash.xxh3_64_intdigest
    hashes = pl.Series("__hash", [f"{h(i.encode('utf-8')):016x}" for i in df["id"].to_list()], dtype=pl.String)
    picked = (df.select(*_SAMPLE_FIELDS, _KEPT, __band=band).with_columns(hashes)
              .sort("__hash", "id").group_by("__band", maintain_order=True).head(cfg["per_band"]))
    out: dict[str, list[dict[str, Any]]] = {b["name"]: [] for b in cfg["bands"]}
    for row in picked.iter_rows(named=True):
        out[row["__band"]].append(_sample_row(row, cfg))
    return out


def _risk_by_source(df: pl.DataFrame) -> dict[str, dict[str, dict[str, int]]]:
    """Per source: records by record-level risk, {all, kept}."""
    null = stats_spec().null_label
    g = (df.select("source", pl.col("risk").fill_null(null), _KEPT).group_by("source", "risk")
         .agg(n=pl.len(), k=pl.col(_KEPT).sum()).sort("source", "risk"))
    out: dict[str, dict[str, dict[str, int]]] = {}
    for source, level, n, k in g.iter_rows():
        pair = out.setdefault(source, {"all": {}, "kept": {}})
        pair["all"][level] = n
        if k:
            pair["kept"][level] = k
    return out


def _risk_samples(df: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Per risk level, the records whose id has the smallest xxh3-64, with their evidence and its context."""
    cfg = stats_spec().doc["risk"]
    out: dict[str, list[dict[str, Any]]] = {level: [] for level in cfg["levels"]}
    flagged = df.filter(pl.col("risk").is_in(cfg["levels"]) & pl.col("risk_evidence").is_not_null())
    if flagged.height == 0:
        return out
    h = xxhash.xxh3_64_intdigest
    flagged = flagged.with_columns(pl.Series("__hash", [f"{h(i.encode('utf-8')):016x}" for i in flagged["id"].to_list()],
                                             dtype=pl.String))
    picked = (flagged.sort("__hash", "id").group_by("risk", maintain_order=True).head(cfg["per_level"])
              .select("__hash", "id", "source", _KEPT, "drop_reason", "risk", "risk_evidence", "turns"))
    n = cfg["context_chars"]
    for row in picked.iter_rows(named=True):
        ev = row["risk_evidence"]
        text = row["turns"][ev["turn"]]["text"] or ""
        a, b = ev["start"], ev["end"]
        out[row["risk"]].append({"hash": row["__hash"], "id": row["id"], "source": row["source"], "kept": row[_KEPT],
                                 "drop_reason": row["drop_reason"], "risk": row["risk"], "turn": ev["turn"],
                                 "start": a, "end": b, "before": text[max(0, a - n):a], "evidence": text[a:b],
                                 "after": text[b:b + n]})
    return out


def _files(df: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per input file: records in, kept, rejected by reason, bytes of text kept, records contaminated per
    evaluation file (the manifest sums these)."""
    per_file = (
        df.group_by("source_file", "drop_reason")
        .agg(n=pl.len(), text_bytes=pl.col("text").str.len_bytes().sum())
        .sort("source_file", "drop_reason", nulls_last=False)
    )
    files: dict[str, dict[str, Any]] = {}
    for row in per_file.iter_rows(named=True):
        f = files.setdefault(row["source_file"], {"records_in": 0, "kept": 0, "rejected": 0,
                                                  "rejected_by_reason": {}, "kept_text_bytes": 0,
                                                  "contaminated_by": {}})
        f["records_in"] += row["n"]
        if row["drop_reason"] is None:
            f["kept"] += row["n"]
            f["kept_text_bytes"] += int(row["text_bytes"] or 0)
        else:
            f["rejected"] += row["n"]
            f["rejected_by_reason"][row["drop_reason"]] = row["n"]
    # records that share text with an evaluation file, kept (mode flag) or not, per evaluation file
    contaminated = (df.filter(pl.col("contaminated_by").is_not_null()).group_by("source_file", "contaminated_by")
                    .agg(n=pl.len()).sort("source_file", "contaminated_by"))
    for path, by, n in contaminated.iter_rows():
        files[path]["contaminated_by"][by] = n
    if "pii_counts" in df.columns and df["pii_counts"].null_count() < df.height:
        # PII found per type (kept and rejected records alike), only the types that occur
        pii = df.select("source_file", pl.col("pii_counts").struct.unnest()).group_by("source_file").sum()
        for row in pii.iter_rows(named=True):
            counts = {k: int(v) for k, v in row.items() if k != "source_file" and v}
            if counts:
                files[row["source_file"]]["pii"] = counts
    return files


def shard_stats(table: pa.Table) -> dict[str, Any]:
    """Everything `schemas/stats.json` documents for one shard's rows (kept and rejected together).

    Counts per source file, reason, kind and duplicate type; fixed-bin histograms of every numeric signal and
    score (all rows and kept rows); label counts of every categorical column, turn tag and persona field;
    a few sample rows per quality band; crisis risk per source, and a few flagged records per risk level with
    their evidence for a reviewer. JSON-safe; merged exactly by `curate.stats.merge.merge_stats`.
    """
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    df = df.with_columns(pl.col("drop_reason").is_null().alias(_KEPT))
    turns, speakers = _exploded(df, "turns"), _exploded(df, "speakers")
    kept = int(df[_KEPT].sum())
    reasons = df.filter(~pl.col(_KEPT))["drop_reason"].value_counts().sort("drop_reason")
    kinds = df.group_by("kind").agg(records_in=pl.len(), kept=pl.col(_KEPT).sum()).sort("kind")
    return {
        "stats_schema": stats_spec().tag,
        "records_in": df.height,
        "kept": kept,
        "rejected": df.height - kept,
        "files": _files(df),
        "rejected_by_reason": dict(zip(reasons["drop_reason"].to_list(), reasons["count"].to_list(), strict=True)),
        "duplicates": {
            "exact": int((df["drop_reason"] == "exact_duplicate").sum()),
            "near": int((df["drop_reason"] == "near_duplicate").sum()),
            "clusters": int((df[_KEPT] & df["dup_cluster"].is_not_null()).sum()),
        },
        "kinds": {r["kind"]: {"records_in": r["records_in"], "kept": r["kept"]} for r in kinds.iter_rows(named=True)},
        "histograms": _histograms(df, turns),
        "labels": _labels(df, turns, speakers),
        "samples": _samples(df),
        "risk_by_source": _risk_by_source(df),
        "risk_samples": _risk_samples(df),
    }
