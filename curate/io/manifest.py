"""OUT/manifest.json: what went in, what came out, with which config, code and dependency versions."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

import curate
from curate.io import storage
from curate.io.encoding import Encoding
from curate.io.writer import atomic_write_bytes
from curate.job import Job
from curate.schema import record_schema

MANIFEST = "manifest.json"
_DEPENDENCIES = ("ray", "polars", "pyarrow", "numpy", "jieba", "rjieba", "fasttext-numpy2", "datasketch",
                 "xxhash", "opencc", "click", "transformers")


def dependency_versions() -> dict[str, str | None]:
    """Installed versions of the dependencies that shape the output."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def per_input_counts(job: Job, shards: list[dict[str, Any]], read: dict[str, int] | None = None,
                     on_disk: dict[str, dict[str, int]] | None = None,
                     encodings: dict[str, Encoding | None] | None = None) -> list[dict[str, Any]]:
    """Per input file: records_in, kept, rejected by reason, malformed; every file of the job is listed.

    `read` (records the readers produced per file) and `on_disk` (rows found in the written files) make
    `reconciled` an independent check: records read == rows kept on disk + rows rejected on disk.
    `encodings` (`check_input`'s) adds each text file's `encoding` and how it was decided (`encoding_by`).
    """
    rows = []
    for spec in job.inputs:
        for path in spec.files:
            acc = {"file": path, "input": spec.name, "kind": spec.kind, "format": spec.format_of(path),
                   "bytes": storage.size(path), "records_in": 0, "kept": 0, "rejected": 0,
                   "rejected_by_reason": {}, "pii_found": {}, "license": spec.license}
            encoding = (encodings or {}).get(path)
            if encoding is not None:
                acc["encoding"], acc["encoding_by"] = encoding.name, encoding.by
            for s in shards:
                f = s["files"].get(path)
                if not f:
                    continue
                for key in ("records_in", "kept", "rejected"):
                    acc[key] += f[key]
                for reason, n in f["rejected_by_reason"].items():
                    acc["rejected_by_reason"][reason] = acc["rejected_by_reason"].get(reason, 0) + n
                for kind, n in f.get("pii", {}).items():
                    acc["pii_found"][kind] = acc["pii_found"].get(kind, 0) + n
            acc["rejected_by_reason"] = dict(sorted(acc["rejected_by_reason"].items()))
            if job.decontaminate:
                by: dict[str, int] = {}
                for s in shards:
                    for name, n in s["files"].get(path, {}).get("contaminated_by", {}).items():
                        by[name] = by.get(name, 0) + n
                acc["contaminated_by"] = dict(sorted(by.items()))
            acc["malformed"] = acc["rejected_by_reason"].get("malformed_input", 0)
            if read is not None:
                acc["records_read"] = read.get(path, 0)
            if on_disk is not None:
                disk = on_disk.get(path, {"kept": 0, "rejected": 0})
                acc["kept_on_disk"], acc["rejected_on_disk"] = disk["kept"], disk["rejected"]
            acc["reconciled"] = (
                acc["records_in"] == acc["kept"] + acc["rejected"]
                and acc.get("records_read", acc["records_in"]) == acc["records_in"]
                and acc.get("kept_on_disk", acc["kept"]) == acc["kept"]
                and acc.get("rejected_on_disk", acc["rejected"]) == acc["rejected"]
            )
            rows.append(acc)
    return rows


@dataclass
class RunReport:
    """What a run tells its manifest beyond the job and the shards: times, engine, steps, models, rules."""

    started: str
    finished: str
    seconds: float
    ray: dict[str, Any]
    limit: int | None
    read: dict[str, int] | None = None  # records the readers produced per input file
    on_disk: dict[str, dict[str, int]] | None = None  # rows found in the written files per input file
    encodings: dict[str, Encoding | None] | None = None  # each input file's character encoding (check_input)
    dedup: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, Any] | None = None
    duplicate_ids: dict[str, Any] | None = None  # per input that maps an id_field: its repeated ids
    generic_replies: dict[str, Any] | None = None  # the generic-replies step's report (dialogue quality)
    timings: dict[str, float] = field(default_factory=dict)
    resumed: dict[str, Any] | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)
    signals: dict[str, int] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    # decontaminate, when this attempt built the index: the evaluation files as indexed, and the seconds it took
    decontamination: dict[str, Any] | None = None


