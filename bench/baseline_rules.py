"""A straightforward per-document, pure-Python implementation of curate's web rule signals and rules.

This is the reference `bench/rules.py` compares curate's vectorised rule stage against: one document
(`text: str`) at a time, written the way typical filtering scripts are (ChineseWebText 2.0's
`preprocess.py`, datatrove's per-document Gopher/FineWeb filters): `len`, `str.split`, `re.findall`,
`collections.Counter` over n-gram slices, a `bytearray` to mark covered characters. It is honest Python,
not deliberately slow, and it computes the same signals with the same definitions as
`curate/stages/signals.py` (see `schemas/record.json` and `rules/README.md`):

* `sig_char_len`, `sig_n_lines` (`len(text.split('\\n'))`), `sig_avg_line_len`;
* `sig_zh_char_ratio`: `re.findall('[\\u4e00-\\u9fa5]', text)` / `len(text)`;
* `sig_sensitive_hits` / `sig_sensitive_per_line`: distinct list words present in the lower-cased text,
  either CWT's loop (`for word in words: if word in text`) or one Aho-Corasick pass (`ahocorasick_rs`);
* `sig_rep13_ratio`: CWT's `judge_inner_repeat` over the compact text (strip, lower, drop ' ', '\\n',
  '\\t'; 13-grams `norm[i:i+13] for i in range(len(norm) - 13)`, or `[norm]` when shorter than 13);
* `sig_top_{2,3,4}gram_frac`: n × count of the most frequent character n-gram / compact length;
* `sig_dup_{5..10}gram_frac`: characters inside any n-gram occurring more than once / compact length;
* duplicated line and paragraph fractions (Gopher), line punctuation and short-line ratios (FineWeb),
  newline ratio.

Then the enabled rules of the rule sets that apply to web documents are checked in file order; the first
that fires is the drop reason. Dialogue rules (which need the turns) are not part of this baseline.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ahocorasick_rs

from curate.stages.rules import OPS, RuleSet

_ZH = re.compile("[\u4e00-\u9fa5]")
_SPACE = re.compile(" |\n|\t")  # ChineseWebText 2.0's space_p
# Characters a line may end with to count as punctuated (signals._TERMINAL, as a set)
_TERMINAL = frozenset("。！？!?…；;.”」』\"')）》")
_TOP_NS = (2, 3, 4)
_DUP_NS = (5, 6, 7, 8, 9, 10)

# The signals this baseline computes (every signal the enabled web rules of default.yaml read).
SIGNALS = (
    "sig_char_len", "sig_n_lines", "sig_avg_line_len", "sig_zh_char_ratio", "sig_sensitive_hits",
    "sig_sensitive_per_line", "sig_rep13_ratio",
    *(f"sig_top_{n}gram_frac" for n in _TOP_NS), *(f"sig_dup_{n}gram_frac" for n in _DUP_NS),
    "sig_dup_line_frac", "sig_dup_line_char_frac", "sig_dup_para_frac", "sig_dup_para_char_frac",
    "sig_line_punct_ratio", "sig_short_line_ratio", "sig_newline_ratio",
)


def _div(num: float, den: float) -> float:
    return num / den if den else 0.0


def loop_matcher(words: Sequence[str]) -> Callable[[str], int]:
    """ChineseWebText 2.0's sensitive-word count: `for word in words: if word in text` (distinct words)."""
    words = list(words)

    def count(text_lower: str) -> int:
        hits = 0
        for word in words:
            if word in text_lower:
                hits += 1
        return hits

    return count


def aho_corasick_matcher(words: Sequence[str]) -> Callable[[str], int]:
    """Distinct words present, found in one Aho-Corasick pass (`ahocorasick_rs`, overlapping matches)."""
    automaton = ahocorasick_rs.AhoCorasick(list(words))

    def count(text_lower: str) -> int:
        return len({idx for idx, _, _ in automaton.find_matches_as_indexes(text_lower, overlapping=True)})

    return count


def compact_text(text: str) -> str:
    """ChineseWebText 2.0's norm_str2: strip, lower-case, remove spaces, newlines and tabs."""
    return _SPACE.sub("", text.strip().lower())


def rep13_ratio(norm: str, n: int = 13) -> float:
    """ChineseWebText 2.0's judge_inner_repeat ratio, exactly (last window skipped, short text → [norm])."""
    grams = [norm] if len(norm) < n else [norm[i : i + n] for i in range(0, len(norm) - n)]
    counter = Counter(grams)
    repeated = sum(c for c in counter.values() if c > 1)
    return _div(repeated, len(grams))


def top_ngram_frac(norm: str, n: int) -> float:
    """Gopher's top n-gram fraction on characters: n × count of the most frequent n-gram / characters."""
    if len(norm) < n:
        return 0.0
    counter = Counter([norm[i : i + n] for i in range(len(norm) - n + 1)])
    return _div(n * max(counter.values()), len(norm))


