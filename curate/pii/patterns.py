"""The detectors' regular expressions, built from the settings (rules/pii/pii.yaml).

Each detector is a *core* (what the PII and its cue look like) with optional guards around it (lookarounds:
not inside a longer number, not inside a word). Texts reach a detector's Python pattern through passes that
Polars runs over the column (Rust regex: linear time, no per-text Python):

1. its family's gate. The ASCII family (numbers, e-mail, URLs, IPs, QQ, WeChat, plates) needs four ASCII or
   full-width letters, digits or separators in a row, then one of its cores (their union). The Chinese
   family (names, addresses) needs one of a few literal words: titles, name cues, `小王`-style pairs, 号 and
   building words. On counselling text about one turn in ten passes.
2. its own core (or, where the core's automaton is large, a cheaper superset: the address's digit before
   号), over the texts its family's gate passed; where every match holds one of a few literal words but the core
   does not start with them (the address: 号 or a building word), first a pass for those words, which Rust
   searches far faster.

The cores use only syntax that both engines read the same way (classes of literal characters, `(?:…)`,
`(?P<…>…)`, counted repeats), so one source serves both. A union of all cores in one Rust regex would be a
single pass, but its automaton is too large for the lazy DFA and runs 25 times slower than the gates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from curate.pii.config import PiiRules, load_pii_rules

DIGIT = "[0-9０-９]"
SEP = "[ \\-－　]"  # what people type between digit groups: space, hyphen, full-width hyphen or space
CJK = (0x4E00, 0x9FA5)  # the basic block; rarer ideographs do not occur in place and given names here
CN_NUM = "[0-9０-９]+|[一二三四五六七八九十百零〇两]+"


def _alt(words: tuple[str, ...] | list[str]) -> str:
    """An alternation of literal words, longest first (so `微信号` wins over `微信`)."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def _class(chars: str | set[str]) -> str:
    """A character class of literal characters."""
    return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"


def cjk_except(stops: str) -> str:
    """A class of the basic CJK block without `stops`, written as ranges (both engines read it)."""
    excluded = sorted({ord(c) for c in stops if CJK[0] <= ord(c) <= CJK[1]})
    ranges, lo = [], CJK[0]
    for cp in [*excluded, CJK[1] + 1]:
        if cp > lo:
            ranges.append((lo, cp - 1))
        lo = cp + 1
    return "[" + "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]"


@dataclass(frozen=True)
class Detector:
    """One detector: its core, the guards around it, and the PII type(s) it can yield."""

    name: str
    core: str
    before: str = ""  # a lookbehind, Python only
    after: str = ""  # a lookahead, Python only
    prefilter: str = ""  # a cheaper superset of the core for Rust, where the core's automaton is large
    # literal words one of which every match holds, where the core has no literal prefix to search for: a pass for
    # them comes first, and the core's runs only over the texts holding one
    words: tuple[str, ...] = ()
    # a class of every character a match can hold (a pattern without lookarounds): the Python pattern then
    # searches only the runs of such characters that hold a match of the Rust core (`detect.scan`)
    alphabet: str = ""

    def python(self) -> str:
        return f"{self.before}(?P<{self.name}>{self.core}){self.after}"

    def rust(self) -> str:
        return self.prefilter or re.sub(r"\(\?P<\w+>", "(?:", self.core)


