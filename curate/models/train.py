"""`curate train TASK`: build the task's examples, train fastText, quantise, calibrate, evaluate, write the card.

Reproducible: one training thread, a fixed seed, examples in builder order, quantisation with one
thread; the same checkout and data give the same `.ftz` bytes and the same card metrics.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import shlex
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from curate.assets import SHARED_DATA, asset_dir, missing_data_message, resolve_asset
from curate.assets import data_root as default_data_root
from curate.models.calibration import fit_platt, log_length
from curate.models.card import ModelCard, write_card
from curate.models.classifier import Classifier
from curate.models.examples import Example, Splits, in_valid
from curate.models.fasttext_backend import ft_label
from curate.models.fasttext_train import train_fasttext
from curate.models.features import DEFAULT_MAX_CHARS, featurize_with_context
from curate.models.metrics import reliability, report

log = logging.getLogger("curate")
DEFAULT_DATA_ROOT = SHARED_DATA  # kept for callers that import it; the location itself is curate.assets.data_root()
CARD_HEADER = "# Model card, written by `curate train` (see training.command); edit the training config, not this file.\n"


@dataclass
class TrainConfig:
    """A task's training config (`classifiers/train/TASK.yaml`)."""

    path: Path
    doc: dict[str, Any]

    @property
    def task(self) -> str:
        return str(self.doc["task"])

    @property
    def features(self) -> dict[str, Any]:
        return {"mode": "chars", "max_chars": DEFAULT_MAX_CHARS, **(self.doc.get("features") or {})}


def load_train_config(task: str, config: str | Path | None = None) -> TrainConfig:
    """Read TASK's training config (default `classifiers/train/TASK.yaml`) and check its keys."""
    path = Path(config) if config else resolve_asset(f"train/{task}.yaml", "classifiers")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("task", "name", "version", "labels", "data"):
        if key not in (doc or {}):
            raise ValueError(f"{path}: missing key {key!r}")
    if doc["task"] != task:
        raise ValueError(f"{path}: task is {doc['task']!r}, not {task!r}")
    return TrainConfig(path, doc)


def build_splits(cfg: TrainConfig, data_root: Path) -> Splits:
    """Run the task's data builder (`curate.models.training_data.BUILDER.build`, BUILDER = the config's `builder`,
    default the task's name: the five Big Five traits share one builder) and check its labels."""
    module = importlib.import_module(f"curate.models.training_data.{cfg.doc.get('builder', cfg.task)}")
    # the builder sees the `data:` mapping, plus the label spellings of the source when the config gives them
    splits: Splits = module.build({**cfg.doc["data"], "label_values": cfg.doc.get("label_values") or {},
                                   "label_maps": cfg.doc.get("label_maps") or {}}, data_root)
    labels = set(cfg.doc["labels"])
    for name, exs in (("train", splits.train), ("valid", splits.valid)):
        if not exs:
            raise ValueError(f"{cfg.task}: the builder returned no {name} examples (data root {data_root})")
        bad = {lab for ex in exs for lab in ex.labels} - labels
        if bad:
            raise ValueError(f"{cfg.task}: {name} examples carry label(s) {sorted(bad)} not in the config's {sorted(labels)}")
    return splits


def _write_lines(path: Path, examples: list[Example], mode: str, max_chars: int, context: int = 0) -> None:
    feats = featurize_with_context([ex.text for ex in examples], [ex.context for ex in examples], mode, max_chars, context)
    with path.open("w", encoding="utf-8") as f:
        for ex, line in zip(examples, feats, strict=True):
            f.write(" ".join(ft_label(lab) for lab in ex.labels) + " " + line + "\n")


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, as a card records its model's."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _binary_targets(examples: list[Example], positive: str) -> np.ndarray:
    return np.array([positive in ex.labels for ex in examples], dtype=np.float64)


