"""Model cards: the YAML beside each model file in `classifiers/` that says what the model is and how it was made.

A card is the one source of truth for a model's labels, backend, preprocessing, score threshold,
calibration, training command and valid-split metrics; the pipeline, `curate eval` and the docs read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curate.models.abstention import CONFIDENCE_KEYS, check_min_confidence
from curate.models.label_shift import bias_vector

BACKENDS = ("fasttext", "transformers", "lexicon", "linear")  # linear: curate.models.dialogue_quality


class CardError(ValueError):
    """A model card that cannot be used, with the file and key named."""


@dataclass
class ModelCard:
    """A classifier's card. `path` is the card file; `model` is relative to it."""

    name: str
    task: str
    version: str
    backend: str
    model: str
    labels: list[str]
    positive: str | None = None
    multi_label: bool = False
    features: dict[str, Any] = field(default_factory=lambda: {"mode": "chars", "max_chars": 2000})
    threshold: float | None = None
    calibration: dict[str, Any] | None = None
    label_values: dict[str, str] = field(default_factory=dict)
    # named source spellings → labels (EWECT's digits, ChnSentiCorp's 0/1): `curate eval --map NAME`
    label_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    # below this top probability a tag's label is null (its scores stay): one number, or per label
    # (curate/models/abstention.py); a job may override it
    min_confidence: float | dict[str, float] | None = None
    # the same for the record-level tag (the weighted mean over a record's units: flatter than one
    # unit's scores, so it may need other thresholds); absent: the record-level tag uses `min_confidence`
    record_min_confidence: float | dict[str, float] | None = None
    # a help-seeker record's emotion scores q become softmax(log q + b), b per label (curate/models/label_shift.py):
    # the turn model's label priors are not a help-seeker's; absent: no correction
    record_bias: dict[str, float] | None = None
    # how probabilities become a label beyond arg-max, where a task needs it (risk: per-level thresholds and
    # the cue lexicon that can raise a turn to `high`; see curate/models/risk_decision.py)
    decision: dict[str, Any] = field(default_factory=dict)
    # False: the job runs this tagger only when it names it (a tagger that does not beat a constant)
    default_on: bool = True
    off_reason: str = ""
    description: str = ""
    sha256: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def model_path(self) -> Path:
        """The model file or checkpoint folder, resolved against the card's folder."""
        base = self.path.parent if self.path else Path.cwd()
        return (base / self.model).resolve()

    @property
    def version_tag(self) -> str:
        """`name@version+sha` as recorded per row and in the manifest."""
        return f"{self.name}@{self.version}" + (f"+{self.sha256[:12]}" if self.sha256 else "")

    def to_dict(self) -> dict[str, Any]:
        """The card as plain YAML-ready data (without its own path)."""
        d = asdict(self)
        d.pop("path")
        if d["default_on"]:  # the usual case stays out of the card
            d.pop("default_on")
        return {k: v for k, v in d.items() if v not in (None, {}, [], "")}


def _safe_load(text: str) -> Any:
    """`yaml.safe_load` through libyaml's parser where PyYAML has it: a run reads ~30 cards in the driver and
    each in every finish actor, ten times faster so. A document libyaml rejects is parsed again by PyYAML's
    own parser, whose result or error message is then the one `yaml.safe_load` gives."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # the C build of SafeLoader: the same constructor
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def read_card(path: str | Path) -> ModelCard:
    """Load and check a card YAML (a path, or a URL: its local copy, `curate.io.fetch`, with the model beside
    it); errors name the file and the key."""
    if "://" in str(path):
        from curate.assets import resolve_asset

        try:
            path = resolve_asset(path, "classifiers")
        except FileNotFoundError as e:
            raise CardError(f"{path}: model card not found ({e})") from None
    path = Path(path)
    try:
        doc = _safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CardError(f"{path}: model card not found") from None
    except yaml.YAMLError as e:
        raise CardError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise CardError(f"{path}: a model card must be a mapping")
    for key in ("name", "task", "version", "backend", "model", "labels"):
        if key not in doc:
            raise CardError(f"{path}: missing key {key!r}")
    if doc["backend"] not in BACKENDS:
        raise CardError(f"{path}: backend {doc['backend']!r} is not one of {BACKENDS}")
    if doc.get("positive") is not None and doc["positive"] not in doc["labels"]:
        raise CardError(f"{path}: positive {doc['positive']!r} is not among labels {doc['labels']}")
    known = set(ModelCard.__dataclass_fields__) - {"path"}
    unknown = set(doc) - known
    if unknown:
        raise CardError(f"{path}: unknown key(s) {sorted(unknown)}; expected some of {sorted(known)}")
    doc["version"] = str(doc["version"])
    for key in CONFIDENCE_KEYS:
        if doc.get(key) is not None:
            try:
                doc[key] = check_min_confidence(doc[key], doc["labels"], key)
            except ValueError as e:
                raise CardError(f"{path}: {e}") from None
    if doc.get("record_bias") is not None:
        try:
            if not isinstance(doc["record_bias"], dict):
                raise ValueError("record_bias must map labels to numbers")
            bias_vector(doc["record_bias"], doc["labels"])
        except (TypeError, ValueError) as e:
            raise CardError(f"{path}: {e}") from None
    return ModelCard(**doc, path=path)


def write_card(card: ModelCard, path: str | Path, header: str = "") -> None:
    """Write a card YAML (keys in field order), with an optional comment header."""
    text = yaml.safe_dump(card.to_dict(), allow_unicode=True, sort_keys=False, width=110)
    Path(path).write_text(header + text, encoding="utf-8")
