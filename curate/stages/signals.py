"""Rule signals: vectorised functions over a batch's text (and turns) that each fill one or more `sig_*` columns.

Every signal is registered under its column name with a version; `compute_signals` runs only the
producers the active rules need, once per batch. Definitions follow ChineseWebText 2.0's
`preprocess.py` (length, line length, Chinese ratio, sensitive words per line, 13-gram repetition) and
FineWeb-2's Gopher/FineWeb quality filters, adapted to characters for Chinese (see each docstring).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np
import polars as pl
import pyarrow as pa

from curate.arrowutil import as_array, flat_children
from curate.stages import dialogue_cues as cues
from curate.stages import ngrams
from curate.stages.wordlists import WordLists

Columns = dict[str, np.ndarray | pl.Series]

# n-gram sizes of FineWeb-2's Gopher repetition filter: top n-gram fractions and duplicated n-gram fractions
_TOP_NS = (2, 3, 4)
_DUP_NS = (5, 6, 7, 8, 9, 10)


def turn_frame(turns: pa.Array | pa.ChunkedArray | None) -> pl.DataFrame:
    """One row per turn of a `turns` column: its record's `row`, its position `pos` in the dialogue, `role` and
    `text` (nulls as ""). Empty without turns."""
    schema = {"row": pl.Int64, "pos": pl.Int64, "role": pl.String, "text": pl.String}
    if turns is None or len(turns) == 0:
        return pl.DataFrame(schema=schema)
    values, parents = flat_children(turns)
    starts = np.asarray(as_array(turns).offsets, dtype=np.int64)
    return pl.DataFrame({
        "row": parents,
        "pos": np.arange(len(parents), dtype=np.int64) + starts[0] - starts[parents],
        "role": pl.from_arrow(values.field("role")).cast(pl.String),
        "text": pl.from_arrow(values.field("text")).cast(pl.String).fill_null(""),
    }, schema=schema)


@dataclass
class SignalInput:
    """What a signal may read: the batch's texts, dialogue turns and word lists, with shared derived views."""

    text: pl.Series  # String, nulls as ""
    turns: pa.Array | None
    words: WordLists | None
    _cache: dict[str, object] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Rows in the batch."""
        return len(self.text)

    @cached_property
    def char_len(self) -> np.ndarray:
        """Characters per text."""
        return self.text.str.len_chars().to_numpy().astype(np.int64)

    @cached_property
    def n_lines(self) -> np.ndarray:
        """Lines per text, as ChineseWebText counts them: len(text.split('\\n'))."""
        return self.text.str.count_matches("\n", literal=True).to_numpy().astype(np.int64) + 1

    @cached_property
    def lower(self) -> pl.Series:
        """The texts lower-cased (sensitive words are matched in it, `compact` is built from it)."""
        return self.text.str.to_lowercase()

    @cached_property
    def compact(self) -> ngrams.CodepointBatch:
        """ChineseWebText's norm_str2: strip, lower-case, drop spaces, newlines and tabs; as code points."""
        # lower-casing first and stripping after gives the same strings (no whitespace has a case mapping, none
        # maps to whitespace) and shares the lower-cased texts with the sensitive words
        compact = self.lower.str.strip_chars().str.replace_all("[ \n\t]", "")
        return ngrams.to_codepoints(compact.to_arrow())

    @cached_property
    def turn_frame(self) -> pl.DataFrame:
        """One row per dialogue turn of the batch (`turn_frame`)."""
        return turn_frame(self.turns)

    @cached_property
    def repetition(self) -> dict[int, ngrams.NgramRepetition]:
        """Repetition of character n-grams of `compact` for every size any signal uses, in one walk."""
        return ngrams.repetition_profile(self.compact, (*_TOP_NS, *_DUP_NS, 13), exclude_last=(13,))


@dataclass(frozen=True)
class Signal:
    """A producer of one or more signal columns."""

    name: str
    version: int
    columns: tuple[str, ...]
    fn: Callable[[SignalInput], Columns]
    needs_turns: bool = False


