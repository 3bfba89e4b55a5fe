"""Per-shard stats (curate.stats.shard) and their exact merge (curate.stats.merge): pure, no Ray."""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa
import pytest

from curate.schema import arrow_schema, label_set, record_schema
from curate.stats.merge import empty_stats, merge_stats
from curate.stats.shard import TURN_CHARS, histogram_block, shard_stats, stats_spec
from tests.unit.stats_data import make_table


def _split(table: pa.Table, pieces: int, seed: int) -> list[pa.Table]:
    cuts = sorted(random.Random(seed).sample(range(1, table.num_rows), pieces - 1))
    return [table.slice(lo, hi - lo) for lo, hi in zip([0, *cuts], [*cuts, table.num_rows], strict=True)]


def test_the_manifest_keys_stay():
    s = shard_stats(make_table(120, 3))
    assert s["records_in"] == 120 == s["kept"] + s["rejected"]
    (f,) = s["files"].values()
    assert set(f) == {"records_in", "kept", "rejected", "rejected_by_reason", "kept_text_bytes", "contaminated_by"}
    assert f["records_in"] == 120 and f["rejected"] == sum(f["rejected_by_reason"].values())
    assert f["contaminated_by"] == {"dev.jsonl": 5, "test.csv": 6}  # rows 5, 16, ..., 115 of make_rows
    assert s["labels"]["contaminated_by"]["all"] == {"dev.jsonl": 5, "test.csv": 6, "(null)": 109}
    assert s["rejected_by_reason"] == f["rejected_by_reason"]


def test_the_document_has_exactly_the_documented_keys():
    s = shard_stats(make_table(50, 4))
    documented = {d["name"] for d in stats_spec().doc["document"]} - {"shard", "data", "rejects"}
    assert set(s) == documented
    assert set(empty_stats()) == documented


def test_every_numeric_signal_and_score_has_a_histogram_and_every_label_field_a_count():
    names = {h.column for h in stats_spec().histograms}
    numeric = {f.name for f in record_schema().fields
               if (f.name.startswith("sig_") or f.name in ("quality", "toxicity", "esc_relevance", "domain_scores",
                                                          "emotion_scores"))
               and f.type in ("int32", "int64", "float32", "float64", "list<float32>")}
    assert numeric <= names, numeric - names
    assert TURN_CHARS in names
    labelled = {f.name for f in record_schema().fields if f.labels} | {
        f"{prefix}.{f.name}" for prefix, struct in (("turns", "turn"), ("speakers", "speaker"))
        for f in record_schema().structs[struct] if f.labels}
    columns = {c for c, _ in stats_spec().label_columns}
    assert labelled <= columns, labelled - columns
    bools = {f.name for f in record_schema().fields if f.type == "bool"}
    assert bools <= columns


def test_histogram_bins_are_half_open_with_the_last_closed_and_outliers_apart():
    edges = np.array([0.0, 0.5, 1.0])
    values = np.array([[0.0], [0.49], [0.5], [1.0], [1.01], [-0.1], [np.nan], [np.inf]])
    (h,) = histogram_block(values, edges)
    assert h["counts"] == [2, 2] and h["below"] == 1 and h["above"] == 2 and h["nulls"] == 1 and h["n"] == 8
    assert h["min"] == -0.1 and h["max"] == 1.01  # finite values only


def test_stats_are_json_safe_with_nan_and_infinity():
    s = shard_stats(make_table(200, 5))
    json.dumps(s, allow_nan=False)  # raises on NaN / Infinity
    h = s["histograms"]["sig_zh_char_ratio"]["all"]
    assert h["nulls"] > 0 and sum(h["counts"]) + h["nulls"] + h["below"] + h["above"] == h["n"] == 200


def test_label_counts_cover_records_turns_and_speakers():
    t = make_table(90, 6)
    s = shard_stats(t)
    kinds = t.column("kind").to_pylist()
    n_turns = sum(len(x or []) for x in t.column("turns").to_pylist())
    assert sum(s["labels"]["kind"]["all"].values()) == 90 and s["labels"]["kind"]["all"]["web"] == kinds.count("web")
    assert sum(s["labels"]["turns.role"]["all"].values()) == n_turns == s["histograms"][TURN_CHARS]["all"]["n"]
    assert set(s["labels"]["turns.strategy"]["kept"]) <= {*label_set("strategy"), "(null)"}
    assert sum(s["labels"]["speakers.gender"]["all"].values()) == 2 * kinds.count("dialogue")
    assert s["labels"]["sig_has_traditional"]["all"].keys() <= {"true", "false", "(null)"}