def train_task(task: str, *, config: str | Path | None = None, data_root: str | Path | None = None,
               out_dir: str | Path | None = None, command: str | None = None) -> ModelCard:
    """Train TASK's model from its config and write `OUT/TASK.ftz` and the card `OUT/TASK.yaml`.

    `data_root`: the shared datasets' folder; default `curate.assets.data_root()` ($CURATE_DATA, else
    ../shared/data beside the checkout).
    """
    cfg = load_train_config(task, config)
    data_root = Path(data_root).resolve() if data_root else default_data_root()
    if not data_root.is_dir():
        raise FileNotFoundError(missing_data_message(data_root))
    out = Path(out_dir) if out_dir else asset_dir("classifiers")
    out.mkdir(parents=True, exist_ok=True)
    doc = cfg.doc
    if doc.get("trainer"):  # not a fastText model: the config names its own trainer (curate.models.TRAINER.train)
        trainer = importlib.import_module(f"curate.models.{doc['trainer']}")
        return trainer.train(cfg, data_root, out, command or f"curate train {task}")
    seed = int(doc.get("seed", 1))
    positive = doc.get("positive")
    calib_spec = doc.get("calibration")
    t0 = time.perf_counter()
    splits = build_splits(cfg, data_root)
    train, calib = splits.train, []
    if calib_spec and positive and splits.calibration:  # the builder's own calibration examples
        calib = splits.calibration
    elif calib_spec and positive:  # a slice of train, never valid, fits the calibration
        frac = float(calib_spec.get("fraction", 0.1))
        keep = [not in_valid(f"{i}", frac, salt=f"calibration-{seed}") for i in range(len(train))]
        calib = [ex for ex, k in zip(train, keep, strict=True) if not k]
        train = [ex for ex, k in zip(train, keep, strict=True) if k]
    feats = cfg.features
    params = {"epoch": 10, "lr": 0.5, "wordNgrams": 2, "dim": 64, "minCount": 1, "loss": "softmax",
              **(doc.get("fasttext") or {})}
    stem = str(doc.get("file", task))  # several models of one task (emotion, emotion-spoken) need their own files
    model_path = out / f"{stem}.ftz"
    with tempfile.TemporaryDirectory(prefix=f"curate-train-{task}-") as tmp:
        lines = Path(tmp) / "train.txt"
        _write_lines(lines, train, feats["mode"], int(feats["max_chars"]), int(feats.get("context", 0)))
        t1 = time.perf_counter()
        model_path.unlink(missing_ok=True)
        train_fasttext(lines, model_path, seed=seed, params=params, quantize=doc.get("quantize"))
        train_seconds = time.perf_counter() - t1
    card = ModelCard(
        name=doc["name"], task=task, version=str(doc["version"]), backend="fasttext", model=model_path.name,
        labels=list(doc["labels"]), positive=positive, multi_label=bool(doc.get("multi_label", False)),
        features=feats, threshold=doc.get("threshold"), label_values={str(k): str(v) for k, v in (doc.get("label_values") or {}).items()},
        label_maps={str(k): {str(a): str(b) for a, b in v.items()} for k, v in (doc.get("label_maps") or {}).items()},
        min_confidence=doc.get("min_confidence"), record_min_confidence=doc.get("record_min_confidence"),
        record_bias={str(k): float(v) for k, v in doc["record_bias"].items()} if doc.get("record_bias") else None,
        decision=dict(doc.get("decision") or {}), default_on=bool(doc.get("default_on", True)),
        off_reason=str(doc.get("off_reason", "")).strip(),
        description=str(doc.get("description", "")).strip(), sha256=file_sha256(model_path), path=out / f"{stem}.yaml")
    clf = Classifier(card)
    if calib:
        j = card.labels.index(positive)
        length = log_length([ex.text for ex in calib]) if calib_spec.get("method") == "platt_length" else None
        p = (_cross_fitted(card, splits, params, doc.get("quantize"), seed) if splits.calibration_fold
             else clf.predict_examples(calib)[:, j])
        card.calibration = fit_platt(p, _binary_targets(calib, positive), length)
        clf.card = card
    proba = clf.predict_examples(splits.valid)
    metrics: dict[str, Any] = {"valid": report(card.labels, [ex.labels for ex in splits.valid], proba,
                                               multi_label=card.multi_label, threshold=card.threshold or 0.5)}
    if positive:
        metrics["valid_reliability"] = reliability(proba[:, card.labels.index(positive)], _binary_targets(splits.valid, positive))
    card.metrics = metrics
    card.training = {
        "command": command or f"curate train {task}",
        "config": repo_relative(cfg.path),
        # the default location is recorded in words, not as this machine's path, so the card stays reproducible
        "data_root": SHARED_DATA if data_root == default_data_root() else str(data_root),
        "data": doc["data"],
        "examples": {**Splits(train, splits.valid).counts(), "calibration": len(calib)},
        "fasttext": {**params, "thread": 1, "seed": seed},
        "quantize": doc.get("quantize"),
        "size_bytes": model_path.stat().st_size,
    }
    card.notes = dict(splits.notes)
    write_card(card, card.path, CARD_HEADER)
    # timings go to the log, not the card, so retraining from a clean checkout leaves the card byte-identical
    log.info("%s: wrote %s (%d bytes) and %s; training %.1f s, total %.1f s", task, model_path,
             model_path.stat().st_size, card.path, train_seconds, time.perf_counter() - t0)
    return card


def _cross_fitted(card: ModelCard, splits: Splits, params: dict[str, Any], quantize: dict[str, Any] | None,
                  seed: int) -> np.ndarray:
    """P(positive) of each calibration example from a model trained, as the final one is, on train less the
    examples of its fold (`Splits.calibration_fold` / `train_fold`): the calibration sees scores of documents
    the model never trained on, and every calibration document also trains the final model."""
    folds = np.asarray(splits.calibration_fold)
    train_fold = np.asarray(splits.train_fold)
    j = card.labels.index(str(card.positive))
    out = np.zeros(len(splits.calibration))
    feats = card.features
    with tempfile.TemporaryDirectory(prefix=f"curate-crossfit-{card.task}-") as tmp:
        for f in sorted(set(folds.tolist())):
            keep = [ex for ex, g in zip(splits.train, train_fold, strict=True) if g != f]
            lines, model = Path(tmp) / f"train-{f}.txt", Path(tmp) / f"fold-{f}.ftz"
            _write_lines(lines, keep, feats["mode"], int(feats["max_chars"]), int(feats.get("context", 0)))
            train_fasttext(lines, model, seed=seed, params=params, quantize=quantize)
            fold_card = replace(card, model=model.name, path=Path(tmp) / f"fold-{f}.yaml", calibration=None)
            held = np.flatnonzero(folds == f)
            out[held] = Classifier(fold_card).predict_examples([splits.calibration[i] for i in held])[:, j]
    return out


def repo_relative(path: Path) -> str:
    """A path relative to the checkout (as a card names its config), or as given when it lies outside."""
    try:
        return str(path.resolve().relative_to(asset_dir("classifiers").parent))
    except ValueError:
        return str(path)


def shell_command(argv: list[str]) -> str:
    """The command line as a user would retype it (for the card's training.command)."""
    return " ".join(shlex.quote(a) for a in argv)
