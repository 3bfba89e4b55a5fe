"""The one classifier interface: `Classifier.predict_proba(texts) -> ndarray`, whatever the backend.

A `Classifier` is a model card plus its loaded backend. fastText models read the batch's tokens from a
`FeatureCache` shared by every model of the batch (lines, for a model outside the batch engine);
transformers and lexicon models read raw text. Binary
cards may carry a Platt calibration (`platt_length`: with the text's length), applied here so every caller
sees calibrated probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curate.models.calibration import apply_calibration, log_length, needs_length
from curate.models.card import ModelCard, read_card
from curate.models.examples import Example
from curate.models.features import DEFAULT_MAX_CHARS, FeatureCache


class Classifier:
    """A loaded model: `predict_proba(texts)` (n × labels) and, for binary cards, `score(texts)` = P(positive)."""

    def __init__(self, card: ModelCard) -> None:
        self.card = card
        self.labels = list(card.labels)
        if card.backend == "fasttext":
            from curate.models.fasttext_backend import FastTextClassifier

            self.backend = FastTextClassifier(card.model_path, self.labels)
        elif card.backend == "transformers":
            from curate.models.transformers_backend import TransformersClassifier

            self.backend = TransformersClassifier(card.model_path, self.labels, multi_label=card.multi_label)
        else:
            from curate.models.lexicon_backend import LexiconClassifier

            self.backend = LexiconClassifier(card.model_path, self.labels, multi_label=card.multi_label)

    @property
    def feature_mode(self) -> str | None:
        """The featurisation this model reads (fastText only), or None for raw text."""
        return self.card.features.get("mode", "chars") if self.card.backend == "fasttext" else None

    @property
    def context(self) -> int:
        """How many previous turns this model reads (per-turn taggers), 0 for none."""
        return int(self.card.features.get("context", 0))

    def predict_proba(self, texts: Sequence[str | None], cache: FeatureCache | None = None,
                      contexts: Sequence[Sequence[str | None]] | None = None) -> np.ndarray:
        """Probabilities over `labels` for each text; `cache` shares one featurisation between models;
        `contexts[i]` (the turns before text i) is read by models whose card sets `features.context`."""
        mode = self.feature_mode
        max_chars = int(self.card.features.get("max_chars", DEFAULT_MAX_CHARS))
        native = getattr(self.backend, "native", False)  # fastText's batch engine reads shared tokens
        if mode is None:
            proba = self.backend.predict_proba(texts)
        elif self.context and contexts is not None:
            from curate.models.features import featurize_with_context, tokens_with_context

            if native and cache is not None and cache.texts is texts:
                proba = self.backend.predict_proba(cache.tokens_with_context(contexts, mode, max_chars, self.context))
            else:
                view = tokens_with_context if native else featurize_with_context
                proba = self.backend.predict_proba(view(texts, contexts, mode, max_chars, self.context))
        else:
            cache = cache if cache is not None and cache.texts is texts else FeatureCache(texts)
            proba = self.backend.predict_proba(cache.tokens(mode, max_chars) if native else cache.get(mode, max_chars))
        if self.card.calibration and self.card.positive:
            j = self.labels.index(self.card.positive)
            length = log_length(texts) if needs_length(self.card.calibration) else None
            p = apply_calibration(proba[:, j], self.card.calibration, length)
            proba = proba.copy()
            if len(self.labels) == 2:
                proba[:, j], proba[:, 1 - j] = p, 1 - p
            else:
                proba[:, j] = p
        return proba

    def score(self, texts: Sequence[str | None], cache: FeatureCache | None = None) -> np.ndarray:
        """P(positive label), for binary cards (quality, toxicity, ESC relevance)."""
        if not self.card.positive:
            raise ValueError(f"{self.card.name}: score() needs a card with a `positive` label")
        return self.predict_proba(texts, cache)[:, self.labels.index(self.card.positive)]

    def predict_examples(self, examples: Sequence[Example]) -> np.ndarray:
        """Probabilities for labelled examples, with their context when the model reads it."""
        contexts = [ex.context for ex in examples] if self.context else None
        return self.predict_proba([ex.text for ex in examples], contexts=contexts)


def load_classifier(card: str | Path | ModelCard) -> Classifier:
    """Load the model a card describes (a card path or a `ModelCard`)."""
    return Classifier(card if isinstance(card, ModelCard) else read_card(card))
