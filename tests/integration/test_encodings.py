"""`curate run` on real Chinese data re-encoded at test time: GB18030 / GBK / UTF-16 inputs give the records
their UTF-8 originals give, and the manifest names each file's encoding; undecodable bytes under a declared
encoding, a bare `--input PATH`, and ids repeated within an input (counted, warned about and rejected)."""

from __future__ import annotations

import codecs
import gzip
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from curate.cli import main

# Leave out what costs time and is not under test: dedup for the encoding runs, models for all.
NO_DEDUP = {"exact": False, "near": False}
NO_MODELS = {"scores": False, "tags": False}
SMILECHAT_ROWS, CPED_ROWS, TEXT_TURNS = 50, 300, 40  # the SMILECHAT fixture holds 100 dialogues: 2 × 50


@pytest.fixture(scope="module")
def sources(fixture_data: Path) -> dict[str, Path]:
    """The real data re-encoded here: the committed SMILECHAT and CPED fixtures (tests/fixtures/), so a fresh
    clone runs these tests."""
    return {"smilechat": fixture_data / "smilechat" / "dialogues.jsonl", "cped": fixture_data / "cped" / "valid.csv"}


def head(path: Path, n: int) -> list[str]:
    """The first `n` lines of a UTF-8 file, line endings kept."""
    with path.open(encoding="utf-8", newline="") as f:
        return [line for line, _ in zip(f, range(n), strict=False)]


def run(job: dict[str, Any], folder: Path, *args: str) -> tuple[dict[str, Any], str]:
    """`curate run` of `job` (written to folder/job.yaml) into folder/out: the manifest and the warnings logged."""
    job_file = folder / "job.yaml"
    job_file.write_text(yaml.safe_dump(job, allow_unicode=True), encoding="utf-8")
    seen: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("curate").addHandler(handler)
    try:
        result = CliRunner().invoke(main, ["run", str(job_file), "-o", str(folder / "out"), *args],
                                    catch_exceptions=False)
    finally:
        logging.getLogger("curate").removeHandler(handler)
    assert result.exit_code == 0, result.output
    return json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8")), "\n".join(seen)


def shards(out: Path, sub: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((out / sub).glob("*.parquet")))


# -------------------------------------------------------------------- the same records in every encoding


def _encoding_job(folder: Path) -> dict[str, Any]:
    smile = {"kind": "dialogue", "id_field": "id", "dialogue": {"style": "turns"}}
    return {"name": "enc", **NO_MODELS, "dedup": NO_DEDUP, "inputs": [
        {"name": "smile", "path": str(folder / "smile.jsonl"), **smile},
        {"name": "smilegz", "path": str(folder / "smile-gz.jsonl.gz"), **smile},
        {"name": "cped", "path": str(folder / "cped.csv"), "kind": "dialogue", "dialogue": {"style": "csv"}},
        {"name": "le", "path": str(folder / "turns-le.txt"), "text_mode": "blank_line"},
        {"name": "be", "path": str(folder / "turns-be.txt"), "text_mode": "blank_line"},
    ]}