def _sum_counts(dicts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, n in d.items():
            out[k] = out.get(k, 0) + n
    return dict(sorted(out.items()))


def _duplicates_by(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Duplicates removed per input file and per source, from the per-file counts."""
    by_file: dict[str, dict[str, int]] = {}
    by_source: dict[str, dict[str, int]] = {}
    for f in inputs:
        counts = {r: f["rejected_by_reason"].get(r, 0) for r in ("exact_duplicate", "near_duplicate")}
        by_file[f["file"]] = counts
        acc = by_source.setdefault(f["input"], {"exact_duplicate": 0, "near_duplicate": 0})
        for r, n in counts.items():
            acc[r] += n
    return {"removed_by_file": by_file, "removed_by_source": by_source}


def dialogue_quality_summary(inputs: list[dict[str, Any]], shards: list[dict[str, Any]],
                             generic: dict[str, Any] | None) -> dict[str, Any] | None:
    """Kept dialogues with crisis risk left unaddressed and the dialogue_quality histogram of the kept
    records, in all and per source (from the shards' stats), with the generic-replies step's report; None
    when the run computed neither."""
    source_of = {f["file"]: f["input"] for f in inputs}
    risk: dict[str, int] = {}
    hist: dict[str, list[int]] = {}
    edges = None
    for s in shards:
        (path,) = s["files"] or {"": None}  # a shard holds one input file's records
        src = source_of.get(path, path)
        flags = s.get("labels", {}).get("risk_unaddressed", {}).get("kept", {})
        if "true" in flags or "false" in flags:  # computed for this shard's dialogues (else only nulls)
            risk[src] = risk.get(src, 0) + flags.get("true", 0)
        h = s.get("histograms", {}).get("dialogue_quality", {}).get("kept")
        if h and h["n"] > h["nulls"]:
            acc = hist.setdefault(src, [0] * len(h["counts"]))
            hist[src] = [a + b for a, b in zip(acc, h["counts"], strict=True)]
    if not risk and not hist and not generic:
        return None
    if hist:
        from curate.stats.shard import stats_spec

        edges = next(list(h.edges) for h in stats_spec().histograms if h.name == "dialogue_quality")
    total = [sum(c) for c in zip(*hist.values(), strict=True)] if hist else []
    return {
        "risk_unaddressed": {"kept": sum(risk.values()), "by_source": dict(sorted(risk.items()))},
        "scored": sum(total),
        "histogram": {"edges": edges, "counts": total, "by_source": dict(sorted(hist.items()))} if hist else None,
        "generic_replies": generic,
    }


def _decontamination(job: Job, inputs: list[dict[str, Any]], built: dict[str, Any] | None) -> dict[str, Any]:
    """The decontaminate block's report: its parameters, the evaluation files, and the records that share
    text with them (rejected as contaminated, or kept and flagged) per source and per evaluation file."""
    spec = job.decontaminate
    assert spec is not None
    by_source: dict[str, int] = {}
    by_eval: dict[str, int] = {}
    for f in inputs:
        for name, n in f["contaminated_by"].items():
            by_source[f["input"]] = by_source.get(f["input"], 0) + n
            by_eval[name] = by_eval.get(name, 0) + n
    built = built or {"evaluation_files": [{"path": p} for s in spec.against for p in s.files]}
    return {"params": {"ngram": spec.ngram, "threshold": spec.threshold, "mode": spec.mode},
            **built, "contaminated": sum(by_eval.values()),
            "by_source": {src: by_source.get(src, 0) for src in dict.fromkeys(f["input"] for f in inputs)},
            "by_evaluation_file": dict(sorted(by_eval.items()))}


def build_manifest(job: Job, shards: list[dict[str, Any]], report: RunReport) -> dict[str, Any]:
    """The whole manifest document of a run."""
    inputs = per_input_counts(job, shards, report.read, report.on_disk, report.encodings)
    reasons: dict[str, int] = {}
    for f in inputs:
        for r, n in f["rejected_by_reason"].items():
            reasons[r] = reasons.get(r, 0) + n
    shards = sorted(shards, key=lambda s: s["shard"])
    manifest = {
        "curate_version": curate.__version__,
        "schema": {"name": record_schema().name, "version": record_schema().version},
        "job": {"name": job.name, "file": job.source_path, "config_hash": job.config_hash(), "config": job.to_dict()},
        "limit": report.limit,
        "started_at": report.started,
        "finished_at": report.finished,
        "seconds": round(report.seconds, 3),
        "totals": {
            "records_in": sum(f["records_in"] for f in inputs),
            "kept": sum(f["kept"] for f in inputs),
            "rejected": sum(f["rejected"] for f in inputs),
            "rejected_by_reason": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
            "input_bytes": sum(f["bytes"] for f in inputs),
            "pii_found": _sum_counts(f["pii_found"] for f in inputs),
        },
        "inputs": inputs,
        "shards": [{k: s.get(k) for k in ("shard", "records_in", "kept", "rejected", "data", "rejects")} for s in shards],
        "rules": report.rules,
        "signals": report.signals,
        "models": report.models,
        "dependencies": dependency_versions(),
        "ray": report.ray,
        "dedup": {"params": asdict(job.dedup), **report.dedup, **_duplicates_by(inputs)},
    }
    if report.lines:
        manifest["crossdoc_lines"] = report.lines
    if job.decontaminate:
        manifest["decontamination"] = _decontamination(job, inputs, report.decontamination)
    if report.duplicate_ids:
        manifest["duplicate_ids"] = report.duplicate_ids
    quality = dialogue_quality_summary(inputs, shards, report.generic_replies)
    if quality:
        manifest["dialogue_quality"] = quality
    manifest["timings"] = {k: round(v, 3) for k, v in report.timings.items()}
    manifest["resumed"] = report.resumed
    return manifest


def write_manifest(out: str, manifest: dict[str, Any]) -> str:
    """Write OUT/manifest.json atomically (OUT: a folder or a URL); its path."""
    path = storage.join(str(out), MANIFEST)
    atomic_write_bytes(path, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
    return path

