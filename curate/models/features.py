"""Text → fastText input line: character tokens or rjieba words, computed once per batch and shared.

Several models in one batch read the same featurised texts through `FeatureCache` (ChineseWebText
segments once and feeds every fastText model from those tokens; we do the same per batch).
"""

from __future__ import annotations

from collections.abc import Sequence

MODES = ("chars", "words")
DEFAULT_MAX_CHARS = 2000  # fastText cost grows with length; the head of a document carries its class


def _chars(text: str) -> str:
    # every non-space character is a token; wordNgrams then gives character bigrams/trigrams
    return " ".join("".join(text.split()))


def _words(text: str) -> str:
    import rjieba  # jieba's dictionary and HMM in Rust: ~20x jieba.lcut on one core (bench/README.md)

    return " ".join(w for w in rjieba.cut(" ".join(text.split())) if not w.isspace())


def featurize(texts: Sequence[str | None], mode: str = "chars", max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """fastText input lines for `texts` (None → empty): newlines removed, each text cut to `max_chars`."""
    if mode not in MODES:
        raise ValueError(f"unknown feature mode {mode!r}; expected one of {MODES}")
    fn = _chars if mode == "chars" else _words
    return [fn(t[:max_chars]) if t else "" for t in texts]


CONTEXT_PREFIX = "p_"  # tokens of the previous turn(s): their own features, distinct from the turn's own


def featurize_with_context(texts: Sequence[str | None], contexts: Sequence[Sequence[str | None]], mode: str = "chars",
                           max_chars: int = DEFAULT_MAX_CHARS, context: int = 1) -> list[str]:
    """Lines for per-turn taggers: the last `context` previous turns' tokens, prefixed, then the turn's own.

    `contexts[i]` holds the turns before turn i, oldest first; only the last `context` of them are used,
    each cut to `max_chars` // 2 so the turn itself dominates.
    """
    own = featurize(texts, mode, max_chars)
    if context <= 0:
        return own
    prev = featurize([" ".join(t or "" for t in c[-context:]) for c in contexts], mode, max_chars // 2)
    return [" ".join(CONTEXT_PREFIX + tok for tok in p.split()) + " " + o if p else o for p, o in zip(prev, own, strict=True)]


class FeatureCache:
    """Featurised views of one batch of texts, each computed at most once."""

    def __init__(self, texts: Sequence[str | None]) -> None:
        self.texts = texts
        self._views: dict[tuple[str, int], list[str]] = {}

    def get(self, mode: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
        """The batch featurised with `mode`, cut to `max_chars`."""
        key = (mode, max_chars)
        if key not in self._views:
            self._views[key] = featurize(self.texts, mode, max_chars)
        return self._views[key]
