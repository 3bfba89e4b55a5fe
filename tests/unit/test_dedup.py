"""Dedup pieces as pure functions: signatures, buckets, components, survivors, applying decisions."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from curate.schema import conform
from curate.stages import dedup
from curate.stages.minhash import (
    MinHashParams,
    band_keys,
    estimated_jaccard,
    fill_bins,
    fill_bins_numpy,
    shingle_hashes,
    signatures,
    sorted_shingle_sets,
)
from curate.stages.ngrams import to_codepoints

P = MinHashParams()


def sigs(texts: list[str]) -> np.ndarray:
    return signatures(to_codepoints(dedup.compact_text(pa.array(texts))), P)


def shingles(text: str, n: int = 5) -> set[str]:
    t = "".join(text.lower().split())
    return {t[i : i + n] for i in range(len(t) - n + 1)} if len(t) >= n else {t}


@pytest.mark.parametrize("ngram", [1, 3, 5, 9])
def test_compiled_bins_equal_the_numpy_definition(ngram: int) -> None:
    """The one-pass kernel fills exactly the bins of the vectorised definition (shingle_hashes, mix, minimum)."""
    rng = random.Random(ngram)
    texts = ["", "a", "你好", "短", "一二三四五六七八九十" * 30, "😀𠀀x" * 7, None]
    alphabet = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理世车" + "ABCdef,。 \n"
    for _ in range(300):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 2, 4, 5, 6, 12, 200, 1500]))))
    batch = to_codepoints(pa.array(texts, pa.string()))
    for seed in (1, 7):
        params = MinHashParams(num_perm=128, ngram=ngram, bands=1, rows=1, seed=seed)
        sig = np.full((batch.n_docs, 128), 0xFFFFFFFF, dtype=np.uint32)
        fill_bins(batch.codepoints, batch.offsets.astype(np.int64), ngram,
                   np.uint64(seed * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF), sig)
        assert np.array_equal(sig, fill_bins_numpy(batch, params))


@pytest.mark.parametrize("ngram", [1, 3, 5, 9])
def test_compiled_shingle_sets_equal_the_sorted_unique_shingle_hashes(ngram: int) -> None:
    """Each document's set from the one-pass kernel is np.unique of its `shingle_hashes` (the definition)."""
    rng = random.Random(100 + ngram)
    alphabet = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定" + "ABCdef,。"
    texts = ["", "a", "你好", "短", "一二三四五六七八九十" * 30, "😀𠀀x" * 7, "哈" * 50, ""]
    for _ in range(200):
        texts.append("".join(rng.choice(alphabet[: rng.choice([3, 20, 70])]) for _ in range(rng.choice([0, 1, 4, 5, 6, 12, 300]))))
    batch = to_codepoints(pa.array(texts, pa.string()))
    flat, sizes = sorted_shingle_sets(batch.codepoints, batch.offsets.astype(np.int64), ngram)
    h, doc = shingle_hashes(batch, ngram)
    expected = [np.unique(h[doc == d]) for d in range(batch.n_docs)]
    assert sizes.tolist() == [len(e) for e in expected]
    assert np.array_equal(flat, np.concatenate(expected))


def test_equal_texts_get_equal_signatures_and_band_keys() -> None:
    s = sigs(["我今天很难过，因为考试没有考好。", "我今天很难过，因为考试没有考好。"])
    assert (s[0] == s[1]).all()
    b = band_keys(s, P)
    assert (b[0] == b[1]).all()


def test_whitespace_and_case_do_not_change_the_signature() -> None:
    s = sigs(["Hello 世界 你好 ABC", "hello世界\n你好abc"])
    assert (s[0] == s[1]).all()


def test_empty_text_has_an_empty_signature_and_short_texts_still_match() -> None:
    s = sigs(["", "你好", "你好", "再见"])
    assert (s[0] == 0xFFFFFFFF).all()
    assert (s[1] == s[2]).all() and not (s[1] == s[3]).all()


