"""`curate eval TASK`: a model card's model against a labelled file (or the task's valid split) → metrics table.

Labelled files, by extension:
- `.txt`: fastText format, `__label__A [__label__B ...] text` (ChineseWebText 2.0's domain test file);
- `.jsonl`: one object per line, text in `text` (or `raw_content`), labels in `label` / `labels`;
- `.csv`: text in `TEXT` / `text` / `Utterance`, label in `label` (COLD);
- `PATH=LABEL` gives every row of PATH that label (ChineseWebText's clean/dirty quality examples).
Label spellings of the source (COLD's 0/1) are mapped through the card's `label_values`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curate.assets import resolve_asset
from curate.models.card import ModelCard, read_card
from curate.models.classifier import load_classifier
from curate.models.examples import Example
from curate.models.metrics import report

TEXT_FIELDS = ("text", "TEXT", "raw_content", "Utterance")


def _labels(value: Any, label_values: dict[str, str], where: str) -> tuple[str, ...]:
    raw = value if isinstance(value, list) else [value]
    if not raw or raw == [None] or raw == [""]:
        raise ValueError(f"{where}: no label")
    return tuple(label_values.get(str(v).strip(), str(v).strip()) for v in raw)


def read_labelled(path: str | Path, label_values: dict[str, str] | None = None, label: str | None = None) -> list[Example]:
    """Examples from a labelled file (see the module docstring); errors name the file and line."""
    path = Path(path)
    label_values = label_values or {}
    out: list[Example] = []
    if not path.is_file():
        raise FileNotFoundError(f"{path}: labelled file not found")
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            field = next((c for c in TEXT_FIELDS if c in (reader.fieldnames or [])), None)
            if field is None:
                raise ValueError(f"{path}: no text column (one of {TEXT_FIELDS}); columns are {reader.fieldnames}")
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


def default_card(task: str) -> Path:
    """The shipped card of TASK: `classifiers/TASK.yaml`."""
    return resolve_asset(f"{task}.yaml", "classifiers")


def evaluate(card: ModelCard, examples: Sequence[Example]) -> dict[str, Any]:
    """Run the card's model over the examples and compute the report (threshold from the card)."""
    unknown = {lab for ex in examples for lab in ex.labels} - set(card.labels)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among the model's {card.labels} "
                         f"(map them with the card's label_values or PATH=LABEL)")
    proba = load_classifier(card).predict_examples(examples)
    return report(card.labels, [ex.labels for ex in examples], proba, multi_label=card.multi_label,
                  threshold=card.threshold or 0.5)


def eval_task(task: str, data: Sequence[str] = (), *, card: str | Path | None = None, config: str | Path | None = None,
              data_root: str | Path = "../shared/data") -> tuple[dict[str, Any], str]:
    """Evaluate TASK's model on labelled files, or with none on the valid split its training config builds.

    Returns the report and a one-line description of what was evaluated.
    """
    model_card = read_card(card or default_card(task))
    if model_card.task != task:
        raise ValueError(f"{model_card.path}: the card is for task {model_card.task!r}, not {task!r}")
    if data:
        examples: list[Example] = []
        for spec in data:
            path, label = parse_data_spec(spec)
            examples += read_labelled(path, model_card.label_values, label)
        what = ", ".join(data)
    else:
        from curate.models.train import build_splits, load_train_config

        examples = build_splits(load_train_config(task, config), Path(data_root).resolve()).valid
        what = f"valid split of {task}'s training config"
    return evaluate(model_card, examples), what