REGISTRY: dict[str, Signal] = {}
# Signals that need the whole run: computed after dedup_global, their rules evaluated in finish
# (curate/stages/crossdoc.py). Column -> producer name and version.
GLOBAL_SIGNALS: dict[str, tuple[str, int]] = {
    "sig_dup_paragraph_frac": ("crossdoc_lines", 1),
    # dialogue quality (curate/stages/dialogue.py): the run-wide generic replies, the taggers' strategy and
    # emotion, and crisis risk left unaddressed, evaluated after the tags
    "sig_generic_reply_frac": ("generic_replies", 1),
    "sig_strategy_entropy": ("dialogue_tags", 1),
    "sig_seek_valence_shift": ("dialogue_tags", 1),
    "sig_seek_valence_last": ("dialogue_tags", 1),
    "risk_unaddressed": ("risk_unaddressed", 2),  # 2: from the crisis-risk tag (was a lexicon of its own)
}


def signal(name: str, version: int, columns: tuple[str, ...], *, needs_turns: bool = False) -> Callable:
    """Register a signal producer under each of its column names."""

    def register(fn: Callable[[SignalInput], Columns]) -> Callable[[SignalInput], Columns]:
        sig = Signal(name, version, columns, fn, needs_turns)
        for col in columns:
            if col in REGISTRY:
                raise ValueError(f"signal column {col} registered twice")
            REGISTRY[col] = sig
        return fn

    return register


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num), dtype=np.float64), where=den > 0)


# ---------------------------------------------------------------- ChineseWebText 2.0


@signal("length", 1, ("sig_char_len", "sig_n_lines", "sig_avg_line_len"))
def _length(x: SignalInput) -> Columns:
    """len(text), len(text.split('\\n')) and their ratio, exactly as ChineseWebText 2.0."""
    return {"sig_char_len": x.char_len, "sig_n_lines": x.n_lines, "sig_avg_line_len": _ratio(x.char_len, x.n_lines)}


@signal("zh_char_ratio", 1, ("sig_zh_char_ratio",))
def _zh_ratio(x: SignalInput) -> Columns:
    """Share of characters matching [\\u4e00-\\u9fa5], ChineseWebText 2.0's Chinese-character ratio."""
    zh = x.text.str.count_matches("[\u4e00-\u9fa5]").to_numpy().astype(np.int64)
    return {"sig_zh_char_ratio": _ratio(zh, x.char_len)}


@signal("has_traditional", 1, ("sig_has_traditional",))
def _traditional(x: SignalInput) -> Columns:
    """The text changes under OpenCC t2s (ChineseWebText 2.0 uses zhconv's equivalent test)."""
    from curate.stages.normalize import to_simplified

    return {"sig_has_traditional": (to_simplified(x.text) != x.text).to_numpy()}


@signal("sensitive_words", 1, ("sig_sensitive_hits", "sig_sensitive_per_line",
                               *(f"sig_sensitive_{c}" for c in WordLists.CATEGORIES)))
def _sensitive(x: SignalInput) -> Columns:
    """Distinct sensitive words present (ChineseWebText counts `word in text` once per word), per category,
    and per line; one Aho-Corasick pass over the batch (Polars extract_many with overlapping matches)."""
    out: Columns = {}
    if x.words is None or not x.words.words:
        zeros = np.zeros(x.n, dtype=np.int64)
        out = {f"sig_sensitive_{c}": zeros for c in WordLists.CATEGORIES}
        out["sig_sensitive_hits"] = zeros
    else:
        found = x.lower.str.extract_many(x.words.words, overlapping=True).list.unique()
        cats = found.list.eval(pl.element().replace_strict(x.words.category_of, return_dtype=pl.String))
        frame = pl.DataFrame({"cats": cats})
        for c in WordLists.CATEGORIES:
            out[f"sig_sensitive_{c}"] = frame.select(
                pl.col("cats").list.eval(pl.element() == c).list.sum()
            ).to_series().fill_null(0).to_numpy()
        out["sig_sensitive_hits"] = found.list.len().fill_null(0).to_numpy()
    out["sig_sensitive_per_line"] = _ratio(np.asarray(out["sig_sensitive_hits"], dtype=np.float64), x.n_lines)
    return out


