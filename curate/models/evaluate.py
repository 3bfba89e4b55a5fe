"""`curate eval TASK`: a model card's model against a labelled file (or the task's valid split) → metrics table.

Labelled files, by extension:
- `.txt`: fastText format, `__label__A [__label__B ...] text` (ChineseWebText 2.0's domain test file);
- `.jsonl`: one object per line, text in `text` (or `raw_content`), labels in `label` / `labels`;
- `.csv`: text in `TEXT` / `text` / `Utterance`, label in `label` (COLD);
- `PATH=LABEL` gives every row of PATH that label (ChineseWebText's clean/dirty quality examples).
- `.tsv`: `label<TAB>text` after a header line (SMP2020-EWECT, ChnSentiCorp), labels through `--map NAME`
  (the card's `label_maps[NAME]`, e.g. EWECT's digits);
- a CPED-style `.csv` (`Dialogue_ID`, `Speaker`, `Utterance`): labels from `--column` (`Emotion`, `Sentiment`,
  `DA`), each turn with the context the card's model reads (previous turns, or the same speaker's others);
- a gold file of turn references (`classifiers/annotations/*-hand-labels.jsonl`), resolved against the data
  root; `--part select|test` picks a part;
- a gold file of whole-dialogue labels (`emotion-record-labels.jsonl`, `curate.record_gold`): the dialogues go
  through the reader, the per_record stages and the tag stage, and the record-level emotion is compared
  (`curate.models.record_eval`); `--part select|test` picks a part;
- a gold file of web-document references (`web-hand-labels.jsonl`): labels from `--column` `domains` (every
  domain that applies, primary first: the default for domain), `domain` (primary only) or `quality` (the
  reader's low / medium / high: the default for quality, reported as a graded view of the score).
Label spellings of the source (COLD's 0/1) are mapped through the card's `label_values`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curate.annotations import (
    EMOLLM,
    QUALITY_LEVELS,
    SMILECHAT,
    is_document_reference_file,
    is_record_reference_file,
    is_reference_file,
    read_gold_documents,
    read_gold_turns,
)
from curate.assets import resolve_asset
from curate.models.card import ModelCard, read_card
from curate.models.classifier import load_classifier
from curate.models.examples import Example
from curate.models.metrics import (
    abstention_view,
    first_label_accuracy,
    graded_view,
    group_view,
    predicted_share,
    report,
    top_without_gold,
)
from curate.schema import label_map

TEXT_FIELDS = ("text", "TEXT", "raw_content", "Utterance")
DOCUMENT_COLUMNS = ("domains", "domain", "quality")  # label columns of a web-document gold file
DEFAULT_DOCUMENT_COLUMN = {"quality": "quality"}  # per task; else `domains`


def _labels(value: Any, label_values: dict[str, str], where: str) -> tuple[str, ...]:
    raw = value if isinstance(value, list) else [value]
    if not raw or raw == [None] or raw == [""]:
        raise ValueError(f"{where}: no label")
    return tuple(label_values.get(str(v).strip(), str(v).strip()) for v in raw)


def read_labelled(path: str | Path, label_values: dict[str, str] | None = None, label: str | None = None,
                  *, column: str | None = None, context_of: str = "previous", part: str | None = None,
                  data_root: Path | None = None) -> list[Example]:
    """Examples from a labelled file (see the module docstring); errors name the file and line."""
    path = Path(path)
    label_values = label_values or {}
    out: list[Example] = []
    if not path.is_file():
        raise FileNotFoundError(f"{path}: labelled file not found")
    if path.suffix == ".tsv":
        from curate.models.training_data.affect_written import read_tsv

        if not label_values:
            raise ValueError(f"{path}: a .tsv's labels need a mapping: --map NAME (one of the card's label_maps)")
        return read_tsv(path, label_values)
    if is_document_reference_file(path):
        from curate.assets import data_root as default_data_root

        col = column or "domains"
        if col not in DOCUMENT_COLUMNS:
            raise ValueError(f"{path}: --column for a web-document gold file is one of {DOCUMENT_COLUMNS}, not {col!r}")
        docs = read_gold_documents(path, data_root or default_data_root())
        return [Example(d.domains if col == "domains" else ((d.domain,) if col == "domain" else (d.quality,)), d.text)
                for d in docs if part is None or d.part == part]
    if is_reference_file(path):
        from curate.assets import data_root as default_data_root

        # gold references may name SMILECHAT or EmoLLM dialogues (the risk labels do)
        turns = read_gold_turns(path, data_root or default_data_root(), sources=(SMILECHAT, EMOLLM))
        return [Example((label_values.get(t.label, t.label),), t.text) for t in turns if part is None or t.part == part]
    if path.suffix == ".csv" and column:
        from curate.models.training_data import cped

        with path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), [])
        if column not in header:
            raise ValueError(f"{path}: no column {column!r}; columns are {header}")
        examples = cped.turn_examples(cped.read_dialogues(path, (column,)), lambda t: t.labels[column], context_of)
        return [Example((label_values.get(ex.labels[0], ex.labels[0]),), ex.text, ex.context) for ex in examples]
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            field = next((c for c in TEXT_FIELDS if c in (reader.fieldnames or [])), None)
            if field is None:
                raise ValueError(f"{path}: no text column (one of {TEXT_FIELDS}); columns are {reader.fieldnames}")
            if not label and "label" not in (reader.fieldnames or []):
                raise ValueError(f"{path}: no `label` column; name the label column with --column (columns are "
                                 f"{reader.fieldnames}), or label every row with --data FILE=LABEL")
            for n, row in enumerate(reader, start=2):
                labs = (label,) if label else _labels(row.get("label"), label_values, f"{path}:{n}")
                out.append(Example(labs, row[field] or ""))
        return out
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            if path.suffix == ".txt":
                tokens = line.split()
                labs = tuple(t.removeprefix("__label__") for t in tokens if t.startswith("__label__"))
                text = " ".join(t for t in tokens if not t.startswith("__label__"))
                out.append(Example((label,) if label else _labels(list(labs), label_values, where), text))
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: not valid JSON: {e.msg}") from None
            text = next((obj[c] for c in TEXT_FIELDS if isinstance(obj.get(c), str)), None)
            if text is None:
                raise ValueError(f"{where}: no text field (one of {TEXT_FIELDS})")
            labs = (label,) if label else _labels(obj.get("labels", obj.get("label")), label_values, where)
            out.append(Example(labs, text))
    return out


def parse_data_spec(spec: str) -> tuple[str, str | None]:
    """`PATH` or `PATH=LABEL` → (path, label or None)."""
    path, sep, label = spec.rpartition("=") if "=" in spec and not Path(spec).exists() else (spec, "", "")
    return (path, label or None) if sep else (spec, None)


# label maps of files whose text is web text (EWECT: Weibo posts; ChnSentiCorp: online reviews): such a file
# is evaluated with the task's web-register card when one is shipped, as the pipeline reads web records with it
WEB_LABEL_MAPS = frozenset({"ewect", "chnsenticorp"})


def is_cped_csv(path: str | Path) -> bool:
    """Whether `path` is a CPED-style CSV: its header has the columns the `csv` dialogue style reads by default
    (a dialogue, a speaker and an utterance per row)."""
    from curate.job import STYLE_DEFAULTS

    path = Path(path)
    if path.suffix != ".csv" or not path.is_file():
        return False
    with path.open(encoding="utf-8", newline="") as f:
        return set(next(csv.reader(f), [])) >= set(STYLE_DEFAULTS["csv"].values())


def default_card(task: str, label_map_name: str | None = None, spoken: bool = False) -> Path:
    """The shipped card of TASK: `classifiers/TASK.yaml`; for a file read through a web-text label map
    (`WEB_LABEL_MAPS`), the web-register card `classifiers/TASK-web.yaml` where there is one; for `spoken`
    data (CPED-style utterances, which the pipeline tags as role `other` turns), the spoken-register card
    `classifiers/TASK-spoken.yaml` where there is one. So `curate eval` measures the card a run would use."""
    register = "web" if label_map_name in WEB_LABEL_MAPS else ("spoken" if spoken else None)
    if register:
        try:
            return resolve_asset(f"{task}-{register}.yaml", "classifiers")
        except FileNotFoundError:
            pass
    return resolve_asset(f"{task}.yaml", "classifiers")


def _card_config(card: ModelCard) -> Path | None:
    """The training config the card was trained from (`training.config`, `classifiers/train/NAME.yaml`), where
    the checkout has it: a card of another register (emotion-web) has its own valid split."""
    name = str((card.training or {}).get("config") or "")
    try:
        return resolve_asset(Path(name).relative_to("classifiers"), "classifiers") if name else None
    except (FileNotFoundError, ValueError):
        return None


def evaluate(card: ModelCard, examples: Sequence[Example]) -> dict[str, Any]:
    """Run the card's model over the examples and compute the report (threshold from the card), with the
    coarse six-way view for emotion, label shares, and what the card's `min_confidence` emits."""
    unknown = {lab for ex in examples for lab in ex.labels} - set(card.labels)
    if card.positive and unknown and {lab for ex in examples for lab in ex.labels} <= set(QUALITY_LEVELS):
        # a reader's graded levels (low / medium / high) for a binary score: how the score orders them
        scores = load_classifier(card).score([ex.text for ex in examples])
        return {"graded": graded_view(scores, [ex.labels[0] for ex in examples], QUALITY_LEVELS)}
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among the model's {card.labels} "
                         f"(map them with the card's label_values, --map NAME or PATH=LABEL)")
    proba = load_classifier(card).predict_examples(examples)
    gold = [ex.labels for ex in examples]
    rep = report(card.labels, gold, proba, multi_label=card.multi_label, threshold=card.threshold or 0.5)
    if card.multi_label:
        return {**rep, "first_label": first_label_accuracy(card.labels, gold, proba),
                "top_without_gold": top_without_gold(card.labels, gold, proba)}
    present = {lab for g in gold for lab in g}
    if len(present) == 2 < len(card.labels):
        # a two-class file (positive/negative reviews) for a model with more labels: also the accuracy with
        # the arg-max over those two
        cols = [card.labels.index(lab) for lab in card.labels if lab in present]
        sub = proba[:, cols]
        names = [card.labels[c] for c in cols]
        rep["two_class_accuracy"] = round(float(np.mean([names[i] in g for i, g in zip(sub.argmax(1), gold, strict=True)])), 4)
    groups = label_map(f"{card.task}_coarse")
    if groups:
        rep["groups"] = {"name": f"{card.task} six-way", **group_view(card.labels, gold, proba, groups)}
    rep["share"] = predicted_share(card.labels, gold, proba)
    if card.min_confidence:
        rep["abstention"] = abstention_view(card.labels, gold, proba, card.min_confidence, groups or None)
    return rep


