"""Beside an export: `dataset_info.json` (the entry LLaMA-Factory reads) and `README.md`, the dataset card
(sources and their licenses, counts, the selection, label distributions, model versions)."""

from __future__ import annotations

import json
from typing import Any

from curate.export.convert import TAG_SEP
from curate.export.spec import ExportSpec


def dataset_info(spec: ExportSpec, data_path: str, has_system: bool) -> dict[str, Any]:
    """The dataset's entry for LLaMA-Factory's data/dataset_info.json (merge it into yours)."""
    entry: dict[str, Any] = {"file_name": data_path}
    if spec.format == "sharegpt":
        entry.update(formatting="sharegpt", columns={"messages": "conversations"},
                     tags={"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"})
        if has_system:
            entry["columns"]["system"] = "system"
    elif spec.format == "messages":
        entry.update(formatting="sharegpt", columns={"messages": "messages"},
                     tags={"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant", "system_tag": "system"})
    elif spec.format == "alpaca":
        entry.update(formatting="alpaca", columns={"prompt": "instruction", "query": "input", "response": "output",
                                                   "history": "history"})
        if has_system:
            entry["columns"]["system"] = "system"
    return {spec.dataset_name: entry}


_FORMAT_DOC = {
    "sharegpt": "LLaMA-Factory sharegpt: one JSON object per dialogue, `conversations` = alternating "
                "`{\"from\": \"human\"|\"gpt\", \"value\"}` turns starting with human and ending with gpt; "
                "`system` when the dialogue had one (or --system); `id` and `source` for tracing (LLaMA-Factory ignores them).",
    "messages": "chat messages (OpenAI / Hugging Face TRL): one JSON object per dialogue, `messages` = "
                "`{\"role\": \"system\"|\"user\"|\"assistant\", \"content\"}`, the system message first when there is one, "
                "then user and assistant alternating, ending with assistant.",
    "alpaca": "alpaca: one row per assistant turn, `instruction` = the user turn before it, `input` = \"\", "
              "`output` = the assistant turn, `history` = the earlier [user, assistant] pairs of the dialogue "
              "(at most --history), `system` when there is one.",
    "parquet": "Parquet: the curate records themselves, every column of schemas/record.json (curate.record), "
               "zstd; they load as-is in Polars, PyArrow, DuckDB and Hugging Face `datasets`.",
}

_CONVERSION_RULES = """\
How dialogues became conversations (in order):
1. empty turns (null or whitespace only) were left out;
2. turns whose raw role is `system` became the system prompt (unless --system gave one);
3. roles were mapped: {roles}; `drop` leaves the turn out, `skip` leaves the dialogue out;
4. consecutive turns of the same side were merged, joined by a newline;
5. a leading assistant turn and a trailing user turn were trimmed (conversations start with the user, end
   with the assistant, and alternate);
6. dialogues with no user turn followed by an assistant turn were left out.
Per-turn tags carried: {tags} (a merged turn carries its parts' distinct tags joined by `{sep}`)."""


_STEPS = {"in_shards": "records in the shards", "matched": "match --where", "after_max_per_source": "after --max-per-source",
          "null_label": "(left out by --balance: null label)", "labels": "(--balance: label values)",
          "per_label": "(--balance: records per label)", "after_balance": "after --balance",
          "after_sample": "after --sample", "selected": "selected for export"}


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]], numeric_from: int = 1) -> list[str]:
    """A Markdown table; columns from `numeric_from` on are right-aligned."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < numeric_from else "--:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _distribution(counts: dict[str, int], top: int = 20) -> list[str]:
    total = sum(counts.values()) or 1
    rows = [(f"`{k}`", f"{n:,}", f"{100 * n / total:.1f}%") for k, n in list(counts.items())[:top]]
    if len(counts) > top:
        rows.append((f"({len(counts) - top} more)", f"{sum(list(counts.values())[top:]):,}", ""))
    return _table(("value", "count", "share"), rows)


DIALOGUE_QUALITY_NOTE = ("How good each exported dialogue is as training data for a supporter model (0-1, the predicted "
                         "1-5 rating of curate's dialogue-quality rubric mapped to (r - 1) / 4; 0.6 ≈ a predicted 3.4; at most "
                         "0.25 where crisis risk is left unaddressed; classifiers/dialogue_quality.yaml).")


def _score_distribution(name: str, summary: dict[str, Any], note: str) -> list[str]:
    """A score's histogram over the exported records as a Markdown table (bins [lo, hi), the last closed)."""
    edges, counts = summary["histogram"]["edges"], summary["histogram"]["counts"]
    total = sum(counts) or 1
    rows = [(f"{edges[i]:.1f}–{edges[i + 1]:.1f}", f"{c:,}", f"{100 * c / total:.1f}%") for i, c in enumerate(counts)]
    return [f"### `{name}` distribution", "", note, "", *_table(("range", "records", "share"), rows), ""]