def _detectors(r: PiiRules, types: frozenset[str]) -> list[Detector]:
    """The detectors for the enabled types, in priority order (at one position the first that matches wins)."""
    gap = f"(?:[ 　:：]*(?:{_alt(r.cue_fillers)})){{0,2}}[ 　:：]*"
    out: list[Detector] = []
    if "email" in types:
        out.append(Detector("email", "[A-Za-z0-9._%+\\-]+[@＠][A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,}"))
    if "url" in types:
        chars = "[A-Za-z0-9\\-._~:/?#@!$&*+,;=%]"
        tlds = "com|cn|net|org|me|io|cc|tv|top|xyz|info|co"
        out.append(Detector(
            "url", f"(?:https?://|www\\.){chars}+|[A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)*\\.(?:{tlds})/{chars}*",
            before="(?<![A-Za-z0-9@.\\-])"))
    if "ip" in types:
        octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
        # not a list of numbers: `第8.9.10.11天`
        out.append(Detector("ipv4", f"(?:{octet}\\.){{3}}{octet}", before="(?<![0-9.第])",
                            after="(?![0-9]|\\.[0-9]|[天号日次月年个])"))
        out.append(Detector("ipv6", "[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}", before="(?<![0-9A-Za-z:])",
                            after="(?![0-9A-Za-z:])"))
    value = "[A-Za-z0-9_\\-]{5,20}"  # a QQ number, a WeChat id or a phone number after a cue; told apart later
    if "qq" in types:
        out.append(Detector("qq", f"(?:{_alt(r.qq_cues)}){gap}(?P<v_qq>{value})", before="(?<![A-Za-z])",
                            after="(?![A-Za-z0-9_\\-])"))
    if "wechat" in types:
        out.append(Detector("wechat", f"(?:{_alt(r.wechat_cues)}){gap}(?P<v_wechat>{value})",
                            before="(?<![A-Za-z])", after="(?![A-Za-z0-9_\\-])"))
    if types & {"qq", "wechat"}:
        out.append(Detector("contact", f"(?:{_alt(r.contact_cues)}){gap}(?P<v_contact>{value})",
                            after="(?![A-Za-z0-9_\\-])"))
    if types & {"phone", "landline", "id_card", "bank_card"}:
        out.append(Detector(
            "number", f"[+＋]?(?:[(（]{DIGIT}{{2,4}}[)）]{SEP}?)?{DIGIT}(?:{SEP}?{DIGIT}){{6,47}}(?:{SEP}?[Xx])?",
            before="(?<![0-9０-９.．])", after="(?![0-9０-９A-Za-z]|[.．][0-9０-９])"))
    if "plate" in types:
        letter = "[A-HJ-NP-Za-hj-np-z]"
        out.append(Detector("plate", f"{_class(r.plate_provinces)}{letter}[ ·•・\\-]?[A-HJ-NP-Za-hj-np-z0-9]{{5,6}}",
                            after="(?![A-Za-z0-9])"))
    if "name" in types:
        single = _class({s for s in r.surnames if len(s) == 1})
        compound = _alt([s for s in r.surnames if len(s) == 2])
        surname = f"(?:{compound}|{single})"
        given = cjk_except(r.given_stop_chars)
        out.append(Detector("name_intro", f"(?:{_alt(r.intro_cues)})[ 　]?(?P<v_name_intro>{surname}{given}{{1,2}})"))
        # found by its title and looked back from there (`name_before_title`): a surname class in front of a
        # pattern is slow in both engines, a literal title is fast
        out.append(Detector("name_title", f"(?:{_alt(r.titles)})"))
        out.append(Detector("name_nick", f"{_class(r.nickname_prefixes)}{_class(r.nickname_surnames)}"))
    if "address" in types:
        place = cjk_except(r.address_stop_chars)
        num = f"(?:{CN_NUM})"
        building = f"(?:{SEP}?{num}(?:{_alt(r.building_units)}))"
        unit = f"(?:{SEP}?{num}单元(?:[0-9０-９]{{3,4}}室?)?)"  # `3单元1603`: a room number without 室
        room = f"(?:{SEP}?{num}(?:{_alt(r.room_units)}))"
        compound = f"{place}{{1,8}}(?:{_alt(r.compound_suffixes)})"  # greedy: 翠苑小区 is one compound
        admin = f"(?:{place}{{1,8}}?(?:{_alt(r.admin_suffixes)})){{0,4}}"
        road = f"{place}{{1,8}}?(?:{_alt(r.road_suffixes)})(?:{num}(?:弄|巷))?{num}号(?:{compound})?{building}?{unit}?{room}?"
        # every address has a number right before 号 or a building word: a cheap first look
        digit = "[0-9０-９一二三四五六七八九十百零〇两]"
        # what the pieces above are made of: CJK (places), numbers, separators and the suffixes' own characters
        literal = "".join([*r.admin_suffixes, *r.road_suffixes, *r.compound_suffixes, *r.building_units,
                           *r.room_units, "单元室弄巷号"])
        alphabet = f"(?:[{chr(CJK[0])}-{chr(CJK[1])}]|{digit}|{SEP}|{_class(literal)})"
        out.append(Detector("address", f"{admin}(?:{road}|{compound}{building}{unit}?{room}?)",
                            prefilter=f"{digit}(?:号|{_alt(r.building_units)})", words=("号", *r.building_units),
                            alphabet=alphabet))
    return out


# Every ASCII-family detector needs four characters in a row from these (a phone number's digits and spaces,
# an e-mail, a plate's five characters, a cue's value): most short numbers (18岁, 3月) do not pass.
_ASCII = "0-9A-Za-z０-９Ａ-Ｚａ-ｚ＠@"
ASCII_GATE = f"[{_ASCII}][{_ASCII} \\-－.:/_]{{3}}"
CHINESE_FAMILY = frozenset({"name_intro", "name_title", "name_nick", "address"})


def _chinese_gate(r: PiiRules, names: set[str]) -> str:
    """Literal words one of which every text the Chinese family can match contains."""
    words: list[str] = []
    if "name_intro" in names:
        words += r.intro_cues
    if "name_title" in names:
        words += r.titles
    if "name_nick" in names:
        words += [p + s for p in r.nickname_prefixes for s in r.nickname_surnames]
    if "address" in names:
        words += ["号", *r.building_units]
    return _alt(words)


def name_before_title(r: PiiRules) -> re.Pattern[str]:
    """A surname and up to two given-name characters ending where the pattern's search ends (a title)."""
    single = _class({s for s in r.surnames if len(s) == 1})
    compound = _alt([s for s in r.surnames if len(s) == 2])
    return re.compile(f"(?:{compound}|{single}){cjk_except(r.given_stop_chars)}{{0,2}}$")


@dataclass(frozen=True)
class Family:
    """Detectors behind one gate: each with its core (Rust) and full pattern (Python), in priority order.
    `union`: all the cores in one Rust pattern, a second gate where that is fast (the ASCII family's is; the
    Chinese family's automaton is too large)."""

    gate: str
    union: str | None
    detectors: tuple[tuple[Detector, str, re.Pattern[str]], ...]


@dataclass(frozen=True)
class Patterns:
    """The compiled detectors of the enabled types, by family."""

    families: tuple[Family, ...]

    @property
    def detectors(self) -> tuple[Detector, ...]:
        return tuple(d for f in self.families for d, _, _ in f.detectors)


@cache
def compile_patterns(config: str, types: frozenset[str]) -> Patterns:
    """Build (once per process) the gates and patterns for the enabled `types` of settings file `config`."""
    rules = load_pii_rules(config)
    detectors = _detectors(rules, types)
    families = []
    for chinese in (False, True):
        members = [d for d in detectors if (d.name in CHINESE_FAMILY) == chinese]
        if members:
            gate = _chinese_gate(rules, {d.name for d in members}) if chinese else ASCII_GATE
            union = None if chinese else "|".join(f"(?:{d.rust()})" for d in members)
            families.append(Family(gate, union, tuple((d, d.rust(), re.compile(d.python())) for d in members)))
    return Patterns(tuple(families))
