"""Find PII in a column of texts: one Rust-regex pass picks the texts that may hold some, one Python pass over
those texts joined finds the candidates, and checks (check digits, Luhn, cue words, surname lists) run on the
few candidates only.

A finding is a span of one text with its type and a *key*: the canonical value (digits only for numbers,
lower case for e-mail, the name itself), so that the same value typed two ways gets the same placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from curate.pii.config import PiiRules
from curate.pii.patterns import Patterns
from curate.pii.validators import (
    ascii_digits,
    classify_digits,
    ipv4_ok,
    ipv6_ok,
    url_personal,
    why_not_digits,
)

JOIN = "\n"  # between texts in the joined string: no detector crosses a line break

_GROUP = re.compile(r"[0-9０-９]+|[Xx]")
_QQ_SHAPE = re.compile(r"[1-9][0-9]{4,10}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_URL_TRAILING = ".,;:!?'\"*"


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
    def _not_names(self) -> re.Pattern[str]:
        # a lookahead finds overlapping occurrences (班主任 and 主任)
        words = sorted(set(self.rules.not_names), key=len, reverse=True)
        return re.compile("(?=(" + "|".join(re.escape(w) for w in words) + "))")

    def _covered(self, text: str, a: int, b: int) -> str | None:
        """The not-a-name word overlapping text[a:b], if any (`高中` in `高中老师`)."""
        lo = max(0, a - 3)
        for m in self._not_names.finditer(text, lo, min(len(text), b + 3)):
            s, e = m.start(), m.start() + len(m.group(1))
            if s < b and e > a:
                return m.group(1)
        return None

    def _surname(self, name: str) -> str | None:
        if len(name) > 2 and name[:2] in self.compounds:
            return name[:2]
        return name[0] if name and name[0] in self.singles else None

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
        name = text[a:b]
        word = self._covered(text, a, b)
        if word:
            return self._no(a, b, "name", "name_intro", f"part of the word {word!r}")
        cue = text[m.start(): a].strip(" 　")
        return self._one(a, b, "name", name, "name_intro", f"surname {self._surname(name)} after {cue!r}")

    def _name_title(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        """Surname (and given name) before a title: the longest suffix of the candidate that is a plausible
        name (`主任王老师` → 王, `张伟老师` → 张伟, `高中老师` → none)."""
        title = text[b: m.end()]
        for s in range(a, b):
            cand = text[s:b]
            surname = self._surname(cand)
            if surname is None or surname in self.weak:
                continue
            if self._covered(text, s, b):
                continue
            return self._one(s, b, "name", cand, "name_title", f"surname {surname} before {title!r}")
        word = self._covered(text, a, b)
        why = f"part of the word {word!r}" if word else "starts with a surname that is more often a word"
        return self._no(a, b, "name", "name_title", why)

    def _name_nick(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        word = self._covered(text, a, b)
        if word:
            return self._no(a, b, "name", "name_nick", f"part of the word {word!r}")
        return self._one(a, b, "name", text[a:b], "name_nick", f"{text[a]} + common surname {text[a + 1]}")

    def _address(self, text: str, a: int, b: int, m: re.Match[str]) -> list:
        return self._one(a, b, "address", text[a:b], "address", "place, road or compound, and a number")


def _picked(col: pl.Series, idx: np.ndarray, pattern: str) -> np.ndarray:
    """The indices among `idx` whose text matches `pattern` (Polars, Rust regex)."""
    if len(idx) == 0:
        return idx
    hit = col.gather(idx).str.contains(pattern).fill_null(False).to_numpy()
    return idx[hit]


def scan(texts: Sequence[str | None] | pl.Series, patterns: Patterns, checker: Checker, *,
         rejected: bool = False) -> list[Finding]:
    """Every finding in `texts` (with `rejected`, the turned-down candidates too), in detector order.

    Per family, its gate picks texts over the whole column; per detector, its core picks among those, and its
    Python pattern runs once over the picked texts joined by newlines.
    """
    col = texts if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
    everything = np.arange(len(col))
    out: list[Finding] = []
    for family in patterns.families:
        gated = _picked(col, everything, family.gate)
        for _detector, core, pattern in family.detectors:
            picked = _picked(col, gated, core)
            if len(picked) == 0:
                continue
            chosen = col.gather(picked).fill_null("").to_list()
            joined = JOIN.join(chosen)
            starts = np.zeros(len(chosen), dtype=np.int64)
            np.cumsum([len(t) + len(JOIN) for t in chosen[:-1]], out=starts[1:])
            for m in pattern.finditer(joined):
                k = int(np.searchsorted(starts, m.start(), side="right")) - 1
                base, unit = int(starts[k]), int(picked[k])
                for s, e, typ, key, detector, why, kept in checker.check(m, joined):
                    if kept or rejected:
                        out.append(Finding(unit, s - base, e - base, typ, key, detector, why, kept))
    return out
