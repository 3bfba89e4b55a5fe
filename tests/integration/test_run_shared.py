"""Acceptance: `jobs/shared-sample.yaml` (SMILECHAT + CPED + CommonCrawl) end to end on a real local Ray.

The job runs once per module; each test then checks one promise of the output against truth computed
independently from the raw files of the full datasets (../shared/data beside the checkout, or $CURATE_DATA;
read in place, never copied). Marked `data`: skipped where they are missing (tests/data-sources.md).
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest

import curate
from curate.job import Job, load_job
from curate.run import RunResult, run_job
from curate.schema import arrow_schema, label_set, record_schema
from curate.stages.rules import load_rule_sets
from tests.conftest import shared_sample_inputs

pytestmark = [pytest.mark.ray, pytest.mark.data]

SMILECHAT_DIALOGUES = 11051
CWT_PAGES = 100
CPED_LABELS = (
    "Emotion", "DA", "Sentiment", "Gender", "Age",
    "Neuroticism", "Extraversion", "Openness", "Agreeableness", "Conscientiousness",
)
SHARD_NAME = re.compile(r"^part-\d{5}-\d{10}\.parquet$")
# Chinese full-width punctuation the normaliser deliberately keeps through NFKC.
KEPT_PUNCT = "，！？：；（）～＂＇"


@dataclass
class SharedRun:
    job: Job
    result: RunResult
    out: Path

    def file_of(self, name: str) -> str:
        (spec,) = [s for s in self.job.inputs if s.name == name]
        (path,) = spec.files
        return path

    def manifest_entry(self, name: str) -> dict[str, Any]:
        (entry,) = [f for f in self.result.manifest["inputs"] if f["input"] == name]
        return entry


@pytest.fixture(scope="module")
def shared_run(ray_local, repo, shared_data, tmp_path_factory) -> SharedRun:
    out = tmp_path_factory.mktemp("shared-sample") / "out"
    job = load_job(repo / "jobs" / "shared-sample.yaml", inputs=shared_sample_inputs(shared_data), output=str(out))
    assert [s.name for s in job.inputs] == ["smilechat", "cped", "commoncrawl"]
    return SharedRun(job, run_job(job), out)


@pytest.fixture(scope="module")
def shard_files(shared_run) -> dict[str, list[Path]]:
    return {sub: sorted((shared_run.out / sub).glob("*.parquet")) for sub in ("data", "rejects")}


@pytest.fixture(scope="module")
def kept(shard_files) -> pl.DataFrame:
    return pl.read_parquet(shard_files["data"])


@pytest.fixture(scope="module")
def rejected(shard_files) -> pl.DataFrame:
    return pl.read_parquet(shard_files["rejects"])


@pytest.fixture(scope="module")
def every_row(kept, rejected) -> pl.DataFrame:
    return pl.concat([kept, rejected])


# ------------------------------------------------------------------------------------- independent truth


def plain(text: str) -> bool:
    """Text the normaliser must leave unchanged: NFKC-stable (bar the kept punctuation), no spaces or controls."""
    if any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in text):
        return False
    rest = "".join(c for c in text if c not in KEPT_PUNCT)
    return unicodedata.normalize("NFKC", rest) == rest


PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")  # the shipped spelling, rules/pii/pii.yaml


def redacted_from(got: str, src: str, seen: dict[str, str]) -> bool:
    """`got` is `src` with PII replaced by placeholders, each standing for one value across a record (`seen`)."""
    parts = PLACEHOLDER.split(got)  # text, kind, n, text, kind, n, ..., text
    pattern, groups = [re.escape(parts[0])], {}
    for i in range(1, len(parts), 3):
        key = f"{parts[i]}_{parts[i + 1]}"
        if key in seen:
            pattern.append(re.escape(seen[key]))
        elif key in groups:
            pattern.append(f"(?P={groups[key]})")
        else:
            groups[key] = f"g{len(groups)}"
            pattern.append(f"(?P<{groups[key]}>.+?)")
        pattern.append(re.escape(parts[i + 2]))
    m = re.fullmatch("".join(pattern), src, flags=re.S)
    if m is None:
        return False
    seen.update({key: m[group] for key, group in groups.items()})
    return True


@functools.cache
def smilechat_raw(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cped_rows(path: str) -> list[tuple[int, dict[str, str]]]:
    """(first physical line, row) per CSV data row; the header is line 1."""
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        prev = 1
        for row in reader:
            out.append((prev + 1, row))
            prev = reader.line_num
    return out


def cped_dialogues(path: str) -> list[list[tuple[int, dict[str, str]]]]:
    """CPED rows grouped into dialogues: runs of consecutive rows sharing Dialogue_ID."""
    return [list(g) for _, g in itertools.groupby(cped_rows(path), key=lambda lr: lr[1]["Dialogue_ID"])]


def cwt_raw(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def flat_turns(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per turn: the record id and the turn's fields (turn index within its dialogue)."""
    names = ["speaker", "role", "role_raw", "text", "meta"]
    return (
        rows.select("id", "turns")
        .with_columns(idx=pl.int_ranges(pl.col("turns").list.len()))
        .explode("turns", "idx")
        .select("id", "idx", *[pl.col("turns").struct.field(n).alias(f"t_{n}") for n in names])
    )