def test_samples_are_few_per_band_truncated_and_deterministic():
    t = make_table(400, 7)
    s = shard_stats(t)
    cfg = stats_spec().samples
    assert set(s["samples"]) == {b["name"] for b in cfg["bands"]}
    for band, rows in s["samples"].items():
        assert len(rows) <= cfg["per_band"]
        assert [r["hash"] for r in rows] == sorted(r["hash"] for r in rows)
        for r in rows:
            assert r["band"] == band
            assert r["text"] is None or len(r["text"]) <= cfg["text_chars"] + 1
            assert len(r["turns"]) <= cfg["turns"]
            if band == "quality_high":
                assert r["quality"] >= 0.85
            if band == "rejected":
                assert r["drop_reason"] is not None
    assert s["samples"]["rejected"] and s["samples"]["quality_high"]
    assert any(r["turns"] for rows in s["samples"].values() for r in rows), "dialogues sampled with their turns"
    assert shard_stats(t.take(np.random.default_rng(0).permutation(t.num_rows)))["samples"] == s["samples"]


@pytest.mark.parametrize(("seed", "pieces"), [(0, 2), (1, 7), (2, 31)])
def test_merging_shards_equals_the_stats_of_the_whole(seed, pieces):
    t = make_table(500, seed)
    whole = merge_stats([shard_stats(t)])
    parts = [shard_stats(p) for p in _split(t, pieces, seed)]
    assert merge_stats(parts) == whole
    assert merge_stats(reversed(parts)) == whole, "order does not matter"
    direct = shard_stats(t)
    assert whole["histograms"] == direct["histograms"] and whole["samples"] == direct["samples"]
    assert whole["labels"] == direct["labels"] and whole["records_in"] == 500


def test_merge_refuses_stats_of_another_version():
    s = shard_stats(make_table(10, 8)) | {"stats_schema": "curate.stats/0.9", "shard": "part-1"}
    with pytest.raises(ValueError, match="run the job again"):
        merge_stats([s])


def test_an_empty_merge_is_all_zeros():
    m = merge_stats([])
    assert m["records_in"] == 0 and all(sum(p["all"]["counts"]) == 0 for p in m["histograms"].values())


def test_role_restricted_and_abstained_label_counts():
    t = make_table(90, 6)
    turns = [x for row in t.column("turns").to_pylist() for x in (row or [])]
    # withhold every other seeker turn's emotion, as a min_confidence would: label null, confidence kept
    for i, x in enumerate(turns):
        x["emotion_confidence"] = 0.9 if i % 2 else 0.1
        x["emotion"] = x.get("emotion") if i % 2 else None
    s = shard_stats(_with_turns(t, turns))
    seeker = [x for x in turns if x["role"] == "seeker"]
    got = s["labels"]["turns.emotion[seeker]"]["all"]
    assert sum(got.values()) == len(seeker) > 0
    assert got["(abstained)"] == sum(1 for x in seeker if x["emotion"] is None and x["emotion_confidence"] is not None)
    assert sum(s["labels"]["turns.emotion"]["all"].values()) == len(turns)


def _with_turns(t: pa.Table, turns: list[dict]) -> pa.Table:
    """`t` with its dialogues' turns replaced by `turns`, in order."""
    rows, k = [], 0
    for row in t.column("turns").to_pylist():
        n = len(row or [])
        rows.append(turns[k:k + n] if row is not None else None)
        k += n
    col = pa.array(rows, type=arrow_schema().field("turns").type)
    return t.set_column(t.column_names.index("turns"), "turns", col)


def test_risk_per_source_and_reviewer_samples():
    t = pa.concat_tables([make_table(200, 8, source="a"), make_table(100, 9, source="b")])
    s = shard_stats(t)
    rows = t.to_pylist()
    for source in ("a", "b"):
        mine = [r for r in rows if r["source"] == source]
        assert sum(s["risk_by_source"][source]["all"].values()) == len(mine)
        assert s["risk_by_source"][source]["kept"].get("high", 0) == sum(r["risk"] == "high" for r in mine)
    cfg = stats_spec().doc["risk"]
    assert set(s["risk_samples"]) == set(cfg["levels"])
    for level, picked in s["risk_samples"].items():
        assert 0 < len(picked) <= cfg["per_level"] and all(r["risk"] == level for r in picked)
        assert [r["hash"] for r in picked] == sorted(r["hash"] for r in picked)
        for r in picked:
            row = next(x for x in rows if x["id"] == r["id"])
            text = row["turns"][r["turn"]]["text"]
            assert r["evidence"] == text[r["start"]:r["end"]] and len(r["before"]) <= cfg["context_chars"]
    assert s["labels"]["turns.risk[seeker]"]["kept"].keys() <= set(label_set("risk"))
    parts = [shard_stats(p) for p in _split(t, 5, 8)]
    whole = merge_stats([s])
    assert merge_stats(parts)["risk_by_source"] == whole["risk_by_source"]
    assert merge_stats(parts)["risk_samples"] == whole["risk_samples"]
