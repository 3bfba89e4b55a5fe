"""The record-level (whole-dialogue) emotion gold: its references resolve, its labels are in the label set, it
holds no text, and it shares no dialogue with the turn gold whose select turns trained the model."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from curate.annotations import read_rows, seeker_sha12
from curate.models.metrics import cohen_kappa
from curate.record_gold import problems
from curate.schema import label_set

GOLD = Path("classifiers") / "annotations" / "emotion-record-labels.jsonl"
TURN_GOLD = Path("classifiers") / "annotations" / "emotion-hand-labels.jsonl"
# a blind second reading of GOLD's test part (experiments/record_agreement.py compares the two)
SECOND = Path("classifiers") / "annotations" / "emotion-record-labels-second.jsonl"
# any CJK character: notes are English paraphrase, never a quote
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _sampler(repo: Path):
    spec = importlib.util.spec_from_file_location("emotion_record_sample", repo / "annotate" / "emotion_record_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gold_file_holds_no_text_and_valid_labels(repo: Path) -> None:
    text = (repo / GOLD).read_text(encoding="utf-8")
    assert not CJK.search(text)
    rows = read_rows(repo / GOLD)
    assert len(rows) >= 240
    labels = set(label_set("emotion"))
    sampler = _sampler(repo)
    for r in rows:
        assert set(r) == {"dialogue_id", "sha1", "label", "part", "note"}, r["dialogue_id"]
        assert r["label"] in labels and r["part"] == sampler.part_of(r["dialogue_id"])
        assert r["note"]
    assert not {r["dialogue_id"] for r in rows} & {r["dialogue_id"] for r in read_rows(repo / TURN_GOLD)}


@pytest.mark.data
def test_every_reference_resolves(repo: Path, shared_data: Path) -> None:
    from curate.annotations import SMILECHAT, load_dialogues

    dialogues = load_dialogues(shared_data, (SMILECHAT,))
    assert problems(read_rows(repo / GOLD), dialogues, set(label_set("emotion")), _sampler(repo).part_of) == []


def test_second_reading_holds_no_text_and_reads_exactly_the_test_part(repo: Path) -> None:
    assert not CJK.search((repo / SECOND).read_text(encoding="utf-8"))
    rows = read_rows(repo / SECOND)
    labels = set(label_set("emotion"))
    for r in rows:
        assert set(r) == {"dialogue_id", "sha1", "label", "part", "note"}, r["dialogue_id"]
        assert r["label"] in labels and r["part"] == "test" and r["note"]
    first = {r["dialogue_id"]: r["sha1"] for r in read_rows(repo / GOLD) if r["part"] == "test"}
    # the same dialogues as the first reading's test part, with the same seeker text
    assert {r["dialogue_id"]: r["sha1"] for r in rows} == first


@pytest.mark.data
def test_every_second_reference_resolves(repo: Path, shared_data: Path) -> None:
    from curate.annotations import SMILECHAT, load_dialogues

    dialogues = load_dialogues(shared_data, (SMILECHAT,))
    assert problems(read_rows(repo / SECOND), dialogues, set(label_set("emotion")), _sampler(repo).part_of) == []


def test_cohen_kappa() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0
    # observed 0.5, chance 0.5 (each reader half a, half b): no better than chance
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    # observed 0.75, chance (3*2 + 1*2) / 16 = 0.5 -> 0.5
    assert cohen_kappa(["a", "a", "a", "b"], ["a", "a", "b", "b"]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        cohen_kappa(["a"], [])


def test_problems_names_each_fault() -> None:
    turns = [{"role": "client", "content": "a"}, {"role": "counselor", "content": "b"}, {"role": "client", "content": "c"}]
    dialogues = {"smilechat-1": turns}
    good = {"dialogue_id": "smilechat-1", "sha1": seeker_sha12(turns), "label": "worried", "part": "test"}
    assert seeker_sha12(turns) == seeker_sha12([turns[0], {"role": "counselor", "content": "changed"}, turns[2]])
    assert problems([good], dialogues, {"worried"}) == []
    found = problems([good, {**good, "sha1": "0" * 12, "label": "x", "part": "train"},
                      {**good, "dialogue_id": "smilechat-2"}], dialogues, {"worried"})
    assert any("line 2: sha1 mismatch" in f for f in found)
    assert any("line 2: label 'x'" in f for f in found)
    assert any("line 2: part 'train'" in f for f in found)
    assert any("line 2: duplicate" in f for f in found)
    assert "line 3: no dialogue 'smilechat-2'" in found


# the later batches: fresh samples, all `test`, each labelled after the one before it had been read
LATER = {2: Path("classifiers") / "annotations" / "emotion-record-labels-2.jsonl",
         3: Path("classifiers") / "annotations" / "emotion-record-labels-3.jsonl",
         4: Path("classifiers") / "annotations" / "emotion-record-labels-4.jsonl",
         5: Path("classifiers") / "annotations" / "emotion-record-labels-5.jsonl"}


@pytest.mark.data
@pytest.mark.parametrize("batch", sorted(LATER))
def test_a_later_batch_is_its_sample_and_resolves(repo: Path, shared_data: Path, batch: int) -> None:
    from curate.annotations import SMILECHAT, load_dialogues

    sampler = _sampler(repo)
    dialogues = load_dialogues(shared_data, (SMILECHAT,))
    rows = read_rows(repo / LATER[batch])
    assert problems(rows, dialogues, set(label_set("emotion")), sampler.part_of_later) == []
    excluded = {r["dialogue_id"] for r in read_rows(repo / TURN_GOLD)}
    drawn = sampler.sample_batch(dialogues, excluded, batch)
    assert {r["dialogue_id"] for r in rows} <= set(drawn)
    for earlier in range(1, batch):
        assert not set(drawn) & set(sampler.sample_batch(dialogues, excluded, earlier))


EMOLLM_GOLD = {1: Path("classifiers") / "annotations" / "emotion-record-labels-emollm.jsonl",
               2: Path("classifiers") / "annotations" / "emotion-record-labels-emollm-2.jsonl"}


# every fresh all-test file, by corpus and batch
FRESH = {**{f"smilechat-{b}": path for b, path in LATER.items()}, **{f"emollm-{b}": path for b, path in EMOLLM_GOLD.items()}}


@pytest.mark.parametrize("name", sorted(FRESH))
def test_a_fresh_file_holds_no_text_is_all_test_and_shares_no_dialogue(repo: Path, name: str) -> None:
    assert not CJK.search((repo / FRESH[name]).read_text(encoding="utf-8"))
    rows = read_rows(repo / FRESH[name])
    assert len(rows) >= 100
    labels = set(label_set("emotion"))
    for r in rows:
        assert set(r) == {"dialogue_id", "sha1", "label", "part", "note"}, r["dialogue_id"]
        assert r["dialogue_id"].startswith(name.split("-")[0] + "-"), r["dialogue_id"]
        assert r["label"] in labels and r["part"] == "test" and r["note"]
    ids = {r["dialogue_id"] for r in rows}
    assert len(ids) == len(rows)
    for other in [GOLD, TURN_GOLD, *(path for n, path in FRESH.items() if n != name)]:
        assert not ids & {r["dialogue_id"] for r in read_rows(repo / other)}, other


@pytest.mark.data
@pytest.mark.parametrize("batch", sorted(EMOLLM_GOLD))
def test_an_emollm_sample_is_its_sample_and_resolves(repo: Path, shared_data: Path, batch: int) -> None:
    from curate.annotations import EMOLLM, load_dialogues

    sampler = _sampler(repo)
    dialogues = load_dialogues(shared_data, (EMOLLM,))
    rows = read_rows(repo / EMOLLM_GOLD[batch])
    assert problems(rows, dialogues, set(label_set("emotion")), sampler.part_of_later) == []
    assert [r["dialogue_id"] for r in rows] == sampler.emollm_batch(dialogues, batch)[:len(rows)]