# ------------------------------------------------------------------------------------------------ counts


def test_manifest_counts_reconcile_and_match_truth(shared_run):
    m = shared_run.result.manifest
    assert m == json.loads((shared_run.out / "manifest.json").read_text(encoding="utf-8"))
    truth = {
        "smilechat": len(smilechat_raw(shared_run.file_of("smilechat"))),
        "cped": len(cped_dialogues(shared_run.file_of("cped"))),
        "commoncrawl": len(cwt_raw(shared_run.file_of("commoncrawl"))),
    }
    assert truth["smilechat"] == SMILECHAT_DIALOGUES
    assert truth["commoncrawl"] == CWT_PAGES
    with open(shared_run.file_of("cped"), encoding="utf-8", newline="") as f:
        distinct = {r["Dialogue_ID"] for r in csv.DictReader(f)}
    assert truth["cped"] == len(distinct)  # CPED's dialogues are contiguous

    assert [f["input"] for f in m["inputs"]] == ["smilechat", "cped", "commoncrawl"]
    for name, n in truth.items():
        f = shared_run.manifest_entry(name)
        assert f["records_in"] == n, name
        assert f["records_in"] == f["kept"] + f["rejected"], name
        assert f["reconciled"] is True
        assert f["rejected"] == sum(f["rejected_by_reason"].values()), name
        assert f["malformed"] == f["rejected_by_reason"].get("malformed_input", 0)
        assert f["kept"] > 0.5 * n, f"{name}: most real records should survive the default rules"
    t = m["totals"]
    assert t["records_in"] == sum(truth.values()) == t["kept"] + t["rejected"]
    assert m["limit"] is None
    assert m["job"]["config_hash"] == shared_run.job.config_hash()
    assert m["schema"] == {"name": record_schema().name, "version": record_schema().version}


