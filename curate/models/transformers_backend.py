"""transformers backend: a local sequence-classification checkpoint folder, never a hub download.

`AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True, trust_remote_code=False,
use_safetensors=True)`: no network, no remote code, safetensors weights only. Texts go in batches with
truncation; the model runs on the GPU when one is present. Column order follows the card's labels, mapped
through the checkpoint's `id2label`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


class TransformersClassifier:
    """`predict_proba(texts)`: softmax (single-label) or sigmoid (multi-label) over the checkpoint's logits."""

    def __init__(self, folder: Path, labels: Sequence[str], *, multi_label: bool = False,
                 batch_size: int = 32, max_length: int = 256) -> None:
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as e:
            raise ImportError("the transformers backend needs the extra: pip install 'curate[transformers]'") from e
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: transformers checkpoint folder not found")
        if not any(folder.glob("*.safetensors")):
            raise ValueError(f"{folder}: no *.safetensors weights (pickle checkpoints are refused)")
        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, trust_remote_code=False, use_safetensors=True).to(self.device).eval()
        id2label = {int(i): str(lab) for i, lab in self.model.config.id2label.items()}
        by_name = {lab: i for i, lab in id2label.items()}
        missing = [lab for lab in labels if lab not in by_name]
        if missing:
            raise ValueError(f"{folder}: config.id2label {id2label} lacks the card's label(s) {missing}")
        self.labels = list(labels)
        self._cols = [by_name[lab] for lab in self.labels]
        self.multi_label = multi_label
        self.batch_size = batch_size
        # never past what the model can embed (a tokenizer saved without model_max_length says 1e30)
        limits = [max_length, getattr(self.model.config, "max_position_embeddings", max_length),
                  int(min(self.tokenizer.model_max_length, 1 << 30))]
        self.max_length = min(limits)

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """Probabilities (n × labels), computed in batches of `batch_size` with truncation to `max_length`."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        torch = self.torch
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = [t or "" for t in texts[start:start + self.batch_size]]
                enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                     return_tensors="pt").to(self.device)
                logits = self.model(**enc).logits.float()
                prob = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
                out[start:start + len(chunk)] = prob[:, self._cols].cpu().numpy()
        return out
