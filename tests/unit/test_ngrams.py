"""The batch n-gram engine against brute force: repetition statistics, covered characters, code points."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.stages.ngrams import CodepointBatch, covered_chars_per_doc, repetition_profile, to_codepoints

# A small alphabet makes repeats common; the astral emoji and the combining mark check that positions are
# code points, not UTF-8 or UTF-16 units.
ALPHABET = "ab\u4e00\U0001f600\u0301"
texts_st = st.text(alphabet=ALPHABET, max_size=40)
batches_st = st.lists(texts_st, min_size=1, max_size=8)
sizes_st = st.sets(st.integers(min_value=1, max_value=9), min_size=1, max_size=5)
SETTINGS = settings(max_examples=60, deadline=None)


def batch_of(texts: list[str]) -> CodepointBatch:
    return to_codepoints(pa.array(texts, pa.string()))


def brute_force(text: str, n: int, exclude_last: bool) -> dict:
    """One document's n-gram repetition, the obvious way (ChineseWebText's range(len - n) when exclude_last)."""
    count = max(len(text) - n + (0 if exclude_last else 1), 0)
    grams = [text[i : i + n] for i in range(count)]
    counts = Counter(grams)
    dup_starts = [i for i, g in enumerate(grams) if counts[g] > 1]
    covered = {p for i in dup_starts for p in range(i, i + n)}
    return {
        "windows": count,
        "dup_windows": len(dup_starts),
        "top_count": max(counts.values(), default=0),
        "dup_starts": dup_starts,
        "covered": len(covered),
    }


def per_doc(batch: CodepointBatch, rep, d: int) -> dict:
    """Document d's share of a batch result, positions relative to the document."""
    lo, hi = batch.offsets[d], batch.offsets[d + 1]
    starts = rep.dup_starts[(rep.dup_starts >= lo) & (rep.dup_starts < hi)] - lo
    return {
        "windows": int(rep.windows[d]),
        "dup_windows": int(rep.dup_windows[d]),
        "top_count": int(rep.top_count[d]),
        "dup_starts": starts.tolist(),
        "covered": int(covered_chars_per_doc(rep.dup_starts, rep.n, batch)[d]),
    }


# ------------------------------------------------------------------------------------------------ brute force


@SETTINGS
@given(texts=batches_st, sizes=sizes_st)
def test_repetition_profile_matches_brute_force(texts, sizes):
    batch = batch_of(texts)
    profile = repetition_profile(batch, sizes)
    assert sorted(profile) == sorted(sizes)
    for n, rep in profile.items():
        assert rep.n == n
        assert np.all(np.diff(rep.dup_starts) > 0), "dup_starts ascend"
        for d, text in enumerate(texts):
            assert per_doc(batch, rep, d) == brute_force(text, n, exclude_last=False), (text, n)


@SETTINGS
@given(texts=batches_st, sizes=sizes_st)
def test_exclude_last_skips_each_documents_final_window(texts, sizes):
    batch = batch_of(texts)
    largest = max(sizes)
    profile = repetition_profile(batch, sizes, exclude_last=(largest,))
    for n, rep in profile.items():
        for d, text in enumerate(texts):
            assert per_doc(batch, rep, d) == brute_force(text, n, exclude_last=n == largest), (text, n)


@SETTINGS
@given(text=texts_st, n=st.integers(min_value=1, max_value=9))
def test_single_document_batch_matches_brute_force(text, n):
    batch = batch_of([text])
    assert per_doc(batch, repetition_profile(batch, [n])[n], 0) == brute_force(text, n, exclude_last=False)


@SETTINGS
@given(texts=st.lists(st.text(alphabet="ab", max_size=6), min_size=1, max_size=30), n=st.integers(2, 8))
def test_many_short_documents_never_share_ngrams(texts, n):
    """Equal n-grams in different documents are not repeats, and texts shorter than n have no windows."""
    batch = batch_of(texts)
    rep = repetition_profile(batch, [n])[n]
    for d, text in enumerate(texts):
        assert per_doc(batch, rep, d) == brute_force(text, n, exclude_last=False)


def test_empty_and_short_texts_have_no_windows():
    batch = batch_of(["", "ab", "abab", ""])
    rep = repetition_profile(batch, [3])[3]
    assert rep.windows.tolist() == [0, 0, 2, 0]
    assert rep.dup_windows.tolist() == [0, 0, 0, 0]
    assert rep.top_count.tolist() == [0, 0, 1, 0]
    assert rep.dup_starts.tolist() == []
    assert covered_chars_per_doc(rep.dup_starts, 3, batch).tolist() == [0, 0, 0, 0]