def test_estimate_tracks_true_jaccard() -> None:
    rng = random.Random(7)
    base = "".join(rng.choice("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研"))
    left, right, truth = [], [], []
    for _ in range(60):
        text = "".join(rng.choice("天地人和春夏秋冬风花雪月山水云雨你我他好学习工作生活") for _ in range(rng.randint(80, 600)))
        chars = list(text)
        for _ in range(rng.randint(0, len(chars) // 8)):
            chars[rng.randrange(len(chars))] = rng.choice(base)
        edited = "".join(chars)
        left.append(text)
        right.append(edited)
        a, b = shingles(text), shingles(edited)
        truth.append(len(a & b) / len(a | b))
    est = estimated_jaccard(sigs(left), sigs(right))
    err = np.abs(est - np.array(truth))
    assert err.mean() < 0.05 and err.max() < 0.2


def test_signature_is_batch_independent() -> None:
    texts = [f"第{i}篇文章，讲一个关于天气和心情的故事，" * (i + 1) for i in range(20)]
    together = sigs(texts)
    alone = np.stack([sigs([t])[0] for t in texts])
    assert (together == alone).all()


def test_bucket_edges_link_every_member_to_the_smallest_node_of_each_bucket() -> None:
    rows = pa.table({"key": pa.array([1, 1, 1, 2, 2, 3], pa.uint64()), "node": pa.array([30, 10, 20, 40, 10, 50], pa.uint64())})
    edges = pl.from_arrow(dedup.bucket_edges(rows)).sort("a", "b")
    assert edges.rows() == [(10, 20), (10, 30), (10, 40)]


def test_components_are_labelled_by_their_smallest_node() -> None:
    edges = pl.DataFrame({"a": [1, 2, 7], "b": [2, 3, 8]}, schema={"a": pl.UInt64, "b": pl.UInt64})
    comps = dict(dedup.components(edges).rows())
    assert comps == {1: 1, 2: 1, 3: 1, 7: 7, 8: 7}


def _records(rows: list[tuple[str, int, str, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"source_file": pl.String, "source_line": pl.Int64, "id": pl.String,
                                      "exact_hash": pl.UInt64, "chars": pl.Int64}, orient="row")


def test_the_centre_survives_and_its_smallest_id_among_identical_texts() -> None:
    records = _records([
        ("f", 1, "b", 100, 50),   # exact duplicate group of node 100
        ("f", 2, "a", 100, 50),
        ("f", 3, "c", 200, 80),   # near duplicate of 100, and the star's centre: its text survives
        ("f", 4, "z", 300, 10),   # unrelated
    ])
    comps = pl.DataFrame({"node": [100, 200], "component": [200, 200]}, schema={"node": pl.UInt64, "component": pl.UInt64})
    out = {r["id"]: r for r in dedup.cluster_records(records, comps).join(records, on=["source_file", "source_line"]).iter_rows(named=True)}
    assert set(out) == {"a", "b", "c"}
    assert out["c"]["dup_of"] is None and out["c"]["dup_cluster"] == "c"
    assert out["a"]["dup_of"] == "c" and out["a"]["reason"] == dedup.NEAR
    assert out["b"]["reason"] == dedup.NEAR


def test_exact_duplicates_keep_the_smallest_id() -> None:
    records = _records([("f", 1, "b", 100, 50), ("g", 7, "a", 100, 50), ("f", 2, "c", 100, 50)])
    out = dict(dedup.cluster_records(records, dedup.components(pl.DataFrame(schema={"a": pl.UInt64, "b": pl.UInt64})))
               .select("source_line", "dup_of").rows())
    assert out == {7: None, 1: "a", 2: "a"}


def test_apply_dedup_rejects_live_duplicates_only_and_keeps_row_order() -> None:
    table = conform(pa.table({
        "id": ["a", "b", "c"], "kind": ["web"] * 3, "source": ["s"] * 3, "source_file": ["f"] * 3,
        "source_line": [1, 2, 3], "text": ["x", "x", "y"], "drop_reason": [None, None, "cwt_too_short"],
        "schema_version": ["1"] * 3, "pipeline_version": ["0"] * 3,
    }))
    decisions = pl.DataFrame({"source_file": ["f", "f", "f"], "source_line": [1, 2, 3], "dup_cluster": ["a", "a", "a"],
                              "dup_of": [None, "a", "a"], "reason": [None, dedup.EXACT, dedup.EXACT],
                              "cluster_size": [3, 3, 3]}, schema_overrides={"cluster_size": pl.UInt32})
    out = dedup.apply_dedup(table, decisions).to_pydict()
    assert out["id"] == ["a", "b", "c"]
    assert out["drop_reason"] == [None, dedup.EXACT, "cwt_too_short"]
    assert out["dup_of"] == [None, "a", "a"]
    assert out["drop_detail"][1].startswith("exact_duplicate of a")


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.9])
def test_verify_edges_keeps_edges_whose_exact_jaccard_reaches_the_threshold(threshold: float) -> None:
    texts = ["一二三四五六七八九十" * 20, "一二三四五六七八九十" * 19 + "甲乙丙丁戊己庚辛壬癸", "完全不同的一段文字内容在这里" * 10]
    nodes = pl.Series("node", [1, 2, 3], dtype=pl.UInt64)
    sets = dedup.ShingleSets(nodes, pl.Series(texts), 5)
    edges = pl.DataFrame({"a": [1, 1], "b": [2, 3]}, schema={"a": pl.UInt64, "b": pl.UInt64})
    kept = dedup.verify_edges(edges, sets, threshold)
    truth = {(1, 2): len(shingles(texts[0]) & shingles(texts[1])) / len(shingles(texts[0]) | shingles(texts[1])),
             (1, 3): 0.0}
    assert {(a, b) for a, b, _ in kept.rows()} == {k for k, j in truth.items() if j >= threshold}
    for a, b, j in kept.rows():
        assert j == pytest.approx(truth[(a, b)])


def test_chains_are_split_so_every_duplicate_is_similar_to_its_centre() -> None:
    # B is close to both A and C, but A and C are far apart: a component of three, two stars
    base = "春天来了，公园里的花都开了，我和朋友一起去散步，心情特别好。" * 6
    a = base
    b = base[:-40] + "夏天也很美好，我们常常在河边钓鱼，晚上一起看星星。"
    c = base[:-80] + "夏天也很美好，我们常常在河边钓鱼，晚上一起看星星。" + "秋天的落叶铺满了小路，冬天的雪让城市安静下来。"
    nodes = pl.Series("node", [1, 2, 3], dtype=pl.UInt64)
    sets = dedup.ShingleSets(nodes, pl.Series([a, b, c]), 5)
    sh = [shingles(t) for t in (a, b, c)]
    jab, jbc, jac = (len(sh[i] & sh[j]) / len(sh[i] | sh[j]) for i, j in ((0, 1), (1, 2), (0, 2)))
    threshold = (max(jac, 0.0) + min(jab, jbc)) / 2  # between the far pair and the close pairs
    assert jac < threshold <= min(jab, jbc)
    edges = pl.DataFrame({"a": [1, 2], "b": [2, 3]}, schema={"a": pl.UInt64, "b": pl.UInt64})
    chars = pl.DataFrame({"node": nodes, "chars": [len(a), len(b), len(c)]})
    comps = dedup.components(edges)
    # members must also be near each other: with no slack, A and C cannot share B's cluster
    strict = dict(dedup.assign_centres(comps, edges, sets, chars, threshold, member_slack=0.0).rows())
    assert strict[2] == 2 and sorted([strict[1], strict[3]]) in ([1, 2], [2, 3])
    # with slack enough for A~C, both join the most linked node's star
    loose = dict(dedup.assign_centres(comps, edges, sets, chars, threshold, member_slack=1.0).rows())
    assert loose == {1: 2, 2: 2, 3: 2}
    far = dedup.assign_centres(comps, edges, sets, chars, max(jab, jbc) + 1e-9)
    assert len(set(dict(far.rows()).values())) == 3  # nobody similar enough to a centre: three clusters


def test_no_candidates_means_no_edges_and_no_clusters() -> None:
    sets = dedup.ShingleSets(pl.Series("node", [], dtype=pl.UInt64), pl.Series("text", [], dtype=pl.String), 5)
    edges = pl.DataFrame(schema={"a": pl.UInt64, "b": pl.UInt64})
    verified = dedup.verify_edges(edges, sets, 0.8)
    assert verified.height == 0
    assert dedup.assign_centres(dedup.components(verified), verified, sets, pl.DataFrame(schema={"node": pl.UInt64, "chars": pl.Int64}), 0.8).height == 0


def test_band_passes_cover_every_band_once() -> None:
    from curate.stages.dedup_global import BAND_PASS_ROWS, band_passes

    assert band_passes(12, 1_000) == [(0, 12)]
    assert band_passes(12, BAND_PASS_ROWS // 4) == [(0, 4), (4, 8), (8, 12)]
    assert band_passes(12, BAND_PASS_ROWS * 2) == [(i, i + 1) for i in range(12)]
    assert band_passes(5, BAND_PASS_ROWS * 3 // 8) == [(0, 2), (2, 4), (4, 5)]


def test_band_rows_of_passes_union_to_all_bands() -> None:
    import pyarrow as pa

    from curate.stages.dedup import BANDS, band_rows

    keys = np.arange(24, dtype=np.uint64).reshape(4, 6) * 7 + 1
    table = pa.table({"drop_reason": pa.array([None, None, "x", None], pa.string()),
                      "exact_hash": pa.array([10, 11, 12, 13], pa.uint64()),
                      BANDS: pa.FixedSizeListArray.from_arrays(pa.array(keys.ravel()), 6)})
    whole = band_rows(table).to_pylist()
    parts = band_rows(table, (0, 4)).to_pylist() + band_rows(table, (4, 6)).to_pylist()
    assert sorted(map(tuple, (r.values() for r in parts))) == sorted(map(tuple, (r.values() for r in whole)))
    assert {r["node"] for r in whole} == {10, 11, 13} and len(whole) == 18