@signal("rep13", 1, ("sig_rep13_ratio",))
def _rep13(x: SignalInput) -> Columns:
    """ChineseWebText 2.0's judge_inner_repeat: over 13-grams txt[i:i+13] for i in range(len-13) of the
    compact text, (occurrences of 13-grams seen more than once) / (number of 13-grams). Its quirks are kept:
    the last window is skipped, and a text of 13 characters or fewer scores 0."""
    r = x.repetition[13]
    return {"sig_rep13_ratio": _ratio(r.dup_windows, r.windows)}


# ---------------------------------------------------------------- FineWeb-2 (Gopher repetition, FineWeb quality)


@signal("top_ngram_frac", 1, tuple(f"sig_top_{n}gram_frac" for n in _TOP_NS))
def _top_ngrams(x: SignalInput) -> Columns:
    """Gopher top n-gram fraction on characters: n * count(most frequent n-gram) / characters."""
    lengths = x.compact.lengths
    return {f"sig_top_{n}gram_frac": _ratio(x.repetition[n].top_count * n, lengths) for n in _TOP_NS}


@signal("dup_ngram_frac", 1, tuple(f"sig_dup_{n}gram_frac" for n in _DUP_NS))
def _dup_ngrams(x: SignalInput) -> Columns:
    """Gopher duplicated n-gram fraction on characters: characters inside any n-gram occurring more than
    once in the document (overlaps counted once) / characters."""
    b = x.compact
    return {
        f"sig_dup_{n}gram_frac": _ratio(ngrams.covered_chars_per_doc(x.repetition[n].dup_starts, n, b), b.lengths)
        for n in _DUP_NS
    }


# Terminal punctuation for a Chinese line (FineWeb's line_punct filter uses . ! ? and closing quotes).
_TERMINAL = "[。！？!?…；;.”」』\"')）》]$"


def _unit_stats(x: SignalInput, sep: str, prefix: str) -> Columns:
    units = (
        pl.DataFrame({"row": np.arange(x.n), "u": x.text.str.split(sep)})
        .explode("u")
        .with_columns(pl.col("u").str.strip_chars())
        .filter(pl.col("u").str.len_chars() > 0)
        .with_columns(dup=~pl.col("u").is_first_distinct().over("row"), ulen=pl.col("u").str.len_chars())
    )
    agg = units.group_by("row").agg(
        total=pl.len(),
        dups=pl.col("dup").sum(),
        dup_chars=pl.col("ulen").filter(pl.col("dup")).sum(),
        punct=pl.col("u").str.contains(_TERMINAL).sum(),
        short=(pl.col("ulen") < 10).sum(),
    )
    full = pl.DataFrame({"row": np.arange(x.n)}).join(agg, on="row", how="left", maintain_order="left").fill_null(0)
    total = full["total"].to_numpy()
    out: Columns = {
        f"{prefix}_frac": _ratio(full["dups"].to_numpy(), total),
        f"{prefix}_char_frac": _ratio(full["dup_chars"].to_numpy(), x.char_len),
    }
    if prefix == "sig_dup_line":
        out["sig_line_punct_ratio"] = _ratio(full["punct"].to_numpy(), total)
        out["sig_short_line_ratio"] = _ratio(full["short"].to_numpy(), total)
    return out


