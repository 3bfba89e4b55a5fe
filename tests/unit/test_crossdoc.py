"""CCNet-style cross-document line duplication: line hashes, duplicated lines across clusters, the fraction, its rule."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from curate.schema import conform
from curate.stages import crossdoc
from curate.stages.rules import apply_global_rules, load_rule_sets

BOILER = "本站所有内容均来自网络，如有侵权请联系删除"


def table(texts: list[str], kinds: list[str] | None = None, reasons: list[str | None] | None = None) -> pa.Table:
    n = len(texts)
    t = conform(pa.table({
        "id": [f"d{i}" for i in range(n)], "kind": kinds or ["web"] * n, "source": ["s"] * n,
        "source_file": ["f"] * n, "source_line": list(range(1, n + 1)), "text": texts,
        "drop_reason": reasons or [None] * n, "schema_version": ["1"] * n, "pipeline_version": ["0"] * n,
        "exact_hash": pa.array(range(100, 100 + n), pa.uint64()),
    }))
    for name, col in crossdoc.line_columns(t, ("web",)).items():
        t = t.append_column(name, col)
    return t


def dup_lines(t: pa.Table, components: str | None = None) -> pl.Series:
    return pl.from_arrow(crossdoc.duplicated_lines(crossdoc.line_rows(t), components))["line"]


def test_a_line_shared_by_two_documents_is_duplicated_and_counts_by_characters() -> None:
    t = table([f"{BOILER}\n第一篇自己的内容，写得很长很长很长", f"{BOILER}\n另一篇完全不同的内容"])
    frac, computed = crossdoc.dup_paragraph_frac(t, dup_lines(t))
    assert computed.all()
    own = len("第一篇自己的内容，写得很长很长很长")
    assert frac[0] == pytest.approx(len(BOILER) / (len(BOILER) + own))


def test_lines_shared_only_within_one_duplicate_cluster_do_not_count(tmp_path) -> None:
    t = table([f"{BOILER}\n正文甲", f"{BOILER}\n正文乙"])
    comps = tmp_path / "components.parquet"
    pl.DataFrame({"node": [100, 101], "component": [100, 100]}, schema={"node": pl.UInt64, "component": pl.UInt64}).write_parquet(comps)
    frac, _ = crossdoc.dup_paragraph_frac(t, dup_lines(t, str(comps)))
    assert frac.tolist() == [0.0, 0.0]


def test_keys_in_clusters_count_clusters_not_rows(tmp_path) -> None:
    # key 1: three rows, two of them one text, another two one cluster -> 2 clusters; key 2: three clusters;
    # key 3: two rows only, never enough for three
    rows = pa.table({"k": pa.array([1, 1, 1, 1, 2, 2, 2, 3, 3], pa.uint64()),
                     "node": pa.array([10, 10, 11, 12, 10, 11, 13, 10, 13], pa.uint64())})
    comps = tmp_path / "components.parquet"
    pl.DataFrame({"node": [11, 12], "component": [11, 11]}, schema={"node": pl.UInt64, "component": pl.UInt64}).write_parquet(comps)
    assert sorted(crossdoc.keys_in_clusters(rows, "k", str(comps), 3)["k"].to_list()) == [2]
    assert sorted(crossdoc.keys_in_clusters(rows, "k", str(comps), 2)["k"].to_list()) == [1, 2, 3]
    assert sorted(crossdoc.keys_in_clusters(rows, "k", None, 3)["k"].to_list()) == [1, 2]
    assert sorted(crossdoc.keys_in_clusters(rows, "k", None, 1)["k"].to_list()) == [1, 2, 3]
    assert crossdoc.keys_in_clusters(rows, "k", None, 10).height == 0


def test_rejected_rows_and_other_kinds_get_no_line_hashes() -> None:
    t = table(["一行\n二行", "一行\n二行", "一行\n二行"], kinds=["web", "dialogue", "web"], reasons=[None, None, "cwt_too_short"])
    hashes = t.column(crossdoc.LINE_HASHES).to_pylist()
    assert hashes[0] and hashes[1] is None and hashes[2] is None


def test_blank_and_one_character_lines_are_not_counted() -> None:
    t = table(["正文内容\n\n-\n  \n结尾"])
    assert t.column(crossdoc.LINE_CHARS).to_pylist() == [[4, 2]]


def test_the_rule_fires_above_its_threshold_on_live_rows_only_and_appends_to_rule_flags() -> None:
    rule_sets = load_rule_sets(["default.yaml"])
    t = table(["a", "b", "c"], reasons=[None, None, "cwt_too_short"])
    t = t.set_column(t.schema.get_field_index("rule_flags"), "rule_flags", pa.array([["fw2_line_punct"], [], None], pa.list_(pa.string())))
    frac = np.array([0.9, 0.2, 0.9])
    out = apply_global_rules(t, rule_sets, {crossdoc.SIGNAL: frac}, np.array([True, True, True])).to_pydict()
    assert out["drop_reason"] == ["ccnet_dup_paragraphs", None, "cwt_too_short"]
    assert out["rule_flags"][0] == ["fw2_line_punct", "ccnet_dup_paragraphs"]
    assert out["drop_detail"][0] == "sig_dup_paragraph_frac=0.9 > 0.5"
    assert out[crossdoc.SIGNAL][1] == pytest.approx(0.2)
