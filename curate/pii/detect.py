"""Find PII in a column of texts: Polars (Rust regex) passes over the column pick the texts that may hold some
(`curate.pii.patterns`: gates, then each detector's core), one Python pass per detector over the texts it
picked, joined, finds the candidates, and checks (check digits, Luhn, cue words, surnames, common words) run
on those few candidates only.

A finding is a span of one text with its type and a *key*: the canonical value (digits only for numbers,
lower case for e-mail, the name itself), so that the same value typed two ways gets the same placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import polars as pl

from curate.pii.config import PiiRules, load_pii_rules
from curate.pii.patterns import CJK, Patterns, name_before_title
from curate.pii.validators import (
    ascii_digits,
    classify_digits,
    ipv4_ok,
    ipv6_ok,
    url_personal,
    why_not_digits,
)
from curate.pii.words import CommonWords, common_words

JOIN = "\n"  # between texts in the joined string: no detector crosses a line break

_GROUP = re.compile(r"[0-9０-９]+|[Xx]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_URL_TRAILING = ".,;:!?'\"*"
NAME_BEFORE_TITLE_CHARS = 4  # the longest name `name_before_title` finds: a compound surname and two given characters


@dataclass(frozen=True)
class Finding:
    """One piece of PII (or, with `kept` False, a candidate the checks turned down, for `explain`)."""

    unit: int  # index of the text in the column scanned
    start: int  # character offsets in that text
    end: int
    type: str
    key: str  # canonical value: equal keys get one placeholder within a record
    detector: str
    why: str
    kept: bool = True


class Checker:
    """Turns the scanner's raw matches into findings, with the settings' word lists at hand."""

    def __init__(self, rules: PiiRules, types: frozenset[str]) -> None:
        self.rules = rules
        self.types = types
        self.singles = frozenset(s for s in rules.surnames if len(s) == 1)
        self.compounds = frozenset(s for s in rules.surnames if len(s) == 2)
        self.weak = frozenset(rules.weak_surnames)
        self.titles = tuple(sorted(rules.titles, key=len, reverse=True))
        self.wechat_id = re.compile(rules.wechat_id)
        self.qq_number = re.compile(rules.qq_number)

    @cached_property
    def _not_names_by_char(self) -> dict[str, list[tuple[str, int]]]:
        """Each listed non-name word under each of its characters, with that character's offset in it."""
        index: dict[str, list[tuple[str, int]]] = {}
        for word in sorted(set(self.rules.not_names), key=len, reverse=True):
            for k, c in enumerate(word):
                index.setdefault(c, []).append((word, k))
        return index

    def _covered(self, text: str, a: int, b: int) -> str | None:
        """The listed non-name word overlapping text[a:b], if any (`高中` in `高中老师`, `班主任` over `班`)."""
        index = self._not_names_by_char
        for i in range(a, b):
            for word, k in index.get(text[i], ()):
                if i - k >= 0 and text.startswith(word, i - k):
                    return word
        return None

    def _surname(self, name: str) -> str | None:
        if len(name) >= 2 and name[:2] in self.compounds:
            return name[:2]
        return name[0] if name and name[0] in self.singles else None

    @cached_property
    def _words(self) -> CommonWords:
        return common_words(*self.rules.common_words)

    def _left_word(self, text: str, a: int, b: int) -> str | None:
        """A common word that starts before text[a:b] and ends inside it (`邻居` over `居阿姨`)."""
        words = self._words.words
        for k in (1, 2, 3):
            for j in range(1, min(b - a, 4 - k) + 1):
                if a - k >= 0 and text[a - k: a + j] in words:
                    return text[a - k: a + j]
        return None

    def _word_reason(self, text: str, a: int, b: int, *, whole: bool, right: bool, surname: str = "") -> str | None:
        """Why text[a:b] is not a name: it overlaps a listed non-name, a common word reaches into it from the
        left, it is itself a common word (`whole`), or a common word extends it to the right (`right`:
        `小王子`)."""
        word = self._covered(text, a, b) or self._left_word(text, a, b)
        if word:
            return f"part of the word {word!r}"
        not_names = self._words.not_names
        if whole:  # a word from the surname on: `经常` in `经常有同学`, `符合` in `符合老师的期待` (not `欧阳` itself;
            # a place name only when it is the whole candidate: `黄海玲` is a name, `黄海` in it a sea)
            places = self._words.places
            for j in range(b, a + max(1, len(surname)), -1):
                if text[a:j] in not_names and (j == b or text[a:j] not in places):
                    return f"the word {text[a:j]!r}"
        if right:
            for k in (1, 2):
                if b + k <= len(text) and text[a: b + k] in not_names:
                    return f"part of the word {text[a: b + k]!r}"
        return None

    # ------------------------------------------------------------------------------------------ per detector

    def check(self, m: re.Match[str], text: str) -> list[tuple[int, int, str, str, str, str, bool]]:
        """(start, end, type, key, detector, why, kept) for one scanner match (offsets in `text`)."""
        name = m.lastgroup or ""
        value = f"v_{name}"
        a, b = m.span(value) if value in m.re.groupindex else m.span()
        return getattr(self, f"_{name}")(text, a, b, m)

    def _one(self, a: int, b: int, typ: str, key: str, detector: str, why: str) -> list:
        if typ not in self.types:  # a cue can yield a type the job left out (a phone after 微信)
            return [(a, b, typ, key, detector, f"type {typ} is off; {why}", False)]
        return [(a, b, typ, key, detector, why, True)]

    def _no(self, a: int, b: int, typ: str, detector: str, why: str) -> list:
        return [(a, b, typ, "", detector, why, False)]

    def _email(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        return self._one(a, b, "email", text[a:b].replace("＠", "@").lower(), "email", "address@domain.tld")

    def _url(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        while b > a and text[b - 1] in _URL_TRAILING:
            b -= 1
        url = text[a:b]
        why = url_personal(url, self.rules.url_personal_paths, self.rules.url_personal_hosts)
        if why is None:
            return self._no(a, b, "url", "url", "no personal path (a site or article link stays)")
        return self._one(a, b, "url", url.lower(), "url", why)

    def _ipv4(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        if not ipv4_ok(text[a:b]):
            return self._no(a, b, "ip", "ipv4", "0.0.0.0")
        return self._one(a, b, "ip", text[a:b], "ipv4", "four octets 0-255")

    def _ipv6(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        if not ipv6_ok(text[a:b]):
            return self._no(a, b, "ip", "ipv6", "not an IPv6 address (a time, ::, ::1)")
        return self._one(a, b, "ip", text[a:b].lower(), "ipv6", "valid IPv6 address")

    def _cue_value(self, text: str, a: int, b: int, m: re.Match[str], detector: str) -> list:
        """A value after a QQ / WeChat / add-me cue: a phone number, a QQ number or a WeChat id."""
        v = ascii_digits(text[a:b])
        cue = text[m.start(): a].strip(" 　:：")
        if v.isdigit():
            if detector == "qq" and self.qq_number.fullmatch(v):
                return self._one(a, b, "qq", v, detector, f"QQ number after cue {cue!r}")
            if _MOBILE.fullmatch(v):
                if v in self.rules.allow:
                    return self._no(a, b, "phone", detector, "on the allow list")
                return self._one(a, b, "phone", v, detector, f"mobile number after cue {cue!r}")
            if not self.qq_number.fullmatch(v):
                return self._no(a, b, "qq", detector, f"digits after cue {cue!r} but not a QQ number")
            typ = "wechat" if detector == "wechat" else "qq"
            return self._one(a, b, typ, v, detector, f"number after cue {cue!r}")
        if detector == "qq":
            return self._no(a, b, "qq", detector, f"letters after cue {cue!r}: QQ numbers are digits")
        if not self.wechat_id.fullmatch(text[a:b]):
            return self._no(a, b, "wechat", detector, f"after cue {cue!r} but not a WeChat id {self.rules.wechat_id}")
        return self._one(a, b, "wechat", text[a:b], detector, f"WeChat id after cue {cue!r}")

    def _qq(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        return self._cue_value(text, a, b, m, "qq")

    def _wechat(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        return self._cue_value(text, a, b, m, "wechat")

    def _contact(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        return self._cue_value(text, a, b, m, "contact")

    def _number(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        """A run of digit groups: the whole run, else the longest runs of whole groups inside it, that have a
        phone, landline, ID or card shape (`2023 139 1234 5678` holds a phone number after a year)."""
        groups = [(g.start(), g.end(), ascii_digits(g.group()).upper()) for g in _GROUP.finditer(text, a, b)]
        out: list = []
        allowed: list[tuple[int, int]] = []
        i = 0
        while i < len(groups):
            for j in range(len(groups), i, -1):
                if j < len(groups) and groups[j][2] == "X" and groups[j][0] == groups[j - 1][1]:
                    continue  # 17 digits and an X: an ID number (right or wrong), never a card without its X
                digits = "".join(g[2] for g in groups[i:j])
                if digits in self.rules.allow or digits[-11:] in self.rules.allow and digits.startswith("86"):
                    allowed.append((groups[i][0], groups[j - 1][1]))
                    i = j
                    break
                res = classify_digits(digits, self.rules.allow)
                if res:
                    s, e = groups[i][0], groups[j - 1][1]
                    if s > 0 and text[s - 1] in "+＋(（":
                        s -= 1
                    typ, why = res
                    key = digits[-11:] if typ == "phone" else digits
                    out += self._one(s, e, typ, key, "number", why)
                    i = j
                    break
            else:
                i += 1
        out += [(s, e, "number", "", "number", "on the allow list (public hotline)", False) for s, e in allowed]
        if not out:
            digits = ascii_digits(re.sub(r"[^0-9０-９Xx]", "", text[a:b])).upper()
            return self._no(a, b, "number", "number", why_not_digits(digits, self.rules.allow))
        return out

    def _plate(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        plate = text[a:b].upper()
        tail = re.sub(r"[ ·•・\-]", "", plate[2:])
        if sum(c.isdigit() for c in tail) < 2:
            return self._no(a, b, "plate", "plate", "fewer than two digits after the authority letter")
        return self._one(a, b, "plate", plate[:2] + tail, "plate", "province, letter, 5-6 characters")

    def _name_intro(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        surname = self._surname(text[a:b]) or ""
        if text[a + len(surname): b + 2].startswith(self.titles):  # `她的名字是李医生`: the name is 李
            b = a + len(surname)
        name = text[a:b]
        word = self._covered(text, a, b)
        if word:
            return self._no(a, b, "name", "name_intro", f"part of the word {word!r}")
        if surname in self.weak and name in self._words.not_names:  # `名字是公婆`: a word, not a name
            return self._no(a, b, "name", "name_intro", f"the word {name!r}")
        cue = text[m.start(): a].strip(" 　")
        return self._one(a, b, "name", name, "name_intro", f"surname {self._surname(name)} after {cue!r}")

    @cached_property
    def _name_before_title(self) -> re.Pattern[str]:
        return name_before_title(self.rules)

    def worth_checking(self, detector: str, text: str, starts: list[int]) -> np.ndarray | None:
        """Which of a detector's matches (starting at `starts` in `text`) `check` may report anything for; None:
        all. A title with no surname right before it (most of them: `老师您好`) yields nothing, so the test
        `_name_title` starts with runs here over all the titles' windows at once (Polars, Rust regex: the pattern
        reads the same in both engines; no window holds a line break, as the surname and given name are CJK)."""
        if detector != "name_title" or not starts:
            return None
        windows = pl.Series([text[max(0, a - NAME_BEFORE_TITLE_CHARS): a] for a in starts], dtype=pl.String)
        return windows.str.contains(self._name_before_title.pattern).to_numpy()

    def _name_title(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        """A title (`老师`) and, before it, a surname and given name: the longest plausible name ending at the
        title (`主任王老师` → 王, `张伟老师` → 张伟, `高中老师`, `邻居阿姨` → none)."""
        title = text[a:b]
        lo = max(0, a - NAME_BEFORE_TITLE_CHARS, text.rfind(JOIN, 0, a) + 1)
        before = self._name_before_title.search(text, lo, a)
        if before is None:
            return []  # no surname before the title: nothing to report
        why = "starts with a surname that is more often a word"
        for s in range(before.start(), a):
            surname = self._surname(text[s:a])
            if surname is None or surname in self.weak:
                continue
            reason = self._word_reason(text, s, a, whole=True, right=False, surname=surname)
            if reason:
                why = reason
                continue
            return self._one(s, a, "name", text[s:a], "name_title", f"surname {surname} before {title!r}")
        return self._no(before.start(), a, "name", "name_title", why)

    def _name_nick(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        reason = self._word_reason(text, a, b, whole=False, right=True)
        if reason:
            return self._no(a, b, "name", "name_nick", reason)
        # `小叶榕`, `小孔雀`: a pair that is also a common noun, running on into another character, is a word
        after = text[b] if b < len(text) else ""
        if text[a:b] in self._words.not_names and CJK[0] <= ord(after or "\0") <= CJK[1] and after not in self.rules.given_stop_chars:
            return self._no(a, b, "name", "name_nick", f"the word {text[a:b]!r} runs on into {after!r}")
        return self._one(a, b, "name", text[a:b], "name_nick", f"{text[a]} + common surname {text[a + 1]}")

    def _address(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        return self._one(a, b, "address", text[a:b], "address", "place, road or compound, and a number")


@cache
def checker_for(config: str, types: frozenset[str]) -> Checker:
    """The checker for settings file `config` and the enabled `types` (one per process)."""
    return Checker(load_pii_rules(config), types)


def _matching(col: pl.Series, pattern: str, words: Sequence[str] = ()) -> np.ndarray:
    """Positions of the texts in `col` that match `pattern` (Polars, Rust regex); with `words`, only among the
    texts that hold one of them (a necessary condition, tested first: a literal alternation, which Rust's regex
    searches with SIMD; Polars' contains_any builds its automaton per call and is slower here)."""
    if not words:
        return np.flatnonzero(col.str.contains(pattern).fill_null(False).to_numpy())
    holding = _matching(col, "|".join(re.escape(w) for w in words))
    return holding[_matching(col.gather(holding), pattern)]


@cache
def _runs_and_core(alphabet: str, core: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(f"{alphabet}+"), re.compile(core)


def _runs_with(text: str, alphabet: str, core: str) -> str:
    """`text` with every run of `alphabet` characters that holds no match of `core` blanked (line breaks, one
    for one, so offsets stay): a pattern whose matches are made of `alphabet` and always hold a `core` match
    finds the same matches in it, faster (an address's place-name search tries every CJK character)."""
    runs, hit = _runs_and_core(alphabet, core)
    return runs.sub(lambda m: m[0] if hit.search(m[0]) else JOIN * len(m[0]), text)


def scan(texts: Sequence[str | None] | pl.Series, patterns: Patterns, checker: Checker, *,
         rejected: bool = False) -> list[Finding]:
    """Every finding in `texts` (with `rejected`, the turned-down candidates too), in detector order.

    Per family, its gate picks texts over the whole column; per detector, its core picks among those, and its
    Python pattern runs once over the picked texts joined by newlines.
    """
    col = texts if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
    out: list[Finding] = []
    for family in patterns.families:
        gated = _matching(col, family.gate)
        sub = col.gather(gated)
        if family.union is not None:
            keep = _matching(sub, family.union)
            gated, sub = gated[keep], sub.gather(keep)
        for det, core, pattern in family.detectors:
            among = _matching(sub, core, det.words)
            if len(among) == 0:
                continue
            picked = gated[among]
            chosen = sub.gather(among).to_list()
            joined = JOIN.join(chosen)
            starts = np.zeros(len(chosen), dtype=np.int64)
            np.cumsum([len(t) + len(JOIN) for t in chosen[:-1]], out=starts[1:])
            searched = _runs_with(joined, det.alphabet, core) if det.alphabet else joined
            matches = list(pattern.finditer(searched))  # same offsets as `joined`, which the checks read
            at = [m.start() for m in matches]
            worth = checker.worth_checking(det.name, joined, at)
            if worth is not None:
                matches = [m for m, w in zip(matches, worth.tolist(), strict=True) if w]
                at = [m.start() for m in matches]
            texts_of = (np.searchsorted(starts, np.array(at, dtype=np.int64), side="right") - 1).tolist()
            bases, units = starts.tolist(), picked.tolist()
            for m, k in zip(matches, texts_of, strict=True):
                base, unit = bases[k], units[k]
                for s, e, typ, key, detector, why, kept in checker.check(m, joined):
                    if kept or rejected:
                        out.append(Finding(unit, s - base, e - base, typ, key, detector, why, kept))
    return out