@signal("dup_lines", 1, ("sig_dup_line_frac", "sig_dup_line_char_frac", "sig_line_punct_ratio", "sig_short_line_ratio"))
def _dup_lines(x: SignalInput) -> Columns:
    """Gopher duplicate lines (non-first occurrences of a non-empty line: share of lines and of characters),
    and FineWeb's line punctuation ratio and short-line ratio (lines under 10 characters)."""
    return _unit_stats(x, "\n", "sig_dup_line")


@signal("dup_paragraphs", 1, ("sig_dup_para_frac", "sig_dup_para_char_frac"))
def _dup_paras(x: SignalInput) -> Columns:
    """Gopher duplicate paragraphs (blank-line separated): share of paragraphs and of characters."""
    return _unit_stats(x, "\n\n", "sig_dup_para")


@signal("newline_ratio", 1, ("sig_newline_ratio",))
def _newline_ratio(x: SignalInput) -> Columns:
    """FineWeb's new-line ratio, per character (Chinese has no word count to divide by)."""
    return {"sig_newline_ratio": _ratio(x.n_lines - 1, x.char_len)}


# ---------------------------------------------------------------- dialogues


@signal("dialogue_shape", 1, ("sig_n_turns", "sig_n_speakers", "sig_missing_role", "sig_min_turn_chars",
                              "sig_max_turn_chars", "sig_repeated_turn_frac", "sig_top_speaker_frac"),
        needs_turns=True)
def _dialogue_shape(x: SignalInput) -> Columns:
    """Turn count, speakers, role coverage, utterance length bounds, repeated utterances, dominance."""
    n = x.n
    if x.turns is None or len(x.turns) == 0:
        values, parents = None, np.zeros(0, dtype=np.int64)
    else:
        values, parents = flat_children(x.turns)
    turns = pl.DataFrame({
        "row": parents,
        "speaker": pl.from_arrow(values.field("speaker")).cast(pl.String) if values is not None else [],
        "role": pl.from_arrow(values.field("role")).cast(pl.String) if values is not None else [],
        "text": pl.from_arrow(values.field("text")).cast(pl.String) if values is not None else [],
    }, schema={"row": pl.Int64, "speaker": pl.String, "role": pl.String, "text": pl.String})
    turns = turns.with_columns(
        tlen=pl.col("text").fill_null("").str.len_chars(),
        repeated=~pl.col("text").is_first_distinct().over("row"),
    )
    top = turns.group_by("row", "speaker").len().group_by("row").agg(top=pl.col("len").max())
    agg = turns.group_by("row").agg(
        n_turns=pl.len(),
        n_speakers=pl.col("speaker").n_unique(),
        seeker=(pl.col("role") == "seeker").any(),
        supporter=(pl.col("role") == "supporter").any(),
        min_len=pl.col("tlen").min(),
        max_len=pl.col("tlen").max(),
        repeated=pl.col("repeated").sum(),
    ).join(top, on="row")
    full = pl.DataFrame({"row": np.arange(n)}).join(agg, on="row", how="left", maintain_order="left").fill_null(0)
    n_turns = full["n_turns"].to_numpy()
    seeker, supporter = full["seeker"].fill_null(False).to_numpy(), full["supporter"].fill_null(False).to_numpy()
    return {
        "sig_n_turns": n_turns,
        "sig_n_speakers": full["n_speakers"].to_numpy(),
        "sig_missing_role": (seeker | supporter) & ~(seeker & supporter),
        "sig_min_turn_chars": full["min_len"].to_numpy(),
        "sig_max_turn_chars": full["max_len"].to_numpy(),
        "sig_repeated_turn_frac": _ratio(full["repeated"].to_numpy(), n_turns),
        "sig_top_speaker_frac": _ratio(full["top"].to_numpy(), n_turns),
    }


def _per_row(x: SignalInput, agg: pl.DataFrame) -> pl.DataFrame:
    """`agg` (one row per record `row` that has any) spread over every row of the batch, nulls elsewhere."""
    return pl.DataFrame({"row": np.arange(x.n)}).join(agg, on="row", how="left", maintain_order="left")