def test_an_empty_batch_gives_empty_statistics():
    batch = batch_of([])
    rep = repetition_profile(batch, [2, 13], exclude_last=(13,))[13]
    assert batch.n_docs == 0
    assert len(rep.windows) == len(rep.dup_windows) == len(rep.dup_starts) == 0
    assert len(covered_chars_per_doc(rep.dup_starts, 13, batch)) == 0


def test_exclude_last_must_be_the_largest_size():
    with pytest.raises(ValueError, match="largest"):
        repetition_profile(batch_of(["abcabc"]), [2, 5], exclude_last=(2,))


def test_covered_chars_counts_overlapping_windows_once():
    batch = batch_of(["aaaaa", "xyzxyz"])
    # doc 0: windows "aa" at 0..3 all repeat -> 5 characters; doc 1: "xy" and "yz" repeat, "zx" does not
    rep = repetition_profile(batch, [2])[2]
    assert rep.dup_starts.tolist() == [0, 1, 2, 3, 5, 6, 8, 9]
    assert covered_chars_per_doc(rep.dup_starts, 2, batch).tolist() == [5, 6]


# ------------------------------------------------------------------------------------------------ batch independence


@SETTINGS
@given(texts=batches_st, sizes=sizes_st, exclude=st.booleans())
def test_a_documents_statistics_do_not_depend_on_its_batch(texts, sizes, exclude):
    excl = (max(sizes),) if exclude else ()
    batch = batch_of(texts)
    together = repetition_profile(batch, sizes, excl)
    for d, text in enumerate(texts):
        single = batch_of([text])
        alone = repetition_profile(single, sizes, excl)
        for n in sizes:
            assert per_doc(batch, together[n], d) == per_doc(single, alone[n], 0), (text, n)


def test_identical_documents_in_one_batch_get_identical_statistics():
    texts = ["今天天气很好今天天气很好"] * 3 + ["今天"]
    batch = batch_of(texts)
    rep = repetition_profile(batch, [2, 4])[4]
    assert rep.dup_windows.tolist()[:3] == [brute_force(texts[0], 4, False)["dup_windows"]] * 3
    assert rep.windows.tolist()[3] == 0


# ------------------------------------------------------------------------------------------------ code points


def decode(batch: CodepointBatch) -> list[str]:
    return ["".join(map(chr, batch.codepoints[a:b])) for a, b in zip(batch.offsets[:-1], batch.offsets[1:], strict=True)]


@SETTINGS
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=10))
def test_to_codepoints_round_trips_any_text_with_nulls_as_empty(texts):
    batch = to_codepoints(pa.array(texts, pa.string()))
    assert batch.codepoints.dtype == np.uint32
    assert batch.n_docs == len(texts)
    assert batch.lengths.tolist() == [len(t or "") for t in texts]
    assert decode(batch) == [t or "" for t in texts]


def test_to_codepoints_counts_astral_characters_and_combining_marks_as_one_each():
    texts = ["😀", "e\u0301", "𠀀中", "", None, "\U0010ffff"]
    batch = to_codepoints(pa.array(texts, pa.string()))
    assert batch.lengths.tolist() == [1, 2, 2, 0, 0, 1]
    assert batch.codepoints.tolist() == [0x1F600, ord("e"), 0x301, 0x20000, ord("中"), 0x10FFFF]


def test_to_codepoints_reads_a_slice_of_an_array():
    arr = pa.array(["前面", "😀a", None, "后面的字"], pa.string()).slice(1, 2)
    assert decode(to_codepoints(arr)) == ["😀a", ""]


def test_to_codepoints_reads_large_strings_and_chunked_arrays():
    chunked = pa.chunked_array([pa.array(["ab", "😀"], pa.large_string()), pa.array([None, "中文"], pa.large_string())])
    batch = to_codepoints(chunked)
    assert decode(batch) == ["ab", "😀", "", "中文"]
    assert batch.offsets.tolist() == [0, 2, 3, 3, 5]


def test_to_codepoints_of_only_nulls_and_empties():
    batch = to_codepoints(pa.array([None, "", None], pa.string()))
    assert batch.lengths.tolist() == [0, 0, 0]
    assert len(batch.codepoints) == 0


def test_sort_chunks_end_on_document_boundaries(monkeypatch) -> None:
    """A document never straddles two sort chunks (tiny chunks force many boundaries)."""
    import pyarrow as pa

    from curate.stages import ngrams

    monkeypatch.setattr(ngrams, "_POS_BITS", 5)
    monkeypatch.setattr(ngrams, "_POS_MASK", np.uint64(31))
    batch = ngrams.to_codepoints(pa.array(["ab" * 10, "xyz" * 4, "ab" * 10]))
    prof = ngrams.repetition_profile(batch, (2,))[2]
    assert prof.dup_windows.tolist() == [19, 11, 19]
    assert prof.top_count.tolist() == [10, 4, 10]
