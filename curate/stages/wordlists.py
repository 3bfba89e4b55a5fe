"""Categorised word lists (rules/words/CATEGORY.txt), matched by the sensitive-word signal in one pass."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curate.schema import label_set


@dataclass(frozen=True)
class WordLists:
    """Every word with its category; words are unique (a word listed twice keeps its first category)."""

    words: list[str]
    category_of: dict[str, str]

    CATEGORIES = label_set("sensitive_category")

    @classmethod
    def load(cls, folder: Path) -> WordLists:
        """Read FOLDER/CATEGORY.txt for each category of the schema's `sensitive_category` label set.

        Lines starting with '#' and blank lines are skipped. A file for a category the schema does
        not know is an error, so a new category is added to schemas/record.json first.
        """
        category_of: dict[str, str] = {}
        for path in sorted(folder.glob("*.txt")):
            category = path.stem
            if category not in cls.CATEGORIES:
                raise ValueError(f"{path}: category {category!r} is not in schemas/record.json "
                                 f"label set sensitive_category {list(cls.CATEGORIES)}")
            for line in path.read_text(encoding="utf-8").splitlines():
                word = line.strip().lower()  # matched against lower-cased text
                if word and not word.startswith("#"):
                    category_of.setdefault(word, category)
        return cls(sorted(category_of), category_of)