@signal("support_style", 1, ("sig_sup_mean_chars", "sig_sup_cv_chars", "sig_sup_question_frac",
                             "sig_sup_opening_frac", "sig_sup_ai_frac", "sig_sup_slogan_frac"), needs_turns=True)
def _support_style(x: SignalInput) -> Columns:
    """The supporter's turns: mean length in characters and its coefficient of variation (standard deviation
    / mean), and the share of turns that ask a question, open with a formula (我理解你的感受…, 听到你…),
    speak as an AI assistant (作为一个AI…, 很抱歉，我无法…) or carry a stock slogan (加油, 相信自己, 你并不孤单…);
    cue patterns in `curate/stages/dialogue_cues.py`. 0 for a dialogue without supporter turns."""
    text = pl.col("text")
    sup = x.turn_frame.filter(pl.col("role") == "supporter").with_columns(
        chars=text.str.len_chars().cast(pl.Float64),
        question=text.str.contains(cues.QUESTION),
        opening=text.str.strip_chars().str.contains(cues.OPENING),
        ai=text.str.contains(cues.AI_BOILERPLATE),
        slogan=text.str.contains(cues.SLOGAN),
    )
    agg = sup.group_by("row").agg(
        mean=pl.col("chars").mean(), std=pl.col("chars").std(ddof=0),
        question=pl.col("question").mean(), opening=pl.col("opening").mean(), ai=pl.col("ai").mean(),
        slogan=pl.col("slogan").mean(),
    )
    full = _per_row(x, agg).fill_null(0.0)
    mean = full["mean"].to_numpy()
    return {
        "sig_sup_mean_chars": mean,
        "sig_sup_cv_chars": _ratio(full["std"].to_numpy(), mean),
        "sig_sup_question_frac": full["question"].to_numpy(),
        "sig_sup_opening_frac": full["opening"].to_numpy(),
        "sig_sup_ai_frac": full["ai"].to_numpy(),
        "sig_sup_slogan_frac": full["slogan"].to_numpy(),
    }


@signal("support_substance", 1, ("sig_sup_open_questions", "sig_sup_content_bigrams", "sig_sup_closing_frac",
                                 "sig_sup_list_frac"), needs_turns=True)
def _support_substance(x: SignalInput) -> Columns:
    """What the supporter's turns hold beyond formula: open questions and invitations to say more per turn
    (什么, 怎么, 为什么, 说说…), distinct content bigrams per turn (pairs of adjacent Chinese characters, other
    characters dropped, neither a function character: how specific a turn is), and the share of turns with a
    stock closing (不客气, 祝你…) or advice lectured as a list (首先…其次…, numbered lines); cue patterns in
    `curate/stages/dialogue_cues.py`. 0 for a dialogue without supporter turns."""
    text = pl.col("text")
    sup = x.turn_frame.filter(pl.col("role") == "supporter")
    sup = sup.with_columns(
        open=text.str.count_matches(cues.OPEN_QUESTION).cast(pl.Float64),
        bigrams=pl.Series(_content_bigrams(sup["text"].to_arrow()), dtype=pl.Float64),
        closing=text.str.contains(cues.CLOSING),
        lst=text.str.contains(cues.ADVICE_LIST),
    )
    agg = sup.group_by("row").agg(open=pl.col("open").mean(), bigrams=pl.col("bigrams").mean(),
                                  closing=pl.col("closing").mean(), lst=pl.col("lst").mean())
    full = _per_row(x, agg).fill_null(0.0)
    return {"sig_sup_open_questions": full["open"].to_numpy(), "sig_sup_content_bigrams": full["bigrams"].to_numpy(),
            "sig_sup_closing_frac": full["closing"].to_numpy(), "sig_sup_list_frac": full["lst"].to_numpy()}


_CJK = (0x4E00, 0x9FFF)  # the CJK Unified Ideographs block: what counts as a Chinese character here


