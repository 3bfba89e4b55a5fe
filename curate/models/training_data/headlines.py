"""THUCNews headlines (`thucnews/dev.txt`, `headline<TAB>digit`; `class.txt` names the digits), mapped onto
another task's labels: short but real and labelled text. Read in place, never copied into the repo.
"""

from __future__ import annotations

import random
from pathlib import Path

from curate.models.examples import Example


def read_headlines(path: Path, classes: Path) -> list[tuple[str, str]]:
    """(category name, headline) for every line of `path`."""
    names = [c.strip() for c in classes.read_text(encoding="utf-8").split("\n") if c.strip()]
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        text, _, digit = line.rpartition("\t")
        if not digit.strip().isdigit() or int(digit) >= len(names):
            raise ValueError(f"{path}:{n}: expected headline<TAB>class digit")
        out.append((names[int(digit)], text.strip()))
    return out


def headline_examples(spec: dict, data_root: Path, rng: random.Random) -> list[tuple[str, Example]]:
    """Up to `per_class` headlines of each category `spec["map"]` names, labelled with its mapped label(s)
    (a category mapped to nothing is skipped), or of every category labelled `spec["label"]`; [] without a
    path."""
    if not spec.get("path"):
        return []
    rows = read_headlines(data_root / spec["path"], data_root / spec["classes"])
    mapping = {str(k): v for k, v in (spec.get("map") or {}).items()} or dict.fromkeys({c for c, _ in rows}, spec.get("label"))
    per_class = int(spec.get("per_class", 100))
    out: list[tuple[str, Example]] = []
    for cat in sorted(mapping):
        labels = tuple(mapping[cat]) if isinstance(mapping[cat], list) else (str(mapping[cat]),)
        if not labels or labels == ("",):
            continue
        idx = [i for i, (c, _) in enumerate(rows) if c == cat]
        for i in rng.sample(idx, min(per_class, len(idx))):
            out.append((f"thucnews:{i}", Example(labels, rows[i][1])))
    return out
