"""Normalisation stage: Unicode NFKC (keeping Chinese full-width punctuation), invisible characters, whitespace,
optional traditional-to-simplified conversion; renders dialogues as `speaker：utterance` lines
(`curate.render`'s rendering, which the training-data builders use too).

Vectorised over the batch with Arrow compute and Polars string expressions; only the optional OpenCC
conversion calls into C++ once per text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array, flat_children, replace_children
from curate.job import NormalizeSpec
from curate.render import SPEAKER_SEPARATOR, TURN_SEPARATOR
from curate.stages.base import Settings, Stage

# Full-width punctuation that Chinese text uses as its own: NFKC would turn '，' into ',' and '：' into ':',
# which changes the register of every sentence, so these are shielded from NFKC with private-use stand-ins.
_CJK_PUNCT = "，！？：；（）～＂＇"
_SHIELD = [chr(0xF0000 + i) for i in range(len(_CJK_PUNCT))]

# Control and invisible characters (zero-width, bidi controls, soft hyphen, BOM); \t and \n are kept.
_INVISIBLE = (
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


# Characters that NFKC leaves as they are wherever they stand: no compatibility or canonical decomposition, no
# combining class, never the second character of a composition. A text of these alone (the shielded punctuation
# included, whose stand-ins are such characters too) is in NFKC; the unit tests check the last condition against
# every code point. Candidates: tab, newline, CR, printable ASCII, the middle dot, general punctuation, CJK symbols
# and punctuation, CJK unified ideographs.
_PLAIN_CANDIDATES = (0x09, 0x0A, 0x0D, *range(0x20, 0x7F), 0xB7, *range(0x2010, 0x2070), *range(0x3001, 0x3040),
                     *range(0x4E00, 0xA000))


def _plain_chars() -> str:
    return "".join(sorted({c for c in map(chr, _PLAIN_CANDIDATES)
                           if unicodedata.category(c) != "Cn" and unicodedata.combining(c) == 0
                           and unicodedata.normalize("NFKD", c) == c} | set(_CJK_PUNCT)))


def _char_class(chars: str, negate: bool = False) -> str:
    """A regex character class of `chars`, consecutive code points as ranges."""
    codes = sorted(set(map(ord, chars)))
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        lo, hi = (f"\\x{{{codes[k]:X}}}" for k in (i, j))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


_PLAIN = _plain_chars()
_NOT_PLAIN = _char_class(_PLAIN, negate=True)


def _nfkc_all(texts: pl.Series) -> pl.Series:
    # a text that already holds a stand-in cannot be shielded safely: it gets plain NFKC
    clash = texts.str.contains(f"[{''.join(_SHIELD)}]")
    shielded = pl.select(pl.when(clash).then(texts).otherwise(texts.str.replace_many(list(_CJK_PUNCT), _SHIELD))).to_series()
    normalised = pl.from_arrow(pc.utf8_normalize(shielded.to_arrow(), form="NFKC"))
    restored = normalised.str.replace_many(_SHIELD, list(_CJK_PUNCT))
    return pl.select(pl.when(clash).then(normalised).otherwise(restored)).to_series().alias(texts.name)


def nfkc(texts: pl.Series) -> pl.Series:
    """Shielded NFKC, computed only for the texts it changes.

    Most texts are already in NFKC once their Chinese punctuation is shielded (9 in 10 on web text), and
    CPython's quick check (`unicodedata.is_normalized`) tells so at a tenth of the cost of normalising;
    for those the result is the text itself (shielding then restoring is the identity when it holds no
    stand-in, and a text that does is left unchanged by plain NFKC when it is normalised). A text of plain
    characters only (`_PLAIN`: most Chinese text) is known to be in NFKC without the quick check, so only the
    others are shielded and checked.
    """
    rows = np.flatnonzero(texts.str.contains(_NOT_PLAIN).fill_null(False).to_numpy())
    if not len(rows):
        return texts
    shielded = texts.gather(rows).str.replace_many(list(_CJK_PUNCT), _SHIELD)
    is_normalized = unicodedata.is_normalized
    todo = np.fromiter((t is not None and not is_normalized("NFKC", t) for t in shielded.to_list()), dtype=bool,
                       count=len(rows))
    if not todo.any():
        return texts
    idx = pl.Series(rows[todo])
    out = texts.clone()
    out.scatter(idx, _nfkc_all(texts.gather(idx)))
    return out


def _whitespace(texts: pl.Series) -> pl.Series:
    return (
        texts.str.replace_all("\r\n?", "\n")
        .str.replace_all(r"[\t \u00a0\u3000]+", " ")
        .str.replace_all(r" *\n *", "\n")
        .str.replace_all(r"\n{3,}", "\n\n")
        .str.strip_chars()
    )


@cache
def _opencc_t2s() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(texts: pl.Series) -> pl.Series:
    """Traditional to simplified Chinese with OpenCC (one C++ call per text)."""
    conv = _opencc_t2s()
    return pl.Series(texts.name, [None if t is None else conv.convert(t) for t in texts.to_list()], dtype=pl.String)


def normalize_texts(texts: pl.Series, spec: NormalizeSpec) -> tuple[pl.Series, pl.Series]:
    """Normalise a string column; return it and, per text, the list of steps that changed it.

    Steps, in order: invisible characters removed, NFKC (when on), whitespace collapsed, traditional to
    simplified (when on). Without traditional-to-simplified the result is a fixed point: normalising it
    again changes nothing.
    """
    steps: list[tuple[str, pl.Series]] = []
    current = texts.fill_null("")
    # Invisible characters go before NFKC: removing one can bring a base and a combining mark (or two
    # Hangul jamo) together, which NFKC composes, so the other order leaves text that is not NFKC and that
    # a second pass would change. NFKC never produces an invisible character, so none come back after it.
    chain: list[tuple[str, Callable[[pl.Series], pl.Series], bool]] = [
        ("invisible_removed", lambda t: t.str.replace_all(_INVISIBLE, ""), True),
        ("nfkc", nfkc, spec.nfkc),
        ("whitespace_collapsed", _whitespace, True),
        ("traditional_converted", to_simplified, spec.to_simplified),
    ]
    for name, step, on in chain:
        if on:
            nxt = step(current)
            steps.append((name, nxt != current))
            current = nxt
    return current.alias(texts.name), _step_flags(steps, len(texts))


def _step_flags(steps: list[tuple[str, pl.Series]], n: int) -> pl.Series:
    """Per text, the names of the steps that changed it, in step order (a list column, empty when none did)."""
    if not steps:
        return pl.Series(values=[[]] * n, dtype=pl.List(pl.String))
    # built from the (text, step) pairs in row-major order rather than as n small lists: most lists are empty
    changed = np.column_stack([c.fill_null(False).to_numpy() for _, c in steps])
    rows, cols = np.nonzero(changed)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    names = pa.array([name for name, _ in steps], pa.string()).take(pa.array(cols))
    return pl.from_arrow(pa.ListArray.from_arrays(pa.array(offsets), names))  # type: ignore[return-value]


def render_dialogues(turns: pa.Array, n_rows: int) -> pa.Array:
    """`speaker：utterance` lines per dialogue, joined with newlines (vectorised over the flat turns).

    `curate.render.render_dialogue` is the same rendering for one dialogue, in Python, for the builders."""
    values, parents = flat_children(turns)
    speakers = pc.fill_null(values.field("speaker"), "")
    lines = pc.binary_join_element_wise(speakers, pc.fill_null(values.field("text"), ""), SPEAKER_SEPARATOR)
    offsets = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(parents, minlength=n_rows), out=offsets[1:])
    per_dialogue = pa.ListArray.from_arrays(pa.array(offsets), lines)
    rendered = pc.binary_join(per_dialogue, TURN_SEPARATOR)
    return pc.if_else(as_array(turns).is_null(), pa.nulls(n_rows, pa.string()), rendered)


def normalize(table: pa.Table, spec: NormalizeSpec) -> pa.Table:
    """Normalise `text` of web rows and every turn's `text` of dialogue rows; render dialogue `text`.

    Rows already rejected by the reader (malformed input) are left as read, so the raw line survives.
    """
    n = table.num_rows
    if n == 0:
        return table
    live = pc.is_null(table.column("drop_reason")).to_numpy(zero_copy_only=False)
    kind = table.column("kind").to_numpy(zero_copy_only=False)
    is_dialogue = (kind == "dialogue") & live

    text = pl.from_arrow(as_array(table.column("text"))).cast(pl.String)
    norm_text, text_flags = normalize_texts(text, spec)
    web_live = live & ~is_dialogue
    frame = pl.DataFrame({"row": np.arange(n), "web": web_live, "dlg": is_dialogue,
                          "raw": text, "norm": norm_text, "web_flags": text_flags})
    turns = as_array(table.column("turns"))
    if is_dialogue.any():
        values, parents = flat_children(turns)
        turn_text = pl.from_arrow(values.field("text")).cast(pl.String)
        norm_turn_text, turn_flags = normalize_texts(turn_text, spec)
        turns = replace_children(turns, {"text": norm_turn_text.to_arrow()})
        rendered = pl.from_arrow(render_dialogues(turns, n)).cast(pl.String)
        per_dialogue = (
            pl.DataFrame({"row": parents, "dlg_flags": turn_flags})
            .explode("dlg_flags")
            .group_by("row")
            .agg(pl.col("dlg_flags").drop_nulls().unique().sort())
        )
        frame = frame.with_columns(rendered=rendered).join(per_dialogue, on="row", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(rendered=pl.lit(None, pl.String), dlg_flags=pl.lit(None, pl.List(pl.String)))
    frame = frame.select(
        text=pl.when("web").then("norm").when("dlg").then("rendered").otherwise("raw"),
        norm_flags=pl.when("web").then("web_flags")
        .when("dlg").then(pl.col("dlg_flags").fill_null(pl.lit([], dtype=pl.List(pl.String)))),
    )
    new_text, flags = frame["text"], frame["norm_flags"]

    table = table.set_column(table.schema.get_field_index("text"), "text", new_text.to_arrow().cast(pa.string()))
    table = table.set_column(table.schema.get_field_index("turns"), "turns", turns)
    idx = table.schema.get_field_index("norm_flags")
    return table.set_column(idx, "norm_flags", flags.to_arrow().cast(pa.list_(pa.string())))


def _normalize(table: pa.Table, settings: Settings) -> pa.Table:
    return normalize(table, settings.normalize)


NORMALIZE = Stage("normalize", reads=("text", "turns"), adds=("text", "turns", "norm_flags"), apply=_normalize)
