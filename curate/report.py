"""Terminal summaries: the run's funnel table, from the manifest."""

from __future__ import annotations

from typing import Any


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [i > 0 for i in range(len(headers))]
    fmt = lambda r: "  ".join(c.rjust(w) if rt else c.ljust(w) for c, w, rt in zip(r, widths, right, strict=True))  # noqa: E731
    line = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cells[0]), line, *(fmt(r) for r in cells[1:])])


def summary_text(manifest: dict[str, Any]) -> str:
    """Per input file in / kept / rejected, then rejects by reason, then totals and throughput."""
    rows = []
    for f in manifest["inputs"]:
        name = f["file"].rsplit("/", 1)[-1]
        rows.append([f"{f['input']}:{name}", f["records_in"], f["kept"], f["rejected"], f["malformed"],
                     "yes" if f["reconciled"] else "NO"])
    t = manifest["totals"]
    rows.append(["TOTAL", t["records_in"], t["kept"], t["rejected"],
                 t["rejected_by_reason"].get("malformed_input", 0),
                 "yes" if all(f["reconciled"] for f in manifest["inputs"]) else "NO"])
    out = [_table(["input", "in", "kept", "rejected", "malformed", "reconciled"], rows)]
    if t["rejected_by_reason"]:
        reasons = [[r, n, f"{100 * n / max(t['records_in'], 1):.1f}%"] for r, n in t["rejected_by_reason"].items()]
        out += ["", _table(["rejected by reason", "records", "share"], reasons)]
    mb = t["input_bytes"] / 1e6
    secs = manifest["seconds"]
    out += ["", f"{t['records_in']} records, {mb:.1f} MB in {secs:.1f} s ({mb / max(secs, 1e-9):.2f} MB/s); "
                f"{len(manifest['shards'])} shards; config {manifest['job']['config_hash']}"]
    resumed = manifest.get("resumed")
    if resumed:
        # earlier manifests named the phases phase_a/phase_b/phase_c
        a = resumed.get("per_record", resumed.get("phase_a", {}))
        c = resumed.get("finish", resumed.get("phase_c", {}))
        out.append(f"resumed the run started {resumed['started_at']}: {a.get('done_before', 0)}/{a.get('pieces', 0)} "
                   f"read tasks, {'the' if resumed.get('dedup_global', resumed.get('dedup_global')) else 'no'} dedup decisions and "
                   f"{c.get('done_before', 0)}/{c.get('shards', 0)} shards were done before")
    failed = t["rejected_by_reason"].get("processing_error", 0)
    if failed:
        out.append(f"warning: {failed} record(s) failed processing (processing_error); the exception is in "
                   "their drop_detail in rejects/")
    return "\n".join(out)