def render_card(summary: dict[str, Any], manifest: dict[str, Any] | None) -> str:
    """The dataset card (README.md) for an export summary (what export.json holds) and the run's manifest."""
    spec, counts, sel = summary["spec"], summary["counts"], summary["selection"]
    name = spec["name"]
    data_files = summary["data_path"] if summary["data_path"].endswith(".jsonl") else "data/*.parquet"
    licenses = sorted({f.get("license") or "unknown" for f in (manifest or {}).get("inputs", [])
                       if f["input"] in summary["stats"]["records"].get("source", {})})
    lines = ["---", f"pretty_name: {name}", "configs:", "- config_name: default", f"  data_files: {data_files}",
             "---", "", f"# {name}", "",
             f"Exported by curate {summary['curate_version']} on {summary['exported_at']} from `{summary['from']}` "
             f"in **{spec['format']}** format ({summary['seconds']:.1f} s).", "",
             "## Format", "", _FORMAT_DOC[spec["format"]], "", f"Files: `{summary['data_path']}` ({counts['rows']:,} rows)"
             + (f"; `dataset_info.json` holds the LLaMA-Factory entry `{name}`." if spec["format"] != "parquet" else "."), ""]
    if spec["format"] != "parquet":
        roles = ", ".join(f"{k} → {v}" for k, v in spec["roles"].items())
        lines += [_CONVERSION_RULES.format(roles=roles, tags=", ".join(spec["turn_tags"]) or "none", sep=TAG_SEP), ""]
    lines += ["## Selection", "", f"- where: `{spec['where'] or '(all records)'}`"]
    for key, label in (("max_per_source", "max per source"), ("balance", "balanced by"), ("sample", "sample")):
        if spec[key] is not None:
            lines.append(f"- {label}: `{spec[key]}`")
    if spec["sample"] is not None or spec["max_per_source"] is not None or spec["balance"] is not None:
        lines.append(f"- seed: `{spec['seed']}` (one permutation of the matching records sorted by source, id)")
    lines += ["", *_table(("step", "records"), [(_STEPS.get(k, k), f"{v:,}") for k, v in sel.items()]), "",
              f"Exported: {counts['records']:,} records → {counts['rows']:,} rows"
              + (f", {counts['turns']:,} turns" if counts["turns"] else "") + "."]
    if summary.get("warnings"):
        lines += ["", *[f"**Warning**: {w}" for w in summary["warnings"]]]
    if counts["skipped"]:
        lines += ["", "Left out of the format:", ""]
        lines += [f"- {reason}: {n:,}" for reason, n in counts["skipped"].items()]
    lines += ["", "## Sources", ""]
    inputs: dict[str, dict[str, Any]] = {}
    for f in (manifest or {}).get("inputs", []):
        acc = inputs.setdefault(f["input"], {"kind": f["kind"], "license": f.get("license") or "unknown", "files": 0,
                                             "kept": 0})
        acc["files"] += 1
        acc["kept"] += f["kept"]
    exported = summary["stats"]["records"].get("source", {})
    rows = []
    for src in sorted(set(inputs) | set(exported)):
        info = inputs.get(src, {"kind": "?", "license": "unknown (no manifest)", "files": "?", "kept": "?"})
        rows.append((f"`{src}`", info["kind"], info["license"], info["files"], info["kept"], f"{exported.get(src, 0):,}"))
    lines += _table(("source", "kind", "license", "input files", "kept in the run", "exported"), rows, numeric_from=3)
    lines += ["", "Licenses of the inputs exported: " + (", ".join(licenses) if licenses else "unknown") + ". "
              "The export inherits them; check each before redistributing.", ""]
    lines += ["## Label distributions (exported records)", ""]
    for col, dist in summary["stats"]["records"].items():
        if col == "source" or not dist or set(dist) == {"(null)"}:
            continue
        lines += [f"### `{col}`", "", *_distribution(dist), ""]
    for col, dist in summary["stats"]["turns"].items():
        if not dist or set(dist) == {"(null)"}:
            continue
        lines += [f"### turn `{col}` (every turn of the exported records, before merging)", "", *_distribution(dist), ""]
    scores = summary["stats"]["scores"]
    if scores:
        lines += ["## Scores (exported records)", ""]
        lines += _table(("score", "records", "null", "mean", "min", "max"),
                        [(f"`{k}`", f"{v['n']:,}", f"{v['nulls']:,}", v["mean"], v["min"], v["max"]) for k, v in scores.items()])
        lines.append("")
        quality = scores.get("dialogue_quality")
        if quality and quality["n"] and quality.get("histogram"):
            lines += _score_distribution("dialogue_quality", quality, DIALOGUE_QUALITY_NOTE)
    lines += ["## Models", ""]
    models = (manifest or {}).get("models") or {}
    if models:
        lines += _table(("task", "model", "version", "backend", "sha256"),
                        [(t, m.get("name"), m.get("version"), m.get("backend"), (m.get("sha256") or "")[:12])
                         for t, m in sorted(models.items())], numeric_from=5)
    else:
        lines.append("No models recorded in the run's manifest.")
    run = (manifest or {}).get("job", {})
    lines += ["", "## Provenance", "",
              f"- run: job `{run.get('name', '?')}`, config hash `{run.get('config_hash', '?')}`, "
              f"curate {(manifest or {}).get('curate_version', '?')}, schema "
              f"{(manifest or {}).get('schema', {}).get('name', '?')} {(manifest or {}).get('schema', {}).get('version', '')}",
              "- export options: `export.json` beside this card", ""]
    return "\n".join(lines)


def dumps(doc: dict[str, Any]) -> bytes:
    """Pretty UTF-8 JSON."""
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