def dup_ngram_frac(norm: str, n: int) -> float:
    """Gopher's duplicated n-gram fraction on characters: characters covered by any n-gram that occurs
    more than once (overlapping windows counted once) / characters."""
    if len(norm) < n:
        return 0.0
    grams = [norm[i : i + n] for i in range(len(norm) - n + 1)]
    repeated = {gram for gram, count in Counter(grams).items() if count > 1}
    if not repeated:
        return 0.0
    covered = bytearray(len(norm))
    ones = b"\x01" * n
    for i in [i for i, gram in enumerate(grams) if gram in repeated]:
        covered[i : i + n] = ones
    return _div(covered.count(1), len(norm))


def unit_stats(text: str, sep: str) -> tuple[float, float, float, float]:
    """For units split on `sep` (stripped, empty ones skipped): share of units repeating an earlier one,
    share of the text's characters in those repeats, share ending in terminal punctuation, share of
    units under 10 characters."""
    units = [u.strip() for u in text.split(sep)]
    units = [u for u in units if u]
    seen: set[str] = set()
    dups = dup_chars = punct = short = 0
    for u in units:
        if u in seen:
            dups += 1
            dup_chars += len(u)
        else:
            seen.add(u)
        if u[-1] in _TERMINAL:
            punct += 1
        if len(u) < 10:
            short += 1
    total = len(units)
    return _div(dups, total), _div(dup_chars, len(text)), _div(punct, total), _div(short, total)


def compute_signals(text: str, count_words: Callable[[str], int]) -> dict[str, float]:
    """Every web signal of one document, as plain Python numbers."""
    char_len = len(text)
    n_lines = len(text.split("\n"))
    hits = count_words(text.lower())
    norm = compact_text(text)
    sig: dict[str, float] = {
        "sig_char_len": char_len,
        "sig_n_lines": n_lines,
        "sig_avg_line_len": _div(char_len, n_lines),
        "sig_zh_char_ratio": _div(len(_ZH.findall(text)), char_len),
        "sig_sensitive_hits": hits,
        "sig_sensitive_per_line": _div(hits, n_lines),
        "sig_rep13_ratio": rep13_ratio(norm),
    }
    for n in _TOP_NS:
        sig[f"sig_top_{n}gram_frac"] = top_ngram_frac(norm, n)
    for n in _DUP_NS:
        sig[f"sig_dup_{n}gram_frac"] = dup_ngram_frac(norm, n)
    line_dup, line_dup_chars, line_punct, line_short = unit_stats(text, "\n")
    para_dup, para_dup_chars, _, _ = unit_stats(text, "\n\n")
    sig |= {
        "sig_dup_line_frac": line_dup,
        "sig_dup_line_char_frac": line_dup_chars,
        "sig_dup_para_frac": para_dup,
        "sig_dup_para_char_frac": para_dup_chars,
        "sig_line_punct_ratio": line_punct,
        "sig_short_line_ratio": line_short,
        "sig_newline_ratio": _div(n_lines - 1, char_len),
    }
    return sig


@dataclass(frozen=True)
class BaselineRules:
    """The enabled web rules of some rule sets, checked per document in file order."""

    rules: tuple[tuple[str, str, Callable[[float, float], bool], float], ...]  # (id, signal, op, value)
    count_words: Callable[[str], int]

    @classmethod
    def from_rule_sets(cls, rule_sets: Sequence[RuleSet], matcher: str = "aho-corasick") -> BaselineRules:
        """Take the rules of the sets that apply to web documents; `matcher` is 'loop' or 'aho-corasick'."""
        rules = []
        words: list[str] = []
        for rs in rule_sets:
            if "web" not in rs.applies_to:
                continue
            if rs.words is not None and not words:
                words = rs.words.words
            for r in rs.active:
                if r.signal not in SIGNALS:
                    raise ValueError(f"baseline does not compute {r.signal} (rule {r.id})")
                rules.append((r.id, r.signal, OPS[r.op], r.value))
        make = {"loop": loop_matcher, "aho-corasick": aho_corasick_matcher}[matcher]
        return cls(tuple(rules), make(words))

    def signals(self, text: str) -> dict[str, float]:
        """All signals of one document."""
        return compute_signals(text, self.count_words)

    def drop_reason(self, sig: dict[str, float]) -> str | None:
        """The id of the first rule that fires, or None."""
        for rule_id, signal, op, value in self.rules:
            if op(sig[signal], value):
                return rule_id
        return None

    def __call__(self, text: str) -> tuple[str | None, dict[str, float]]:
        """Drop reason and signals of one document."""
        sig = self.signals(text)
        return self.drop_reason(sig), sig
