"""HTML of the dashboard pages: the run overview (index) and one page per shard, from stats documents.

Pure functions from stats (and the manifest) to strings. Every value from the data is escaped with `esc`;
the page template carries a Content-Security-Policy that forbids scripts, so a missed escape still runs nothing.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template
from typing import Any

import curate
from curate.dashboard.outliers import Outlier, quantiles
from curate.dashboard.svg import (
    DROPPED,
    KEPT,
    FunnelStep,
    Spread,
    esc,
    fmt_num,
    funnel_svg,
    histogram_svg,
    label_bars_svg,
    spread_columns,
    spread_svg,
)
from curate.schema import label_set, record_schema
from curate.stats.shard import SPEAKER_FIELDS, HistSpec, stats_spec

MAX_LABELS = 25  # bars per label chart; the rest are summed into one line
MAX_INPUT_ROWS = 20  # input files listed open on the index; more are folded
BAD_SCORE = 0.3  # outlier score from which a shard's row is highlighted
PERSONA_FIELDS = SPEAKER_FIELDS[1:]  # speaker fields after the name, in schema order


@cache
def _asset(name: str) -> str:
    return resources.files("curate.dashboard").joinpath(name).read_text(encoding="utf-8")


def page(title: str, body: str, *, source: str) -> str:
    """A complete page: the template, the inlined stylesheet, `body` (already escaped markup)."""
    return Template(_asset("templates/page.html")).substitute(
        title=esc(title), style=_asset("static/dashboard.css"), body=body, version=esc(curate.__version__),
        stats_schema=esc(stats_spec().tag), source=esc(source))


def legend() -> str:
    """Colour key shared by every chart."""
    return (f'<p class="legend"><span><i style="background:{KEPT}"></i>kept</span>'
            f'<span><i style="background:{DROPPED}"></i>rejected</span></p>')


def kpis(doc: dict[str, Any]) -> str:
    """The headline counts."""
    n = doc["records_in"] or 1
    items = [("records in", doc["records_in"]), ("kept", f"{doc['kept']} ({doc['kept'] / n:.0%})"),
             ("rejected", doc["rejected"]), ("exact duplicates", doc["duplicates"]["exact"]),
             ("near duplicates", doc["duplicates"]["near"]), ("duplicate clusters", doc["duplicates"]["clusters"])]
    items += [(f"{kind} kept / in", f"{c['kept']} / {c['records_in']}") for kind, c in sorted(doc["kinds"].items())]
    return '<div class="kpis">' + "".join(f'<div class="kpi"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                                          for k, v in items) + "</div>"


def funnel_steps(doc: dict[str, Any]) -> list[FunnelStep]:
    """Input to kept: malformed input, evaluation-set overlap, then the rules (largest first), then duplicates,
    then processing errors."""
    reasons = doc["rejected_by_reason"]
    pipeline = set(label_set("pipeline_drop_reason"))
    stages = [("parsed", ["malformed_input"]),
              ("clear of evaluation sets", ["contaminated"]),
              ("passed the rules", sorted((r for r in reasons if r not in pipeline), key=lambda r: (-reasons[r], r))),
              ("unique", ["duplicate_id", "exact_duplicate", "near_duplicate"]),
              ("kept", ["risk_high", "processing_error"])]
    left = doc["records_in"]
    steps = [FunnelStep("records in", left, "total")]
    for name, drops in stages:
        present = [r for r in drops if reasons.get(r)]
        steps += [FunnelStep(r, reasons[r], "drop") for r in present]
        left -= sum(reasons[r] for r in present)
        if present or name == "kept":
            steps.append(FunnelStep(name, left, "kept" if name == "kept" else "total"))
    return steps


def hist_figure(h: HistSpec, pair: dict[str, Any], *, kept_only: bool = False) -> str:
    """One histogram with its caption: rows, nulls, out-of-range counts, min and max."""
    a = pair["kept"] if kept_only else pair["all"]
    svg = histogram_svg(h.edges, a["counts"], None if kept_only else pair["kept"]["counts"], caption=h.name)
    extra = [f"n={a['n']}", f"tallest bar {max(a['counts'], default=0)}"]
    extra += [f"{k} {a[k]}" for k in ("nulls", "below", "above") if a[k]]
    if a["min"] is not None:
        extra.append(f"min {a['min']:.4g} · max {a['max']:.4g}")
    return f'<figure class="histogram"><h3>{esc(h.name)}</h3>{svg}<figcaption>{esc(" · ".join(extra))}</figcaption></figure>'


def only_kind(doc: dict[str, Any]) -> str | None:
    """The one record kind of a run or shard with records of a single kind (web, dialogue), else None."""
    kinds = [k for k, c in doc["kinds"].items() if c["records_in"]]
    return kinds[0] if len(kinds) == 1 else None


def absent_note(names: list[str], doc: dict[str, Any], scope: str, *, kept_only: bool = False) -> str:
    """One line naming the charts left out because no row of the run (or shard) has a value for them."""
    if not names:
        return ""
    rows = "kept record" if kept_only else "record"
    kind = only_kind(doc)
    why = f" (it has {kind} records only)" if kind else ""
    return f'<p class="meta absent">not drawn, no {rows} of this {scope} has a value{esc(why)}: {esc(", ".join(names))}</p>'


def histogram_grid(doc: dict[str, Any], groups: tuple[str, ...], *, kept_only: bool = False,
                   scope: str = "run") -> str:
    """Histograms of the spec whose group is in `groups`, in spec order; one without a single row in its bins
    (a web field in a dialogue-only run, a score the job did not compute) is named in a line, not drawn empty."""
    figs, absent, outside = [], [], []
    for h in (h for h in stats_spec().histograms if h.group in groups):
        pair = doc["histograms"][h.name]
        a = pair["kept"] if kept_only else pair["all"]
        if sum(a["counts"]):
            figs.append(hist_figure(h, pair, kept_only=kept_only))
        elif a["below"] or a["above"]:
            outside.append(f"{h.name} ({a['below']} below {fmt_num(h.edges[0])}, {a['above']} above {fmt_num(h.edges[-1])})")
        else:
            absent.append(h.name)
    note = absent_note(absent, doc, scope, kept_only=kept_only)
    if outside:
        note += f'<p class="meta absent">not drawn, every value outside the bins: {esc(", ".join(outside))}</p>'
    return ('<div class="grid">' + "".join(figs) + "</div>" if figs else "") + note


@cache
def _label_order(column: str) -> tuple[str, ...]:
    """The label set of a label column (turns.X, speakers.X or a record field), else ()."""
    schema = record_schema()
    struct, _, name = column.split("[")[0].rpartition(".")  # turns.X[ROLE] has turns.X's labels
    fields = {"turns": schema.structs["turn"], "speakers": schema.structs["speaker"]}.get(struct, schema.fields)
    spec = next((f for f in fields if f.name == name), None)
    return schema.label_sets[spec.labels] if spec is not None and spec.labels else ()


def label_figure(column: str, pair: dict[str, Any]) -> str:
    """Bars of one label column: label-set order where there is one, else most frequent first."""
    null = stats_spec().null_label
    abstained = stats_spec().doc["abstain_label"]
    counts = {k: n for k, n in pair["all"].items() if k not in (null, abstained)}
    kept = pair["kept"]
    order = _label_order(column)
    labels = [lab for lab in order if lab in counts] + sorted((lab for lab in counts if lab not in order),
                                                               key=lambda lab: (-counts[lab], lab))
    shown, rest = labels[:MAX_LABELS], labels[MAX_LABELS:]
    items = [(lab, counts[lab], kept.get(lab, 0)) for lab in shown]
    if rest:
        items.append((f"… {len(rest)} more", sum(counts[r] for r in rest), sum(kept.get(r, 0) for r in rest)))
    body = label_bars_svg(items) if items else '<p class="meta">no values</p>'
    nulls = pair["all"].get(null, 0)
    note = f"<figcaption>no value: {nulls} ({kept.get(null, 0)} kept)</figcaption>" if nulls else ""
    held = pair["all"].get(abstained, 0)
    if held:  # below the tagger's min_confidence: the label is withheld, the scores stay
        tagged = held + sum(counts.values())
        note += (f"<figcaption>abstained (below min_confidence): {held} of {tagged} tagged "
                 f"({held / tagged:.1%}; {kept.get(abstained, 0)} kept)</figcaption>")
    return f'<figure class="label-counts"><h3>{esc(column)}</h3>{body}{note}</figure>'


def label_grid(doc: dict[str, Any], group: str, *, scope: str = "run") -> str:
    """Label charts of one group of the spec (record, turn, persona); a column that no row carries a value of
    (a tagger the job did not run, turn tags in a web-only run) is named in one line instead of an empty chart."""
    null = stats_spec().null_label
    columns = [c for c, g in stats_spec().label_columns if g == group]
    empty = [c for c in columns if not any(k != null for k in doc["labels"][c]["all"])]
    figs = [label_figure(c, doc["labels"][c]) for c in columns if c not in empty]
    grid = '<div class="grid wide">' + "".join(figs) + "</div>" if figs else ""
    return grid + absent_note(empty, doc, scope)


def _tags(row: dict[str, Any], keys: tuple[str, ...], cls: str = "tag") -> str:
    return "".join(f'<span class="{cls}">{esc(k)}: {esc(row[k])}</span>' for k in keys if row.get(k) is not None)


def sample_card(row: dict[str, Any]) -> str:
    """One sampled record: id, source, scores, tags, drop reason, and its text or its turns."""
    meta = f'{esc(row["id"])} · {esc(row["kind"])} · {esc(row["source"])}'
    if row.get("url"):
        meta += f" · {esc(row['url'])}"
    head = (f'<div class="meta">{meta} · {esc(row["text_chars"])} chars</div>'
            + _tags(row, ("quality", "toxicity", "esc_relevance"), "tag score")
            + _tags(row, ("domain", "emotion", "sentiment", "toxic"))
            + _tags(row, ("drop_reason", "drop_detail"), "tag drop"))
    if row.get("rule_flags"):
        head += f'<div class="meta">rules fired: {esc(", ".join(row["rule_flags"]))}</div>'
    if row["turns"]:
        turns = "".join(
            f'<li class="turn {esc(t["role"] or "other")}"><div class="who">{esc(t["speaker"])} ({esc(t["role"])})'
            f'{_tags(t, ("emotion", "sentiment", "dialogue_act", "strategy"))}</div>{esc(t["text"])}</li>'
            for t in row["turns"])
        more = row["n_turns"] - len(row["turns"])
        body = f'<ol class="turns">{turns}</ol>' + (f'<div class="meta">… {more} more turns</div>' if more > 0 else "")
        if row["speakers"]:
            keys = [k for k in PERSONA_FIELDS if k in row["speakers"][0]]
            body += ('<div class="persona"><table><tr><th>speaker</th>' + "".join(f"<th>{esc(k)}</th>" for k in keys) + "</tr>"
                     + "".join("<tr>" + f"<td>{esc(s['speaker'])}</td>" + "".join(f"<td>{esc(s[k])}</td>" for k in keys)
                               + "</tr>" for s in row["speakers"]) + "</table></div>")
    else:
        body = f'<div class="text">{esc(row["text"])}</div>'
    return f'<article class="sample">{head}{body}</article>'


def samples_section(doc: dict[str, Any]) -> str:
    """Sample records per score band."""
    out = []
    for band in stats_spec().samples["bands"]:
        rows = doc["samples"].get(band["name"], [])
        cards = "".join(sample_card(r) for r in rows) or '<p class="meta">none in this shard</p>'
        out.append(f'<h3>{esc(band["name"])} <span class="meta">({esc(band["doc"])})</span></h3>'
                   f'<div class="samples">{cards}</div>')
    return "".join(out)


def risk_section(doc: dict[str, Any]) -> str:
    """Crisis risk (help-seekers' turns): records per level and source, and a few flagged records per level with
    their evidence, for a reviewer. Every text is escaped."""
    by_source = doc.get("risk_by_source") or {}
    levels = [lv for lv in stats_spec().doc["risk"]["levels"]]
    null = stats_spec().null_label
    if not any(lv in pair["all"] for pair in by_source.values() for lv in levels):
        return '<p class="meta">no record was tagged for crisis risk (no help-seeker turns, or risk off)</p>'
    head = "".join(f'<th class="num">{esc(lv)} (kept / all)</th>' for lv in [*levels, null])
    rows = "".join(
        f"<tr><td>{esc(src)}</td>" + "".join(
            f'<td class="num">{pair["kept"].get(lv, 0):,} / {pair["all"].get(lv, 0):,}</td>' for lv in [*levels, null])
        + "</tr>" for src, pair in sorted(by_source.items()))
    out = scroll_x(f'<table class="risk"><tr><th>source</th>{head}</tr>{rows}</table>')
    for lv in levels:
        cards = "".join(
            f'<article class="sample"><div class="meta">{esc(r["id"])} · {esc(r["source"])} · turn {esc(r["turn"])}'
            f' · {"kept" if r.get("kept") else esc(r.get("drop_reason"))}</div>'
            f'<div class="text">{esc(r.get("before") or "")}<mark>{esc(r.get("evidence") or "")}</mark>'
            f'{esc(r.get("after") or "")}</div></article>'
            for r in (doc.get("risk_samples") or {}).get(lv, []))
        if cards:
            out += f'<h3>{esc(lv)}: samples with their evidence</h3><div class="samples">{cards}</div>'
    return out


def scroll_x(table: str) -> str:
    """A table in a box that scrolls sideways when the table is wider than the page (long paths, many columns)."""
    return f'<div class="scroll-x">{table}</div>'


def funnel_figure(doc: dict[str, Any]) -> str:
    """The funnel chart in its panel."""
    return f'<figure class="funnel">{funnel_svg(funnel_steps(doc))}</figure>'


def files_table(files: dict[str, dict[str, Any]]) -> str:
    """Per input file counts."""
    rows = "".join(f'<tr><td class="path">{esc(path)}</td><td class="num">{f["records_in"]}</td><td class="num">{f["kept"]}</td>'
                   f'<td class="num">{f["rejected"]}</td><td class="num">{f["kept_text_bytes"]:,}</td></tr>'
                   for path, f in sorted(files.items()))
    return scroll_x('<table class="files"><tr><th>input file</th><th class="num">in</th><th class="num">kept</th>'
                    f'<th class="num">rejected</th><th class="num">kept text bytes</th></tr>{rows}</table>')


def shard_page(doc: dict[str, Any], outlier: Outlier | None) -> str:
    """The page of one shard: its funnel, histograms, label bars and samples."""
    name = doc["shard"]
    note = ""
    if outlier is not None:
        why = ", ".join(f"{n} ({tv:.2f})" for n, tv in outlier.reasons)
        note = f'<p>outlier score {outlier.score:.3f} against {esc(outlier.peers)}; most different: {esc(why)}</p>'
    scope = "shard"
    body = (f'<nav><a href="index.html">← run overview</a></nav><h1>shard {esc(name)}</h1>{note}'
            + kpis(doc) + files_table(doc["files"])
            + "<h2>Funnel</h2>" + funnel_figure(doc)
            + "<h2>Scores (kept records)</h2>" + histogram_grid(doc, ("score",), kept_only=True, scope=scope)
            + "<h2>Lengths</h2>" + legend() + histogram_grid(doc, ("length",), scope=scope)
            + "<h2>Labels</h2>" + legend() + label_grid(doc, "record", scope=scope)
            + "<h2>Turn tags</h2>" + label_grid(doc, "turn", scope=scope)
            + "<h2>Personas</h2>" + label_grid(doc, "persona", scope=scope)
            + "<h2>Samples per score band</h2>" + samples_section(doc)
            + "<h2>Rule signals</h2>" + legend() + histogram_grid(doc, ("signal",), scope=scope)
            + "<details><summary>Domain and emotion scores</summary>"
            + histogram_grid(doc, ("domain score", "emotion score"), kept_only=True, scope=scope) + "</details>")
    return page(f"curate shard {name}", body, source=f"stats/{name}.json")


def shard_spreads(docs: list[dict[str, Any]], h: HistSpec) -> list[Spread]:
    """Per shard with scored rows: the 10th, 50th and 90th percentile of histogram `h` (kept rows)."""
    out = []
    for d in docs:
        k = d["histograms"][h.name]["kept"]
        if k["n"] - k["nulls"] > 0:
            p10, p50, p90 = quantiles(k, h.edges)
            out.append(Spread(d["shard"], f"{d['shard']}.html", p10, p50, p90, k["n"] - k["nulls"]))
    return out


def spread_section(run: dict[str, Any], docs: list[dict[str, Any]]) -> str:
    """One full-width chart per score: its spread in every shard, shards in run order (bucketed when many)."""
    figs, absent = [], []
    for h in (h for h in stats_spec().histograms if h.group == "score"):
        spreads = shard_spreads(docs, h)
        if not spreads:
            absent.append(h.name)
            continue
        per = spread_columns(len(spreads))
        how = ("one column per shard: line p10–p90, dot the median" if per == 1 else
               f"{per} consecutive shards per column: thin line from their lowest p10 to their highest p90, box from "
               "their lowest to their highest median, dot the median of their medians")
        figs.append(f'<figure class="spread"><h3>{esc(h.name)} per shard</h3>'
                    f"{spread_svg(spreads, h.edges[0], h.edges[-1], caption=h.name)}"
                    f"<figcaption>{len(spreads)} shards with scored kept records, in run order; {how}; dashed line: "
                    "the median of the shard medians. Click a column for its shard"
                    f"{'' if per == 1 else ' (the one whose median is farthest from the dashed line)'}; "
                    "hover for the numbers.</figcaption></figure>")
    return ('<div class="stack">' + "".join(figs) + "</div>" if figs else "") + absent_note(absent, run, "run", kept_only=True)


def outlier_table(ranked: list[Outlier], docs: dict[str, dict[str, Any]]) -> str:
    """Shards, most unusual first, each linked to its page."""
    rows = []
    for i, o in enumerate(ranked, 1):
        d = docs[o.shard]
        top_reason = max(sorted(d["rejected_by_reason"]), key=lambda r: d["rejected_by_reason"][r], default="")
        source = max(sorted(d["labels"]["source"]["all"]), key=lambda s: d["labels"]["source"]["all"][s], default="")
        why = ", ".join(f"{n} {tv:.2f}" for n, tv in o.reasons)
        kept = d["kept"] / (d["records_in"] or 1)
        rows.append(f'<tr class="{"bad" if o.score >= BAD_SCORE else ""}"><td class="num">{i}</td>'
                    f'<td class="shard"><a href="{esc(o.shard)}.html">{esc(o.shard)}</a></td><td>{esc(source)}</td>'
                    f'<td class="num">{d["records_in"]}</td><td class="num">{kept:.0%}</td>'
                    f'<td class="num">{o.score:.3f}</td><td>{esc(o.peers)}</td><td>{esc(why)}</td>'
                    f"<td>{esc(top_reason)}</td></tr>")
    return scroll_x('<table class="shards"><tr><th class="num">#</th><th>shard</th><th>source</th><th class="num">in</th>'
                    '<th class="num">kept</th><th class="num">outlier</th><th>compared with</th>'
                    f'<th>most different (total variation)</th><th>top drop reason</th></tr>{"".join(rows)}</table>')


def inputs_table(manifest: dict[str, Any]) -> str:
    """The manifest's per-input counts, with the reconciliation check; folded under a one-line summary when
    there are more than MAX_INPUT_ROWS files (a run over many small files), files that do not reconcile first."""
    files = sorted(manifest.get("inputs", []), key=lambda f: bool(f.get("reconciled")))
    rows = "".join(f'<tr><td>{esc(f["input"])}</td><td class="path">{esc(f["file"])}</td><td class="num">{f["records_in"]}</td>'
                   f'<td class="num">{f["kept"]}</td><td class="num">{f["rejected"]}</td>'
                   f'<td>{"yes" if f.get("reconciled") else "NO"}</td></tr>' for f in files)
    table = scroll_x('<table class="inputs"><tr><th>input</th><th>file</th><th class="num">in</th>'
                     '<th class="num">kept</th><th class="num">rejected</th><th>reconciled</th></tr>'
                     f'{rows}</table>')
    if len(files) <= MAX_INPUT_ROWS:
        return table
    bad = sum(1 for f in files if not f.get("reconciled"))
    summary = f"{len(files)} input files, {'all reconciled' if not bad else f'{bad} NOT reconciled'}"
    return f"<details{' open' if bad else ''}><summary>{esc(summary)}</summary>{table}</details>"


def pii_table(manifest: dict[str, Any]) -> str:
    """PII found per input (source) and type, from the manifest; the mode says whether it was redacted."""
    by_source: dict[str, dict[str, int]] = {}
    for f in manifest.get("inputs", []):
        acc = by_source.setdefault(f["input"], {})
        for kind, n in (f.get("pii_found") or {}).items():
            acc[kind] = acc.get(kind, 0) + n
    kinds = [k for k in label_set("pii_type") if any(k in c for c in by_source.values())]
    if not kinds:
        return "<p>none found</p>"
    mode = ((manifest.get("job") or {}).get("config") or {}).get("pii", {}).get("mode", "redact")
    head = "".join(f'<th class="num">{esc(k)}</th>' for k in kinds)
    rows = "".join(f'<tr><td>{esc(src)}</td>' + "".join(f'<td class="num">{c.get(k, 0):,}</td>' for k in kinds) + "</tr>"
                   for src, c in sorted(by_source.items()))
    note = "replaced by typed placeholders" if mode == "redact" else "counted only (pii mode: flag)"
    return f'<p class="meta">{esc(note)}</p>' + scroll_x(f'<table class="pii"><tr><th>input</th>{head}</tr>{rows}</table>')


def index_page(run: dict[str, Any], docs: list[dict[str, Any]], ranked: list[Outlier],
               manifest: dict[str, Any] | None) -> str:
    """The run overview: funnel, score distributions across shards, shards ranked by outlier score."""
    job = (manifest or {}).get("job", {})
    title = f"curate run {job.get('name', '')}".strip()
    head = f"<h1>{esc(title)}</h1>"
    if manifest:
        head += (f'<p class="meta">config {esc(job.get("config_hash"))} · started {esc(manifest.get("started_at"))} · '
                 f'{esc(manifest.get("seconds"))} s · {len(docs)} shards</p>')
    body = (head + kpis(run)
            + "<h2>Funnel: input to kept, by reason</h2>" + funnel_figure(run)
            + ("<h2>Inputs</h2>" + inputs_table(manifest) if manifest else "")
            + ("<h2>PII found, by input and type</h2>" + pii_table(manifest) if manifest else "")
            + "<h2>Crisis risk (help-seekers' turns)</h2>" + risk_section(run)
            + "<h2>Score distributions (kept records, whole run)</h2>" + histogram_grid(run, ("score",), kept_only=True)
            + "<h2>Score distributions across shards</h2>" + spread_section(run, docs)
            + "<h2>Shards, most unusual first</h2>" + outlier_table(ranked, {d["shard"]: d for d in docs})
            + "<h2>Lengths (whole run)</h2>" + legend() + histogram_grid(run, ("length",))
            + "<h2>Labels (whole run)</h2>" + legend() + label_grid(run, "record")
            + label_grid(run, "turn") + label_grid(run, "persona"))
    return page(title, body, source="stats/*.json")