def test_shard_rows_equal_manifest_counts(shared_run, shard_files, kept, rejected):
    m = shared_run.result.manifest
    for f in m["inputs"]:
        n_kept = kept.filter(pl.col("source_file") == f["file"]).height
        n_rej = rejected.filter(pl.col("source_file") == f["file"]).height
        assert (n_kept, n_rej) == (f["kept"], f["rejected"]), f["input"]
        assert n_kept + n_rej == f["records_in"]
        by_reason = (
            rejected.filter(pl.col("source_file") == f["file"]).group_by("drop_reason").len().rows()
        )
        assert dict(by_reason) == f["rejected_by_reason"], f["input"]
    assert kept.height + rejected.height == m["totals"]["records_in"]
    assert set(kept["source"]) == {"smilechat", "cped", "commoncrawl"}

    # shards: deterministic names, one input file each, at most shard_rows rows, all listed in the manifest
    listed = {s["data"] for s in m["shards"] if s["data"]} | {s["rejects"] for s in m["shards"] if s["rejects"]}
    on_disk = {f"{sub}/{p.name}" for sub, files in shard_files.items() for p in files}
    assert listed == on_disk
    for files in shard_files.values():
        for p in files:
            assert SHARD_NAME.match(p.name), p.name
            meta = pq.read_metadata(p)
            assert 0 < meta.num_rows <= shared_run.job.shard_rows
            assert len(pq.read_table(p, columns=["source_file"]).column("source_file").unique()) == 1
    stats = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((shared_run.out / "stats").glob("*.json"))]
    assert len(stats) == len(m["shards"])
    assert sum(s["records_in"] for s in stats) == m["totals"]["records_in"]
    assert not list(shared_run.out.rglob(".*.tmp")), "no temporary files are left behind"


# ------------------------------------------------------------------------------------------------ schema


def test_every_shard_has_the_record_schema(shard_files):
    files = shard_files["data"] + shard_files["rejects"]
    assert files and shard_files["rejects"]
    expected = arrow_schema()
    for f in files:
        schema = pq.read_schema(f)
        assert schema.remove_metadata().equals(expected.remove_metadata()), f.name
        assert schema.names == expected.names
        assert schema.metadata[b"curate.schema_version"] == record_schema().version.encode()
        for field in expected:
            assert schema.field(field.name).nullable == field.nullable, (f.name, field.name)


def test_polars_scans_every_shard_with_the_schema_dtypes(shared_run, shard_files):
    files = shard_files["data"] + shard_files["rejects"]
    want = pl.from_arrow(arrow_schema().empty_table()).schema
    lf = pl.scan_parquet(files)
    assert lf.collect_schema() == want
    for f in files:  # each file on its own too: no shard may differ from the others
        assert pl.scan_parquet(f).collect_schema() == want, f.name
    n = lf.select(pl.len()).collect().item()
    assert n == shared_run.result.manifest["totals"]["records_in"]


def test_ids_unique_and_identity_columns_filled(every_row):
    assert every_row["id"].n_unique() == every_row.height
    required = [f.name for f in record_schema().fields if not f.nullable]
    nulls = every_row.select(pl.col(required).null_count()).row(0, named=True)
    assert nulls == dict.fromkeys(required, 0)
    assert set(every_row["schema_version"]) == {record_schema().version}
    assert set(every_row["pipeline_version"]) == {curate.__version__}
    assert set(every_row["kind"]) <= set(label_set("kind"))


# ------------------------------------------------------------------------------------------- dialogues


def test_smilechat_rows_keep_their_turns(shared_run, every_row):
    raw = smilechat_raw(shared_run.file_of("smilechat"))
    rows = every_row.filter(pl.col("source") == "smilechat")
    assert rows.height == len(raw)
    assert set(rows["kind"]) == {"dialogue"}
    assert rows["turns"].list.len().min() > 0
    assert set(rows["id"]) == {d["id"] for d in raw}
    assert sorted(rows["source_line"]) == list(range(1, len(raw) + 1))  # no blank lines in the file

    turns = flat_turns(rows)
    assert set(turns["t_role"]) == {"seeker", "supporter"}
    assert set(zip(turns["t_role_raw"], turns["t_role"], strict=True)) == {
        ("client", "seeker"), ("counselor", "supporter")
    }
    by_id: dict[str, list[tuple[str, str]]] = {}
    for id_, raw_role, text in turns.select("id", "t_role_raw", "t_text").iter_rows():
        by_id.setdefault(id_, []).append((raw_role, text))
    rendered = dict(rows.select("id", "text").iter_rows())
    n_plain = 0
    for d in raw:
        got = by_id[d["id"]]
        assert [r for r, _ in got] == [t["role"] for t in d["turns"]], d["id"]
        if all(plain(t["content"]) for t in d["turns"]):
            n_plain += 1
            seen: dict[str, str] = {}  # PII is redacted: the rest of every turn is the source's, byte for byte
            for (_, t), src in zip(got, d["turns"], strict=True):
                assert redacted_from(t, src["content"], seen), d["id"]
            assert rendered[d["id"]] == "\n".join(f"{r}：{t}" for r, t in got)
    assert n_plain > 0.8 * len(raw)


