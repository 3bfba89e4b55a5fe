"""`decontaminate:` end to end on Ray: SMILECHAT dialogues and web pages against a dialogue-style JSONL test set and
a CSV of questions; records that share text with them are rejected (or, in flag mode, kept and marked), named in
the rejects, the stats and the manifest, and the counts reconcile."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from curate.job import parse_job
from curate.run import run_job
from curate.stats.merge import merge_stats

pytestmark = pytest.mark.ray

SPAN = 13 + 20 - 1  # the default ngram and threshold: an overlap of 32 characters


def _compact(text: str) -> str:
    return "".join(text.split()).lower()


@pytest.fixture(scope="module")
def corpus(smilechat_fixture: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("decontam")
    lines = smilechat_fixture.read_text(encoding="utf-8").splitlines()  # the committed 100 dialogues
    dialogues = [json.loads(x) for x in lines]
    (root / "smile.jsonl").write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    # the test set: five of those dialogues, in another dialogue style; a question planted in a web page
    (root / "eval").mkdir()
    dev = [{"messages": [{"role": "user" if t["role"] == "client" else "assistant", "content": t["content"]}
                         for t in d["turns"]]} for d in dialogues[:5]]
    (root / "eval" / "dev.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dev),
                                             encoding="utf-8")
    question = next(d["turns"][0]["content"] for d in dialogues[60:] if len(d["turns"][0]["content"]) >= 60)
    with open(root / "eval" / "qa.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["question", "answer"], [question, "略"], ["短问题？", "略"]])
    pages = ["".join(t["content"] for t in d["turns"][:3]) for d in dialogues[70:74]]
    pages[1] = pages[1][:80] + question + pages[1][80:]
    (root / "web.jsonl").write_text("".join(json.dumps({"text": p}, ensure_ascii=False) + "\n" for p in pages),
                                    encoding="utf-8")
    # independent truth: a record is contaminated when one of its texts shares a SPAN-character substring with
    # an evaluation text (the stage counts consecutive shared n-grams instead; on real text the two agree)
    evals = {"dev.jsonl": [t["content"] for d in dialogues[:5] for t in d["turns"]], "qa.csv": [question, "短问题？"]}
    subs = {name: {c[i:i + SPAN] for t in texts for c in [_compact(t)] for i in range(len(c) - SPAN + 1)}
            for name, texts in evals.items()}

    def truth(units: list[str]) -> str | None:
        for name, s in subs.items():
            if any(c[i:i + SPAN] in s for u in units for c in [_compact(u)] for i in range(len(c) - SPAN + 1)):
                return name
        return None

    expected = {("smile.jsonl", i + 1): truth([t["content"] for t in d["turns"]]) for i, d in enumerate(dialogues[:40])}
    expected |= {("web.jsonl", i + 1): truth([p]) for i, p in enumerate(pages)}
    return {"root": root, "expected": {k: v for k, v in expected.items() if v}}


def _run(corpus: dict, mode: str) -> tuple[dict, pl.DataFrame]:
    root = corpus["root"]
    doc = {"name": f"decontam-{mode}", "output": str(root / f"out-{mode}"),
           "inputs": [{"name": "smile", "path": "smile.jsonl", "kind": "dialogue"},
                      {"name": "web", "path": "web.jsonl", "kind": "web"}],
           "decontaminate": {"against": ["eval/dev.jsonl", {"path": "eval/qa.csv", "text_field": "question"}],
                             "mode": mode},
           "scores": False, "tags": False}
    result = run_job(parse_job(doc, root))
    out = root / f"out-{mode}"
    rows = pl.concat([pl.read_parquet(p) for sub in ("data", "rejects") for p in sorted((out / sub).glob("*.parquet"))],
                     how="diagonal_relaxed")
    rows = rows.with_columns(file=pl.col("source_file").map_elements(lambda p: Path(p).name, return_dtype=pl.String))
    return result.manifest, rows


@pytest.fixture(scope="module")
def dropped(corpus, ray_local) -> tuple[dict, pl.DataFrame]:
    return _run(corpus, "drop")


@pytest.fixture(scope="module")
def flagged(corpus, ray_local) -> tuple[dict, pl.DataFrame]:
    return _run(corpus, "flag")


def test_the_planted_overlaps_are_there(corpus) -> None:
    expected = corpus["expected"]
    assert {k for k, v in expected.items() if v == "dev.jsonl"} >= {("smile.jsonl", i) for i in range(1, 6)}
    assert expected[("web.jsonl", 2)] == "qa.csv"


def test_drop_mode_rejects_exactly_the_overlapping_records_with_file_and_span(corpus, dropped) -> None:
    manifest, rows = dropped
    hit = rows.filter(pl.col("drop_reason") == "contaminated")
    assert {(r["file"], r["source_line"]): r["contaminated_by"] for r in hit.iter_rows(named=True)} == corpus["expected"]
    evals = ["".join(json.dumps(json.loads(x), ensure_ascii=False).split()).lower()
             for x in (corpus["root"] / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    evals.append(_compact((corpus["root"] / "eval" / "qa.csv").read_text(encoding="utf-8")))
    for r in hit.iter_rows(named=True):
        assert r["contaminated_by"] in r["drop_detail"] and r["drop_detail"].endswith('"')
        span = r["drop_detail"].split('"')[1].rstrip("…")
        assert len(span) >= SPAN and any(span in e for e in evals), r["drop_detail"]
    # nothing else is marked; the rules and dedup never judged a contaminated record
    assert rows.filter(pl.col("drop_reason").ne_missing("contaminated"))["contaminated_by"].null_count() == \
        rows.height - hit.height
    assert all(not flags for flags in hit["rule_flags"].to_list())
    assert hit["exact_hash"].null_count() == hit.height


def test_drop_mode_counts_reconcile_in_the_manifest_and_stats(corpus, dropped) -> None:
    manifest, rows = dropped
    expected = corpus["expected"]
    n = len(expected)
    assert all(f["reconciled"] for f in manifest["inputs"])
    assert manifest["totals"]["rejected_by_reason"]["contaminated"] == n
    d = manifest["decontamination"]
    assert d["params"] == {"ngram": 13, "threshold": 20, "mode": "drop"}
    assert d["contaminated"] == n
    assert d["by_source"] == {"smile": sum(f == "smile.jsonl" for f, _ in expected), "web": 1}
    assert d["by_evaluation_file"] == {name: sum(v == name for v in expected.values()) for name in ("dev.jsonl", "qa.csv")}
    assert [(f["name"], f["records"], f["texts"]) for f in d["evaluation_files"]] == \
        [("dev.jsonl", 5, sum(len(x["messages"]) for x in map(json.loads, (corpus["root"] / "eval" / "dev.jsonl")
                                                                 .read_text(encoding="utf-8").splitlines()))),
         ("qa.csv", 2, 2)]
    for f in manifest["inputs"]:
        assert sum(f["contaminated_by"].values()) == f["rejected_by_reason"].get("contaminated", 0)
        assert f["encoding"] == "utf-8" and "pii_found" in f  # beside the other stages' per-file counts
    assert "pii_found" in manifest["totals"] and "risk" in manifest["job"]["config"]
    out = corpus["root"] / "out-drop"
    stats = merge_stats(json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "stats").glob("*.json")))
    labels = stats["labels"]["contaminated_by"]
    assert {k: v for k, v in labels["all"].items() if k != "(null)"} == d["by_evaluation_file"]
    assert not {k for k in labels["kept"] if k != "(null)"}


def test_flag_mode_keeps_and_marks_the_same_records(corpus, flagged) -> None:
    manifest, rows = flagged
    marked = rows.filter(pl.col("contaminated_by").is_not_null())
    assert {(r["file"], r["source_line"]): r["contaminated_by"] for r in marked.iter_rows(named=True)} == \
        corpus["expected"]
    assert "contaminated" not in manifest["totals"]["rejected_by_reason"]
    assert marked["contamination"].null_count() == 0
    assert manifest["decontamination"]["contaminated"] == len(corpus["expected"])
    assert all(f["reconciled"] for f in manifest["inputs"])
