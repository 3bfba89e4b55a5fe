"""One rendering of a dialogue for training and for scoring: `curate.render` is what the pipeline's
normalize stage renders, and the training-data builders' dialogue texts are the records' `text`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from curate.io.readers import read_file
from curate.job import Job, parse_job
from curate.models.training_data import domain, esc_relevance, quality
from curate.render import SPEAKER_SEPARATOR, TURN_SEPARATOR, render_dialogue, render_turn, xtuner_turns
from curate.stages.normalize import normalize, normalize_texts
from tests.unit.test_normalize import dialogue_row, normalize_rows, turn

REPO = Path(__file__).resolve().parents[2]


def test_render_dialogue_is_speaker_lines():
    assert SPEAKER_SEPARATOR == "：" and TURN_SEPARATOR == "\n"
    assert render_dialogue([("client", "我很难过"), ("counselor", "发生什么了？")]) == "client：我很难过\ncounselor：发生什么了？"
    assert render_turn(None, "嗯") == "：嗯" and render_turn("A", None) == "A："
    assert render_dialogue([]) == ""


def test_render_dialogue_equals_the_normalize_stage_rendering():
    dialogues = [
        [("client", "你好"), ("counselor", "你好，请说"), ("client", "我睡不着")],
        [(None, "无名"), ("A", None), ("B", "")],
        [("于春晓", "怎么了")],
        [],
    ]
    rows = [dialogue_row([turn(s, t) for s, t in d], id=f"d{i}") for i, d in enumerate(dialogues)]
    assert [r["text"] for r in normalize_rows(rows)] == [render_dialogue(d) for d in dialogues]


def test_xtuner_turns_are_the_readers_turns():
    conversation = [{"system": "你是心理咨询师", "input": "我很焦虑", "output": "慢慢说"},
                    {"system": "", "input": "睡不着", "output": "多久了？"}, {"input": "一个月", "output": "嗯"}]
    assert xtuner_turns(conversation) == [("system", "你是心理咨询师"), ("input", "我很焦虑"), ("output", "慢慢说"),
                                          ("input", "睡不着"), ("output", "多久了？"), ("input", "一个月"),
                                          ("output", "嗯")]


# ------------------------------------------------------------------------ real data, through the pipeline
# `dataset_root`: the committed fixtures, and the full datasets where they are present (tests/conftest.py).


def _job(inp: dict, tmp_path: Path) -> Job:
    return parse_job({"name": "render", "inputs": [inp], "output": str(tmp_path / "out")}, tmp_path)


def _pipeline_records(job: Job) -> tuple[list[str], list[str]]:
    """(ids, texts) of the job's one input file, read and normalised by the pipeline's own stage functions."""
    spec = job.inputs[0]
    (path,) = spec.files
    ids: list[str] = []
    texts: list[str] = []
    for table in read_file(path, spec, rel_name=Path(path).name, max_record_bytes=job.max_record_bytes,
                           chunk_rows=job.shard_rows):
        table = normalize(table, job.normalize)
        assert table.column("drop_reason").null_count == table.num_rows, "every dialogue is read"
        ids += table.column("id").to_pylist()
        texts += table.column("text").to_pylist()
    return ids, texts


def _normalised(job: Job, texts: list[str]) -> list[str]:
    """The builders' texts after the pipeline's normalisation (the job's), which training leaves out."""
    return normalize_texts(pl.Series(texts, dtype=pl.String), job.normalize)[0].to_list()


def _first_difference(got: list[str], want: list[str]) -> str:
    i = next((i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b), None)
    return "" if i is None else f"record {i}: builder {got[i][:200]!r} != pipeline {want[i][:200]!r}"


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_smilechat_training_text_is_the_text_the_pipeline_scores(dataset_root, tmp_path):
    """A SMILECHAT record's `text` (the job's reader and normalize stage) is each builder's training text
    of that dialogue, for every dialogue of the file."""
    doc = yaml.safe_load((REPO / "jobs" / "shared-sample.yaml").read_text(encoding="utf-8"))
    inp = next(dict(i) for i in doc["inputs"] if i["name"] == "smilechat")  # roles: client/counselor
    path = dataset_root / "smilechat" / "dialogues.jsonl"
    inp["path"] = str(path)
    job = _job(inp, tmp_path)
    ids, texts = _pipeline_records(job)
    raw = _json_lines(path)
    assert len(ids) == len(raw) >= 100 and texts[0].startswith("client：高三后的迷茫")
    assert ids == [r["id"] for r in raw]

    quality_by_id = {key.removeprefix("smilechat:"): text for key, text in quality.smilechat_texts(path)}
    domain_by_id = dict(domain.smilechat_texts(path))
    assert [i for i, _ in esc_relevance.smilechat_texts(path)] == ids  # one ESC `dialogue` unit per dialogue, in order
    built = {
        "quality": [quality_by_id[i] for i in ids],
        "domain": [domain_by_id[i] for i in ids],
        "esc_relevance": [u.text for u in esc_relevance.support_units(
            "smilechat", esc_relevance.smilechat_texts(path), {"units": ["dialogue"]}, {})],
    }
    for task, texts_built in built.items():
        got = _normalised(job, texts_built)
        assert got == texts, f"{task}: {_first_difference(got, texts)}"


def test_emollm_training_text_is_the_text_the_pipeline_scores(dataset_root, tmp_path):
    """EmoLLM read as xtuner (system, input, output turns): the builders render what the pipeline scores.
    The ESC builder also collapses the line breaks inside a turn, which its chars features never see."""
    path = dataset_root / "emollm" / "data.json"
    job = _job({"name": "emollm", "path": str(path), "kind": "dialogue", "dialogue": {"style": "xtuner"}}, tmp_path)
    _, texts = _pipeline_records(job)
    n = len(json.loads(path.read_text(encoding="utf-8")))
    assert len(texts) == n >= 40 and texts[0].startswith("system：现在你是一个心理专家")
    for task, built in (("quality", quality.emollm_texts(path)), ("domain", domain.emollm_texts(path))):
        got = _normalised(job, [t for _, t in built])
        assert got == texts, f"{task}: {_first_difference(got, texts)}"
    esc = _normalised(job, [u.text for u in esc_relevance.support_units(
        "emollm", esc_relevance.emollm_texts(path), {"units": ["dialogue"]}, {})])
    assert ["".join(t.split()) for t in esc] == ["".join(t.split()) for t in texts]


@pytest.mark.parametrize("task", [quality, domain])
def test_cped_scenes_render_with_their_speakers(task, dataset_root):
    path = dataset_root / "cped" / "train.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for _, r in zip(range(2), csv.DictReader(f), strict=False)]
    assert rows[0]["Dialogue_ID"] == rows[1]["Dialogue_ID"]
    key, text = next(iter(task.cped_texts(path)))
    assert key == f"cped:{rows[0]['Dialogue_ID']}"
    assert text.split(TURN_SEPARATOR)[:2] == [f"{r['Speaker']}：{r['Utterance']}" for r in rows]


def test_qa_thread_view_is_the_first_question_and_answer_on_one_line(dataset_root):
    """The domain builder's Q&A-page view: the first seeker turn, then the first supporter reply after it, with
    no speaker names and no line breaks (a web Q&A page, not a record rendering)."""
    path = dataset_root / "smilechat" / "dialogues.jsonl"
    raw = {r["id"]: r for r in _json_lines(path)}
    views = dict(domain.smilechat_qa(path))
    assert len(views) >= 100 and set(views) <= set(raw)
    for key, text in list(views.items())[:50]:
        turns = raw[key]["turns"]
        q = next(i for i, t in enumerate(turns) if t["role"] == "client")
        a = next(i for i, t in enumerate(turns) if t["role"] == "counselor" and i > q)
        assert text == " ".join(f"{turns[q]['content']} {turns[a]['content']}".split())
        assert "\n" not in text and not text.startswith("client：")
    first = json.loads((dataset_root / "emollm" / "data.json").read_text(encoding="utf-8"))[0]["conversation"][0]
    assert next(iter(domain.emollm_qa(dataset_root / "emollm" / "data.json")))[1] == \
        " ".join(f"{first['input']} {first['output']}".split())
