"""fastText backend: a supervised `.ftz`/`.bin` model → probabilities over the card's labels."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np

PREFIX = "__label__"


def ft_label(label: str) -> str:
    """A label as fastText spells it: prefixed, spaces as underscores (ESConv's "Providing Suggestions")."""
    return PREFIX + label.replace(" ", "_")


def load_fasttext(path: Path) -> object:
    """Load a fastText model file quietly (fastText prints a warning per load otherwise)."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # the load_model deprecation notice, once per actor
    return fasttext.load_model(str(path))


class FastTextClassifier:
    """`predict_proba(lines)` over featurised lines; column order = `labels`."""

    def __init__(self, path: Path, labels: Sequence[str]) -> None:
        self.model = load_fasttext(path)
        self.labels = list(labels)
        known = set(self.model.get_labels())
        # a label of the card the training data never had (CPED's train split has no elderly speaker)
        # gets probability 0; a model sharing no label with its card is an error
        self.unseen = sorted(lab for lab in self.labels if ft_label(lab) not in known)
        if len(self.unseen) == len(self.labels):
            raise ValueError(f"{path}: the model has none of the card's labels {self.labels}; it has {sorted(known)}")
        # labels the card does not use land in a spare last column that is dropped
        self._index = {lab: len(self.labels) for lab in self.model.get_labels()}
        self._index.update({ft_label(lab): i for i, lab in enumerate(self.labels)})

    def predict_proba(self, lines: Sequence[str]) -> np.ndarray:
        """Probabilities (n × labels), from fastText's own multi-line predict, scattered in one NumPy step."""
        n, k = len(lines), len(self.labels)
        out = np.zeros((n, k + 1), dtype=np.float32)
        if not n:
            return out[:, :k]
        # fastText reads a line up to its "\n" and adds the end-of-sentence token there, as in training
        labs, probs = self.model.f.multilinePredict([line + "\n" for line in lines], -1, 0.0, "replace")
        counts = np.fromiter(map(len, labs), dtype=np.int64, count=n)
        cols = np.fromiter(map(self._index.__getitem__, chain.from_iterable(labs)), dtype=np.int64, count=int(counts.sum()))
        vals = np.fromiter(chain.from_iterable(probs), dtype=np.float32, count=int(counts.sum()))
        out[np.repeat(np.arange(n), counts), cols] = vals
        return np.clip(out[:, :k], 0.0, 1.0)
