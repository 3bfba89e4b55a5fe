"""Common words of the language, to tell a surname inside a word (`邻居`, `尽管`, `符合`) from a name.

From jieba's dictionary (a runtime dependency already; MIT): its words of two to four characters that occur
at least `min_freq` times in its corpus. Read once per process, and only when a name candidate needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import polars as pl


@dataclass(frozen=True)
class CommonWords:
    """`words`: every common word; `not_names`: those the dictionary does not tag as a person name (nr…);
    `places`: those it tags as a place name (ns…)."""

    words: frozenset[str]
    not_names: frozenset[str]
    places: frozenset[str]


EMPTY = CommonWords(frozenset(), frozenset(), frozenset())


@cache
def common_words(dictionary: str, min_freq: int) -> CommonWords:
    """The common words of `dictionary` (`jieba` or `none`)."""
    if dictionary == "none":
        return EMPTY
    import jieba

    path = jieba.get_dict_file().name  # word, frequency, part of speech; one per line, space separated
    table = pl.read_csv(path, separator=" ", has_header=False, new_columns=["word", "freq", "pos"],
                        schema_overrides={"word": pl.String, "freq": pl.Int64, "pos": pl.String}, quote_char=None)
    table = table.filter(pl.col("word").str.len_chars().is_between(2, 4) & (pl.col("freq") >= min_freq))
    not_names = table.filter(~pl.col("pos").str.starts_with("nr"))["word"]
    places = table.filter(pl.col("pos").str.starts_with("ns"))["word"]
    return CommonWords(frozenset(table["word"].to_list()), frozenset(not_names.to_list()), frozenset(places.to_list()))
