"""Every mention of a record's known PII values: its speakers' names and the values its cues revealed.

A cue finds a value once (`我叫王晓明`, `QQ号 12345678`); the same record may repeat it bare in other turns
(`王晓明你好`). Once a record is known to hold a value, each of its mentions in the record is redacted with the
same placeholder. Speaker labels of CPED-style dialogues (`于春晓`) are names unless they are role words
(`client`, `咨询师`). One Aho-Corasick pass (Polars) over the batch's texts finds the mentions; a hit counts
only in the record that holds the value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import cache

import numpy as np
import polars as pl

from curate.job import DEFAULT_ROLE_MAP
from curate.pii.config import PiiRules
from curate.pii.detect import Finding

PROPAGATED = ("name", "qq", "wechat")  # types found by context: their bare mentions need the record's memory
_WORDLIKE = re.compile(r"[A-Za-z0-9_]")
_SCHEMA = {"row": pl.Int64, "alias": pl.String, "type": pl.String, "key": pl.String, "why": pl.String}


def role_words(rules: PiiRules, extra: Collection[str] = ()) -> frozenset[str]:
    """Speaker labels that are roles, lower-cased: curate's default role map, the settings' list, `extra`."""
    return frozenset(w.lower() for w in (*DEFAULT_ROLE_MAP, *rules.role_words, *extra))


def is_name(label: str | None, roles: frozenset[str]) -> bool:
    """Whether a speaker label is a person's name: not empty, not a role word, not a short ASCII tag (A, B2)."""
    if not label or not label.strip():
        return False
    label = label.strip()
    return label.lower() not in roles and not (len(label) <= 2 and label.isascii())


def speaker_table(rows: np.ndarray, speakers: pl.Series, roles: frozenset[str]) -> pl.DataFrame:
    """Per dialogue, its distinct named speakers in order of first turn: columns row, speaker."""
    names = [s for s in speakers.unique().to_list() if is_name(s, roles)]  # a batch has few distinct labels
    frame = pl.DataFrame({"row": rows.astype(np.int64), "speaker": speakers})
    return frame.filter(pl.col("speaker").is_in(names)).unique(maintain_order=True)


def _given_cut(name: pl.Expr, rules: PiiRules) -> pl.Expr:
    """How many leading characters of a full name are its surname (0: it does not start with one)."""
    compounds = [s for s in rules.surnames if len(s) == 2]
    singles = [s for s in rules.surnames if len(s) == 1]
    return (pl.when(name.str.slice(0, 2).is_in(compounds) & (name.str.len_chars() > 2)).then(2)
            .when(name.str.slice(0, 1).is_in(singles)).then(1).otherwise(0))


def aliases(speakers: pl.DataFrame, found: Sequence[Finding], texts: pl.Series, unit_rows: np.ndarray,
            rules: PiiRules) -> pl.DataFrame:
    """What to look for in each record: its speakers' names, the name, QQ and WeChat values its cues found
    (two characters or more), and the given names (two characters or more) of the full names among them.
    Columns row, alias, type, key, why; the first entry of a (row, alias) wins."""
    values = [(int(unit_rows[f.unit]), (texts[f.unit] or "")[f.start: f.end], f.type, f.key,
               f"{f.type} found elsewhere in this record ({f.detector})")
              for f in found if f.type in PROPAGATED and f.end - f.start >= 2]
    frames = [
        speakers.select("row", alias=pl.col("speaker").str.strip_chars(), type=pl.lit("name"), key="speaker",
                        why=pl.lit("speaker name of this dialogue")),
        pl.DataFrame(values, schema=_SCHEMA, orient="row"),
    ]
    if rules.speaker_given_names:
        full = pl.concat(frames).filter(pl.col("type") == "name")
        cut = _given_cut(pl.col("alias"), rules)
        frames.append(full.with_columns(cut=cut).filter((pl.col("cut") > 0) & (pl.col("alias").str.len_chars()
                                                                                 - pl.col("cut") >= 2))
                      .select("row", alias=pl.col("alias").str.slice(pl.col("cut")), type="type", key="key",
                              why=pl.format("given name of {}", "alias")))
    table = pl.concat(frames).filter(pl.col("alias").str.len_chars() >= 2)
    return table.unique(["row", "alias"], keep="first", maintain_order=True)


@cache
def _finds_bytes() -> bool:
    """Whether Polars' `str.find_many` gives UTF-8 byte offsets (up to 2.1) rather than character offsets (2.2 on)."""
    return pl.Series(["\u738ba"]).str.find_many(["a"]).to_list() == [[3]]


def mentions(texts: pl.Series, unit_rows: np.ndarray, table: pl.DataFrame) -> list[Finding]:
    """Each mention of a record's aliases in the record's own texts (text i belongs to record unit_rows[i]).

    ASCII values must stand alone (`abc_123` is not found inside `xabc_1234`)."""
    if table.height == 0:
        return []
    patterns = sorted(set(table["alias"].to_list()), key=len, reverse=True)
    idx = np.flatnonzero(np.isin(unit_rows, table["row"].unique().to_numpy()))
    if len(idx) == 0:
        return []
    sub = texts.gather(idx).fill_null("")
    hit = sub.str.contains_any(patterns).to_numpy()  # one cheap pass; positions only where something is
    idx, sub = idx[hit], sub.filter(hit)
    frame = pl.DataFrame({
        "i": idx, "row": unit_rows[idx],
        "pos": sub.str.find_many(patterns, overlapping=True),
        "alias": sub.str.extract_many(patterns, overlapping=True),
    }).explode("pos", "alias").drop_nulls("alias")
    hits = frame.join(table, on=["row", "alias"], how="inner").sort("i", "pos", maintain_order=True)
    out: list[Finding] = []
    encoded: dict[int, tuple[str, bytes]] = {}
    for i, pos, alias, typ, key, why in hits.select("i", "pos", "alias", "type", "key", "why").iter_rows():
        if i not in encoded:
            text = texts[i] or ""
            encoded[i] = (text, text.encode() if _finds_bytes() else b"")  # bytes only to turn offsets into characters
        text, raw = encoded[i]
        start = len(raw[:pos].decode()) if _finds_bytes() else pos
        end = start + len(alias)
        if alias.isascii() and ((start and _WORDLIKE.match(text[start - 1])) or
                                (end < len(text) and _WORDLIKE.match(text[end]))):
            continue
        detector = "speaker" if why.startswith("speaker") else "mention"
        out.append(Finding(i, start, end, typ, key, detector, why))
    return out