@pytest.fixture(scope="module")
def encoded_runs(ray_local, sources, tmp_path_factory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The same real records written twice, as UTF-8 and re-encoded (under the same file and input names, so
    that generated ids agree), each run by `curate run`."""
    smile = head(sources["smilechat"], 2 * SMILECHAT_ROWS)
    cped = head(sources["cped"], CPED_ROWS + 1)
    turns = [t["content"] for line in smile[:10] for t in json.loads(line)["turns"]][:TEXT_TURNS]
    texts = {
        "smile.jsonl": ("".join(smile[:SMILECHAT_ROWS]), "gb18030", b""),
        "smile-gz.jsonl.gz": ("".join(smile[SMILECHAT_ROWS:]), "gb18030", b""),
        "cped.csv": ("".join(cped), "gbk", b""),
        "turns-le.txt": ("\n\n".join(turns) + "\n", "utf-16-le", codecs.BOM_UTF16_LE),
        "turns-be.txt": ("\r\n\r\n".join(turns) + "\r\n", "utf-16-be", codecs.BOM_UTF16_BE),
    }
    runs = {}
    for variant in ("utf8", "encoded"):
        folder = tmp_path_factory.mktemp(variant)
        for name, (text, codec, bom) in texts.items():
            raw = text.encode("utf-8") if variant == "utf8" else bom + text.encode(codec)
            (folder / name).write_bytes(gzip.compress(raw, mtime=0) if name.endswith(".gz") else raw)
        runs[variant] = (folder / "out", run(_encoding_job(folder), folder)[0])
    return runs


@pytest.mark.ray
def test_reencoded_inputs_keep_the_records_of_their_utf8_originals(encoded_runs) -> None:
    (a, _), (b, _) = encoded_runs["utf8"], encoded_runs["encoded"]
    for sub, columns in (("data", ["source", "id", "source_line", "text"]),
                         ("rejects", ["source", "id", "source_line", "drop_reason"])):
        want, got = (shards(out, sub).select(columns).sort("source", "id") for out in (a, b))
        assert got.equals(want), sub
    kept = shards(a, "data")
    assert set(kept["source"]) == {"smile", "smilegz", "cped", "le", "be"}, "every input keeps records"
    # the dialogues' turns too, speaker by speaker
    want, got = (shards(out, "data").filter(pl.col("kind") == "dialogue").sort("source", "id")["turns"]
                 .list.eval(pl.element().struct.field("text")) for out in (a, b))
    assert got.equals(want)


@pytest.mark.ray
def test_the_manifest_names_each_files_encoding_and_how_it_was_decided(encoded_runs) -> None:
    expected = {"smile.jsonl": ("gb18030", "detected"), "smile-gz.jsonl.gz": ("gb18030", "detected"),
                "cped.csv": ("gb18030", "detected"), "turns-le.txt": ("utf-16-le", "bom"),
                "turns-be.txt": ("utf-16-be", "bom")}
    for variant, want in (("encoded", expected), ("utf8", dict.fromkeys(expected, ("utf-8", "detected")))):
        manifest = encoded_runs[variant][1]
        got = {Path(f["file"]).name: (f["encoding"], f["encoding_by"]) for f in manifest["inputs"]}
        assert got == want, variant
        assert all(f["reconciled"] and f["malformed"] == 0 for f in manifest["inputs"]), variant


# ---------------------------------------------- a declared encoding with bad bytes, duplicate ids, --input PATH


@pytest.fixture(scope="module")
def declared_run(ray_local, sources, tmp_path_factory) -> dict[str, Any]:
    """A one-input job declaring gb18030, run with a bare `--input PATH` (dedup on): SMILECHAT dialogues in
    GB18030 with one line of undecodable bytes and three repeated ids: an identical copy, a longer copy (so
    a near duplicate that would win its cluster if the dedup saw it) and a copy the rules reject."""
    folder = tmp_path_factory.mktemp("declared")
    dialogues = [json.loads(line) for line in head(sources["smilechat"], SMILECHAT_ROWS)]
    lines = [json.dumps(d, ensure_ascii=False).encode("gb18030") for d in dialogues]
    bad_line = 5
    cut = lines[bad_line - 1].index(b'"content": "') + len(b'"content": "')
    # 0x81 leads a two-byte GB18030 character, and a space cannot be its second byte
    lines[bad_line - 1] = lines[bad_line - 1][:cut] + b"\x81 " + lines[bad_line - 1][cut:]
    longer = json.loads(json.dumps(dialogues[1]))
    longer["turns"].append({"role": "client", "content": "谢谢你，我会试试看的。"})
    short = {"id": dialogues[2]["id"], "turns": [{"role": "client", "content": "嗯"}]}
    copies = [dialogues[0], longer, short]
    lines += [json.dumps(d, ensure_ascii=False).encode("gb18030") for d in copies]
    (folder / "smile-gb.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    job = {"name": "declared", **NO_MODELS, "inputs": [
        {"name": "smile", "path": "replaced-by-input.jsonl", "kind": "dialogue", "id_field": "id", "encoding": "gb18030",
         "dialogue": {"style": "turns"}}]}
    manifest, warnings = run(job, folder, "--input", str(folder / "smile-gb.jsonl"))
    out = folder / "out"
    rows = pl.concat([shards(out, "data"), shards(out, "rejects")], how="diagonal_relaxed")
    return {"manifest": manifest, "warnings": warnings, "rows": rows, "file": str(folder / "smile-gb.jsonl"),
            "bad_line": bad_line, "cut": cut, "n": SMILECHAT_ROWS, "ids": [d["id"] for d in copies]}


@pytest.mark.ray
def test_bare_input_path_replaces_the_only_input(declared_run) -> None:
    (f,) = declared_run["manifest"]["inputs"]
    assert f["file"] == declared_run["file"] and f["input"] == "smile"
    assert (f["encoding"], f["encoding_by"]) == ("gb18030", "declared")


@pytest.mark.ray
def test_undecodable_bytes_are_malformed_naming_line_and_byte_and_counts_reconcile(declared_run) -> None:
    (f,) = declared_run["manifest"]["inputs"]
    assert f["records_in"] == declared_run["n"] + 3 == f["kept"] + f["rejected"] and f["reconciled"]
    assert f["malformed"] == 1
    (bad,) = declared_run["rows"].filter(pl.col("drop_reason") == "malformed_input").iter_rows(named=True)
    assert bad["source_line"] == declared_run["bad_line"]
    assert bad["drop_detail"] == (f"{declared_run['file']}:{declared_run['bad_line']}: not valid GB18030 "
                                  f"(byte 0x81 at position {declared_run['cut']})")


@pytest.mark.ray
def test_repeated_ids_are_counted_warned_about_and_rejected(declared_run) -> None:
    m, rows, n = declared_run["manifest"], declared_run["rows"], declared_run["n"]
    identical, longer, short = declared_run["ids"]
    assert m["duplicate_ids"]["inputs"]["smile"] == {"records": 3, "ids": 3, "rejected": 2,
                                                     "examples": [identical, longer, short]}
    (warning,) = [w for w in declared_run["warnings"].splitlines() if "duplicate_id" in w]
    assert f"input 'smile': 3 record(s) repeat 3 id(s) of earlier records ({identical}, {longer}, {short})" in warning
    copies = rows.filter(pl.col("source_line") > n).sort("source_line")
    reasons = copies["drop_reason"].to_list()
    assert reasons[:2] == ["duplicate_id", "duplicate_id"], "an identical copy too: not exact_duplicate"
    assert reasons[2] not in (None, "duplicate_id"), "a copy the rules rejected keeps their reason"
    file = declared_run["file"]
    assert copies["drop_detail"].to_list()[:2] == [f"duplicate_id {identical}: first at {file}:1",
                                                   f"duplicate_id {longer}: first at {file}:2"]
    firsts = rows.filter(pl.col("source_line").is_in([1, 2])).sort("source_line")
    assert firsts["drop_reason"].to_list() == [None, None], "the first occurrences survive the dedup"
    assert rows.filter(pl.col("drop_reason").is_null())["id"].is_unique().all()
    assert "duplicate_id" in m["totals"]["rejected_by_reason"]