def _content_table() -> np.ndarray:
    """Per character of the CJK block (code point - _CJK[0]): True unless a function character."""
    table = np.ones(_CJK[1] - _CJK[0] + 1, dtype=np.bool_)
    table[[ord(c) - _CJK[0] for c in cues.FUNCTION_CHARS]] = False
    return table


_CONTENT = _content_table()


def _content_bigrams(texts: pa.Array) -> np.ndarray:
    """Distinct content bigrams of each text: adjacent pairs of its Chinese characters (others removed first),
    neither of them a function character."""
    batch = ngrams.to_codepoints(texts)
    longest = int(batch.lengths.max()) if batch.n_docs else 0
    return _distinct_content_pairs(batch.codepoints, batch.offsets, longest, _CONTENT, _CJK[0])


@numba.njit(nogil=True, cache=True)
def _distinct_content_pairs(cps: np.ndarray, offsets: np.ndarray, longest: int, content: np.ndarray,
                            first: int) -> np.ndarray:  # pragma: no cover - compiled
    """Per text, the distinct pairs: each text's pair keys sorted in a buffer of the longest text's size (a
    global np.unique over the batch's keys was most of the signal's time)."""
    width = len(content)
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.float64)
    buf = np.empty(longest, dtype=np.int64)
    for d in range(n):
        m = 0
        prev = -1
        for i in range(offsets[d], offsets[d + 1]):
            k = np.int64(cps[i]) - first
            if k < 0 or k >= width:
                continue  # not a Chinese character: dropped, so its neighbours pair up
            if prev >= 0 and content[prev] and content[k]:
                buf[m] = prev * width + k
                m += 1
            prev = k
        if m:
            keys = np.sort(buf[:m])
            distinct = 1
            for j in range(1, m):
                distinct += keys[j] != keys[j - 1]
            out[d] = distinct
    return out


@signal("seeker_engagement", 1, ("sig_seek_reply_chars", "sig_seek_reply_trend"), needs_turns=True)
def _seeker_engagement(x: SignalInput) -> Columns:
    """How much the help-seeker keeps talking after their opening turn (often a long forum post): the mean
    length in characters of their later turns, and its trend, the mean length of the later half of those
    turns over the earlier half (1 = steady, below 1 = fading to 谢谢 / 好的). 0 and 1 when there are fewer
    than one and two later turns."""
    seek = (x.turn_frame.filter(pl.col("role") == "seeker")
            .with_columns(k=pl.col("pos").rank("ordinal").over("row") - 1, chars=pl.col("text").str.len_chars())
            .filter(pl.col("k") >= 1)
            .with_columns(late=pl.col("k") > (pl.col("k").max().over("row") + 1) / 2))
    agg = seek.group_by("row").agg(
        mean=pl.col("chars").mean(), n=pl.len(),
        early=pl.col("chars").filter(~pl.col("late")).mean(), late=pl.col("chars").filter(pl.col("late")).mean(),
    )
    full = _per_row(x, agg)
    trend = np.where(full["n"].fill_null(0).to_numpy() >= 2,
                     _ratio(full["late"].fill_null(0.0).to_numpy(), full["early"].fill_null(0.0).to_numpy()), 1.0)
    return {"sig_seek_reply_chars": full["mean"].fill_null(0.0).to_numpy(), "sig_seek_reply_trend": trend}


def compute_signals(x: SignalInput, columns: list[str]) -> Columns:
    """Compute the producers behind `columns` once each; returns every column they produce."""
    out: Columns = {}
    for col in columns:
        if col not in REGISTRY:
            raise KeyError(f"unknown signal {col!r}; known: {sorted(REGISTRY)}")
        if col in out:
            continue
        out.update(REGISTRY[col].fn(x))
    return out


def signal_versions() -> dict[str, int]:
    """Signal producer name -> version, for the manifest."""
    return {s.name: s.version for s in REGISTRY.values()} | dict(GLOBAL_SIGNALS.values())
