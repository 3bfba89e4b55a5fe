"""Decontamination: the n-gram index and its membership pass, the stage on read records, the job block."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from curate.job import JobError, parse_job
from curate.resume import plan_key
from curate.run import PER_RECORD, per_record, settings_of
from curate.stages.contamination import (
    EvalSource,
    build_index,
    index_texts,
    longest_span,
    match,
    window_hashes,
)
from curate.stages.dedup import compact_text
from curate.stages.minhash import shingle_hashes
from curate.stages.ngrams import to_codepoints

# two unrelated passages of 40+ characters (no 13-character window in common)
EVAL_A = "高三后的迷茫，高考前的恐惧，能给我一些建议么？现在的我，感觉就像是从自己出生以来就是多余的"
EVAL_B = "结婚七年，发现老公从未停止和别人暧昧，最近老公和我坦白了，对方怀孕了，要离婚，可是过了两天又说不离婚"
CLEAN = "今天天气很好，我们一起去公园散步，看到了很多美丽的花朵和绿色的树木，心情非常愉快，回家以后还做了晚饭"


def _index(texts: list[str], n: int = 13, names: tuple[str, ...] = ("eval.jsonl",)):
    per_file = [(i, index_texts(pa.array(t), n)) for i, t in enumerate([texts] if len(names) == 1 else [[x] for x in texts])]
    return build_index(per_file, n, [EvalSource(name, name, 1, 1, len(h)) for name, (_, h) in zip(names, per_file, strict=True)])


# ------------------------------------------------------------------------------------------ membership


def test_window_hashes_are_the_full_windows_of_shingle_hashes() -> None:
    batch = to_codepoints(pa.array(["abcdefghijklmnop", "short", "", "0123456789abcd"]))
    h, doc = window_hashes(batch, 13)
    all_h, all_doc = shingle_hashes(batch, 13)
    assert doc.tolist() == [0, 0, 0, 0, 3, 3]  # 16 - 13 + 1 and 14 - 13 + 1 windows; "short" has none
    assert np.array_equal(h, all_h[np.isin(all_doc, [0, 3])])


def test_the_compiled_pass_finds_exactly_the_windows_numpy_finds() -> None:
    index = _index([EVAL_A, EVAL_B])
    texts = pa.array([CLEAN + EVAL_A[5:30] + CLEAN, EVAL_B, CLEAN, EVAL_A[:12], ""])
    m = match(texts, index)
    h, doc = window_hashes(to_codepoints(compact_text(texts)), 13)
    expected = np.bincount(doc[index.contains(h)], minlength=len(texts))
    assert m.hits.tolist() == expected.tolist()
    assert m.hits.tolist() == [25 - 13 + 1, len(EVAL_B) - 12, 0, 0, 0]
    assert m.longest.tolist() == m.hits.tolist()  # each shared part is one run here
    assert m.windows.tolist() == [max(len(t) - 12, 0) for t in texts.to_pylist()]


@pytest.mark.parametrize("stride", [2, 5, 20])
def test_probing_every_stride_th_window_finds_and_measures_every_run_that_long(stride: int) -> None:
    rng = np.random.default_rng(stride)
    index = _index([EVAL_A, EVAL_B])
    pieces = [EVAL_A, EVAL_B, CLEAN]
    texts = []
    for _ in range(300):  # texts of eval and clean pieces of random lengths and places
        parts = []
        for _ in range(rng.integers(1, 5)):
            src = pieces[rng.integers(3)]
            a = int(rng.integers(len(src) - 5))
            parts.append(src[a : a + int(rng.integers(5, len(src) - a + 1))])
        texts.append("".join(parts))
    full, probed = match(pa.array(texts), index), match(pa.array(texts), index, stride=stride)
    long = full.longest >= stride
    assert long.sum() > 30 and (~long).sum() > 30  # both sides of the stride are there
    assert np.array_equal(probed.longest >= stride, long)
    assert np.array_equal(probed.longest[long], full.longest[long])
    assert np.array_equal(probed.start[long], full.start[long])  # the same first longest run
    assert (probed.hits <= full.hits).all()


def test_near_misses_shorter_than_n_do_not_count() -> None:
    index = _index([EVAL_A])
    twelve = EVAL_A[:12]
    m = match(pa.array([CLEAN[:20] + twelve + CLEAN[20:], twelve, EVAL_A[:13], EVAL_A[:13].replace("迷", "谜")]), index)
    assert m.hits.tolist() == [0, 0, 1, 0]  # 12 shared characters: none; a text shorter than n: none; 13: one


def test_case_and_whitespace_do_not_hide_an_overlap() -> None:
    index = _index(["The Quick Brown Fox jumps over the lazy dog 测试"])
    m = match(pa.array(["the quick brown fox JUMPS over the lazy dog 测 试"]), index)
    assert m.hits[0] == m.windows[0] > 0


def test_the_longest_span_names_its_file_and_characters() -> None:
    index = _index([EVAL_A, EVAL_B], names=("a.jsonl", "b.jsonl"))
    text = EVAL_A[:15] + CLEAN + EVAL_B[3:40]
    m = match(pa.array([text, CLEAN]), index)
    span = longest_span(m, 0, index)
    assert span is not None and span.file == "b.jsonl" and span.text == EVAL_B[3:40]
    assert m.longest[0] == 40 - 3 - 12 and m.start[0] == len(EVAL_A[:15] + CLEAN)
    assert m.hits[0] == (15 - 12) + (40 - 3 - 12)  # both shared parts count; the longest names the file
    assert longest_span(m, 1, index) is None


def test_an_empty_index_finds_nothing() -> None:
    index = build_index([], 13, [])
    assert match(pa.array([EVAL_A]), index).hits.tolist() == [0]


# ------------------------------------------------------------------------------------------- the stage


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _records(tmp_path: Path, decontaminate: dict, web: list[str], dialogues: list[list[str]], **job: object) -> pa.Table:
    from curate.io.readers import read_file

    web_file = _write(tmp_path / "web.jsonl", [{"text": t} for t in web])
    dlg_file = _write(tmp_path / "dlg.jsonl", [{"turns": [{"role": "client" if i % 2 == 0 else "counselor", "content": c}
                                                          for i, c in enumerate(d)]} for d in dialogues])
    job = parse_job({"inputs": [{"path": str(web_file), "kind": "web"},
                                {"path": str(dlg_file), "kind": "dialogue"}],
                     "rules": [], "scores": False, "tags": False, "decontaminate": decontaminate, **job}, tmp_path)
    tables = [t for spec in job.inputs for f in spec.files
              for t in read_file(f, spec, rel_name=Path(f).name, max_record_bytes=10**6, chunk_rows=100)]
    return per_record(pa.concat_tables(tables), settings_of(job))


def test_drop_mode_rejects_web_and_dialogue_records_with_file_and_span(tmp_path: Path) -> None:
    _write(tmp_path / "test.jsonl", [{"text": EVAL_A}, {"text": EVAL_B}])
    # a copied turn inside a dialogue; the eval text spread over two turns (no 20 consecutive n-grams in one)
    out = _records(tmp_path, {"against": ["test.jsonl"]},
                   web=[CLEAN, "前言。" + EVAL_A + "后记。"],
                   dialogues=[[CLEAN, EVAL_B, CLEAN], [EVAL_B[:25], EVAL_B[25:]]]).to_pylist()
    reasons = [r["drop_reason"] for r in out]
    assert reasons == [None, "contaminated", "contaminated", None]
    web, dlg = out[1], out[2]
    assert web["contaminated_by"] == dlg["contaminated_by"] == "test.jsonl"
    assert "test.jsonl" in web["drop_detail"] and EVAL_A[:20] in web["drop_detail"]
    assert f"{len(EVAL_B)} characters ({len(EVAL_B) - 12} consecutive 13-grams)" in dlg["drop_detail"]
    assert dlg["contamination"] in dlg["drop_detail"]
    assert out[0]["contaminated_by"] is None and out[3]["contaminated_by"] is None


@pytest.mark.parametrize("pii", ["redact", "off"])
def test_a_reject_quotes_the_text_after_pii_redaction(tmp_path: Path, pii: str) -> None:
    # decontaminate runs after pii: the span in a contaminated reject's detail is the redacted text's, so a
    # phone number the evaluation text shares never reaches the rejects (with pii off the text is as read)
    phone = "13912345678"
    shared = EVAL_A[:30] + f"电话{phone}" + EVAL_A[30:] + EVAL_B
    _write(tmp_path / "test.jsonl", [{"text": shared}])
    out = _records(tmp_path, {"against": ["test.jsonl"], "threshold": 10}, web=[shared], dialogues=[],
                   pii={"mode": pii}).to_pylist()
    assert out[0]["drop_reason"] == "contaminated"
    assert (phone in out[0]["text"]) == (phone in out[0]["drop_detail"]) == (pii == "off")


def test_flag_mode_keeps_and_marks(tmp_path: Path) -> None:
    _write(tmp_path / "test.jsonl", [{"text": EVAL_A}])
    out = _records(tmp_path, {"against": ["test.jsonl"], "mode": "flag"}, web=[EVAL_A, CLEAN], dialogues=[]).to_pylist()
    assert [r["drop_reason"] for r in out] == [None, None]
    assert out[0]["contaminated_by"] == "test.jsonl" and EVAL_A[:20] in out[0]["contamination"]
    assert out[1]["contaminated_by"] is None


def test_the_threshold_counts_consecutive_ngrams_in_one_text(tmp_path: Path) -> None:
    _write(tmp_path / "test.jsonl", [{"text": EVAL_A}])
    five = EVAL_A[:17]  # 17 characters: 5 consecutive 13-grams
    texts = [CLEAN[:10] + five + CLEAN[10:], CLEAN[:10] + EVAL_A[:16] + CLEAN[10:]]
    out = _records(tmp_path, {"against": ["test.jsonl"], "threshold": 5}, web=texts, dialogues=[]).to_pylist()
    assert [r["drop_reason"] for r in out] == ["contaminated", None]


def test_speaker_names_do_not_join_turns_into_ngrams(tmp_path: Path) -> None:
    # the rendered dialogue "client：…\ncounselor：…" holds no evaluation text; each turn is looked at alone
    _write(tmp_path / "test.jsonl", [{"text": EVAL_A[:10] + EVAL_B[:10]}])
    out = _records(tmp_path, {"against": ["test.jsonl"], "threshold": 1}, web=[],
                   dialogues=[[EVAL_A[:10], EVAL_B[:10]]]).to_pylist()
    assert out[0]["drop_reason"] is None


def test_evaluation_files_in_csv_and_a_dialogue_style(tmp_path: Path) -> None:
    (tmp_path / "qa.csv").write_text(f"question,answer\n{EVAL_A},好\n", encoding="utf-8")
    _write(tmp_path / "chat.jsonl", [{"conversations": [{"from": "human", "value": "你好"},
                                                        {"from": "gpt", "value": EVAL_B}]}])
    against = [{"path": "qa.csv", "text_field": "question"}, "chat.jsonl"]  # a mapping; a sniffed sharegpt file
    out = _records(tmp_path, {"against": against}, web=[EVAL_A, EVAL_B, CLEAN], dialogues=[]).to_pylist()
    assert [r["contaminated_by"] for r in out] == ["qa.csv", "chat.jsonl", None]


def test_evaluation_texts_are_normalised_as_records_are(tmp_path: Path) -> None:
    # full-width Latin letters and digits in the test set; NFKC makes both sides the same
    wide = "ＡＢＣＤ１２３４５６７８９０测试文本"
    _write(tmp_path / "test.jsonl", [{"text": wide}])
    out = _records(tmp_path, {"against": ["test.jsonl"], "threshold": 1}, web=["abcd1234567890测试文本"], dialogues=[])
    assert out.column("drop_reason").to_pylist() == ["contaminated"]


def test_prepare_runs_once_for_the_phase_and_builds_the_index(tmp_path: Path) -> None:
    _write(tmp_path / "test.jsonl", [{"text": EVAL_A}, {"text": "x"}])
    _write(tmp_path / "in.jsonl", [{"text": CLEAN}])
    job = parse_job({"inputs": [{"path": "in.jsonl"}], "scores": False, "tags": False,
                     "decontaminate": {"against": "test.jsonl"}}, tmp_path)
    settings = PER_RECORD.prepare(settings_of(job))
    index = settings.eval_index
    assert index is not None and len(index) == len(EVAL_A) - 12
    assert [(s.name, s.records, s.texts) for s in index.sources] == [("test.jsonl", 2, 2)]
    assert settings_of(job).eval_index is None  # the job's settings stay light: the index is the phase's


# ------------------------------------------------------------------------------------------- the job block


def _job(tmp_path: Path, block: object) -> object:
    _write(tmp_path / "in.jsonl", [{"text": CLEAN}])
    _write(tmp_path / "test.jsonl", [{"text": EVAL_A}])
    return parse_job({"inputs": [{"path": "in.jsonl"}], "scores": False, "tags": False, "decontaminate": block},
                     tmp_path)


def test_defaults_and_a_plain_path(tmp_path: Path) -> None:
    spec = _job(tmp_path, {"against": ["test.jsonl"]}).decontaminate
    assert (spec.ngram, spec.threshold, spec.mode) == (13, 20, "drop")
    assert spec.against[0].kind == "web" and spec.against[0].files == [str((tmp_path / "test.jsonl").resolve())]
    assert _job(tmp_path, None).decontaminate is None


def test_a_plain_dialogue_file_is_read_by_its_style(tmp_path: Path) -> None:
    _write(tmp_path / "dev.jsonl", [{"messages": [{"role": "user", "content": "你好"}]}])
    spec = _job(tmp_path, {"against": ["dev.jsonl"]}).decontaminate
    assert spec.against[0].kind == "dialogue" and spec.against[0].dialogue.style == "messages"


@pytest.mark.parametrize(("block", "message"), [
    ({}, r"decontaminate.against: a list of evaluation files"),
    ({"against": []}, r"decontaminate.against: a list"),
    ({"against": ["missing.jsonl"]}, r"decontaminate.against\[0\].path: no input files match"),
    ({"against": [3]}, r"decontaminate.against\[0\]: expected a path or an input mapping"),
    ({"against": [{"path": "test.jsonl", "kind": "tv"}]}, r"decontaminate.against\[0\].kind: 'tv' is not one of"),
    ({"against": ["test.jsonl"], "mode": "mark"}, r"decontaminate.mode: 'mark' is not one of \['drop', 'flag'\]"),
    ({"against": ["test.jsonl"], "threshold": 0.5}, r"decontaminate.threshold: expected a positive integer"),
    ({"against": ["test.jsonl"], "ngram": 0}, r"decontaminate.ngram: expected a positive integer"),
    ({"against": ["test.jsonl"], "n": 13}, r"decontaminate: unknown key\(s\) \['n'\]"),
    ({"against": ["in.jsonl"]}, r"decontaminate.against\[0\]: .*in.jsonl is an input of this job \('in'\)"),
])
def test_errors_name_the_key(tmp_path: Path, block: dict, message: str) -> None:
    with pytest.raises(JobError, match=message):
        _job(tmp_path, block)


def test_an_evaluation_file_without_readable_records_is_a_configuration_error(tmp_path: Path) -> None:
    _write(tmp_path / "dev.jsonl", [{"question": EVAL_A}])  # no `text`, and no turn list to sniff
    job = _job(tmp_path, {"against": ["dev.jsonl"]})
    with pytest.raises(JobError, match=r"dev.jsonl: no record could be read as web"):
        PER_RECORD.prepare(settings_of(job))


def test_a_changed_evaluation_file_changes_the_plan_key(tmp_path: Path) -> None:
    # a resumed run must not reuse decisions made against another version of the evaluation set
    job = _job(tmp_path, {"against": ["test.jsonl"]})
    before = plan_key(job, None)
    _write(tmp_path / "test.jsonl", [{"text": EVAL_A}, {"text": EVAL_B}])
    assert plan_key(job, None) != before
    assert "against" not in plan_key(replace(job, decontaminate=None), None)