def test_smilechat_known_dialogue_exactly(shared_run, every_row):
    raw = smilechat_raw(shared_run.file_of("smilechat"))
    known = next(d for d in raw if len(d["turns"]) >= 6 and all(plain(t["content"]) for t in d["turns"]))
    (row,) = every_row.filter(pl.col("id") == known["id"]).to_dicts()
    assert row["source_file"] == shared_run.file_of("smilechat")
    assert row["source_line"] == raw.index(known) + 1
    assert row["meta"] is None  # SMILECHAT lines hold only id and turns
    assert [(t["speaker"], t["role_raw"], t["text"]) for t in row["turns"]] == [
        (t["role"], t["role"], t["content"]) for t in known["turns"]
    ]
    assert [t["role"] for t in row["turns"]] == [
        {"client": "seeker", "counselor": "supporter"}[t["role"]] for t in known["turns"]
    ]
    assert all(t["meta"] is None for t in row["turns"])


def test_cped_dialogues_group_rows_and_keep_labels(shared_run, every_row):
    dialogues = cped_dialogues(shared_run.file_of("cped"))
    rows = every_row.filter(pl.col("source") == "cped")
    assert rows.height == len(dialogues)
    assert set(rows["kind"]) == {"dialogue"}

    # one record per run of Dialogue_ID, starting at the run's first line, with its Dialogue_ID in meta
    got = {line: json.loads(meta) for line, meta in rows.select("source_line", "meta").iter_rows()}
    assert got == {d[0][0]: {"Dialogue_ID": d[0][1]["Dialogue_ID"]} for d in dialogues}

    turns = flat_turns(rows.select("id", "turns")).with_columns(
        line=pl.col("id").replace_strict(dict(rows.select("id", "source_line").iter_rows()))
    )
    assert turns.height == sum(len(d) for d in dialogues)
    by_utt = {}
    for line, idx, speaker, role, role_raw, text, meta in turns.select(
        "line", "idx", "t_speaker", "t_role", "t_role_raw", "t_text", "t_meta"
    ).iter_rows():
        m = json.loads(meta)
        by_utt[m["Utterance_ID"]] = (line, idx, speaker, role, role_raw, text, m)
    n_plain = 0
    speakers: dict[int, dict[str, str]] = {}
    for d in dialogues:
        for idx, (_, src) in enumerate(d):
            line, at, speaker, role, role_raw, text, meta = by_utt[src["Utterance_ID"]]
            assert (line, at) == (d[0][0], idx), src["Utterance_ID"]  # in its dialogue, in file order
            assert speaker == role_raw  # a speaker's name is redacted to one placeholder in every field
            assert redacted_from(speaker, src["Speaker"], speakers.setdefault(d[0][0], {}))
            assert role == "other"  # the job maps no CPED speaker names
            for label in CPED_LABELS:
                assert meta[label] == src[label], (src["Utterance_ID"], label)
            assert meta == {k: v for k, v in src.items() if k not in ("Dialogue_ID", "Speaker", "Utterance")}
            if plain(src["Utterance"]):
                n_plain += 1
                assert redacted_from(text, src["Utterance"], {}), src["Utterance_ID"]
    assert len(by_utt) == sum(len(d) for d in dialogues)
    assert n_plain > 0.5 * len(by_utt)