def _label_map(card: ModelCard, name: str | None) -> dict[str, str] | None:
    """The card's label map `name` (None without one); an error names the maps the card has."""
    if not name:
        return None
    if name not in card.label_maps:
        raise ValueError(f"{card.path}: no label map {name!r}; the card has {sorted(card.label_maps)}")
    return card.label_maps[name]


def eval_task(task: str, data: Sequence[str] = (), *, card: str | Path | None = None, config: str | Path | None = None,
              data_root: str | Path | None = None, label_map_name: str | None = None, column: str | None = None,
              part: str | None = None) -> tuple[dict[str, Any], str]:
    """Evaluate TASK's model on labelled files, or with none on the valid split its training config builds.

    `data_root` (default `curate.assets.data_root()`) is where the valid split and gold turn references
    are read from. Returns the report and a one-line description of what was evaluated.
    """
    from curate.assets import data_root as default_data_root

    root = Path(data_root).resolve() if data_root else default_data_root()
    spoken = bool(data) and all(is_cped_csv(parse_data_spec(s)[0]) for s in data)
    model_card = read_card(card or default_card(task, label_map_name if data else None, spoken))
    if model_card.task != task:
        raise ValueError(f"{model_card.path}: the card is for task {model_card.task!r}, not {task!r}")
    if data and any(is_record_reference_file(Path(parse_data_spec(s)[0])) for s in data):
        from curate.models.record_eval import evaluate_records

        if len(data) > 1:
            raise ValueError(f"{', '.join(data)}: a whole-dialogue gold file is evaluated alone (one --data)")
        what = f"{data[0]} (records{f', part {part}' if part else ''}), card {model_card.path.name}"
        return evaluate_records(model_card, Path(data[0]), root, part, _label_map(model_card, label_map_name)), what
    if data:
        examples: list[Example] = []
        values = _label_map(model_card, label_map_name) or dict(model_card.label_values)
        context_of = str(model_card.features.get("context_of", "previous"))
        for spec in data:
            path, label = parse_data_spec(spec)
            col = column
            if col is None and is_document_reference_file(Path(path)):
                col = DEFAULT_DOCUMENT_COLUMN.get(task, "domains")
            examples += read_labelled(path, values, label, column=col, context_of=context_of, part=part,
                                      data_root=root)
        what = ", ".join(data) + (f" (part {part})" if part else "") + f", card {model_card.path.name}"
    else:
        from curate.models.train import build_splits, load_train_config

        if not root.is_dir():
            from curate.assets import missing_data_message

            raise FileNotFoundError(missing_data_message(root))
        cfg = load_train_config(task, config or _card_config(model_card))
        examples = build_splits(cfg, root).valid
        what = f"valid split of {cfg.path.name}, card {model_card.path.name}"
    return evaluate(model_card, examples), what