def test_cped_sample_utterances_by_id(shared_run, every_row):
    """A handful of utterances looked up by Utterance_ID, read straight from the CSV with the csv module."""
    src = {r["Utterance_ID"]: r for _, r in cped_rows(shared_run.file_of("cped"))}
    sample = sorted(src)[:: max(1, len(src) // 25)]
    turns = flat_turns(every_row.filter(pl.col("source") == "cped"))
    metas = {json.loads(m)["Utterance_ID"]: json.loads(m) for m in turns["t_meta"]}
    for utt in sample:
        for label in CPED_LABELS:
            assert metas[utt][label] == src[utt][label], (utt, label)
        assert metas[utt]["Emotion"] in label_set("emotion")
        assert metas[utt]["Sentiment"] in label_set("sentiment")


# ------------------------------------------------------------------------------------------------ web


def test_web_rows_have_url_and_meta(shared_run, every_row):
    raw = cwt_raw(shared_run.file_of("commoncrawl"))
    rows = every_row.filter(pl.col("source") == "commoncrawl").sort("source_line")
    assert rows.height == len(raw)
    assert set(rows["kind"]) == {"web"}
    assert rows["turns"].null_count() == rows.height
    assert rows["source_line"].to_list() == list(range(1, len(raw) + 1))
    n_plain = 0
    for r, s in zip(rows.iter_rows(named=True), raw, strict=True):
        assert r["url"] == s["url"]
        meta = json.loads(r["meta"])
        assert meta == {k: v for k, v in s.items() if k not in ("url", "raw_content")}
        for key in ("title", "source_domain", "date_download", "digest"):
            assert meta[key] == s[key]
        assert r["text"] and r["text"].strip() == r["text"]
        # normalisation only respaces a page whose characters NFKC leaves alone
        squeezed = "".join(s["raw_content"].split())
        if plain(squeezed):
            n_plain += 1
            assert redacted_from("".join(r["text"].split()), squeezed, {}), r["url"]
        if r["drop_reason"] is None:
            assert r["exact_hash"] is not None
    assert n_plain > 0


# -------------------------------------------------------------------------------------------- verdicts


def test_rejects_carry_rule_ids(shared_run, kept, rejected):
    rule_sets = load_rule_sets(shared_run.job.rules)
    rule_kinds = {r.id: set(rs.applies_to) for rs in rule_sets for r in rs.rules}
    pipeline_reasons = set(label_set("pipeline_drop_reason"))
    assert rejected.height > 0
    assert rejected["drop_reason"].null_count() == 0
    assert rejected["drop_detail"].null_count() == 0
    for r in rejected.select("kind", "rule_flags", "drop_reason", "drop_detail").iter_rows(named=True):
        reason = r["drop_reason"]
        assert reason in rule_kinds or reason in pipeline_reasons, reason
        if reason in rule_kinds:
            assert r["kind"] in rule_kinds[reason], r  # a rule only judges the kinds it applies to
            assert r["rule_flags"] and r["rule_flags"][0] == reason  # the first rule that fired
            assert set(r["rule_flags"]) <= set(rule_kinds)
            assert r["drop_detail"].startswith("sig_"), r["drop_detail"]
        else:
            assert reason != "processing_error", r["drop_detail"]
            assert reason != "malformed_input", "the shared datasets hold no malformed record"
    # a duplicate names a survivor that was kept
    dups = rejected.filter(pl.col("drop_reason").is_in(["exact_duplicate", "near_duplicate"]))
    assert dups["dup_of"].null_count() == 0
    assert set(dups["dup_of"]) <= set(kept["id"])
    # every reason is counted in the manifest under the same name
    assert dict(rejected.group_by("drop_reason").len().rows()) == shared_run.result.manifest["totals"][
        "rejected_by_reason"
    ]


def test_kept_rows_are_clean(kept):
    assert kept["drop_reason"].null_count() == kept.height
    assert kept["drop_detail"].null_count() == kept.height
    assert kept["rule_flags"].list.len().max() == 0
    assert kept["exact_hash"].null_count() == 0
    assert kept["text"].null_count() == 0
    assert kept.filter(pl.col("text").str.strip_chars() == "").height == 0
