"""The PII detectors' settings as data: rules/pii/pii.yaml (and the surname list beside it), validated.

Errors name the file and the key, as the rule sets' do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from curate.assets import resolve_asset

DEFAULT_CONFIG = "pii/pii.yaml"


class PiiConfigError(ValueError):
    """A PII settings file that does not validate (the message names the file and the key)."""


def pii_types() -> tuple[str, ...]:
    """Every PII type, in schema order: the `pii_type` label set and the fields of `pii_counts`."""
    from curate.schema import (
        label_set,  # here: the job loader imports this module, and `--help` must stay light
    )

    return label_set("pii_type")


@dataclass(frozen=True)
class PiiRules:
    """The parsed settings file: what each detector looks for and how findings are replaced."""

    path: str
    files: tuple[str, ...]  # this file and the files it names (the surname list): what a run's hash covers
    types: tuple[str, ...]
    placeholder: str
    labels: dict[str, str]
    allow: frozenset[str]  # digits only
    qq_cues: tuple[str, ...]
    qq_number: str
    wechat_cues: tuple[str, ...]
    wechat_id: str
    contact_cues: tuple[str, ...]
    cue_fillers: tuple[str, ...]
    url_personal_paths: tuple[re.Pattern[str], ...]
    url_personal_hosts: tuple[str, ...]
    plate_provinces: str
    admin_suffixes: tuple[str, ...]
    road_suffixes: tuple[str, ...]
    compound_suffixes: tuple[str, ...]
    building_units: tuple[str, ...]
    room_units: tuple[str, ...]
    address_stop_chars: str
    surnames: tuple[str, ...]
    intro_cues: tuple[str, ...]
    titles: tuple[str, ...]
    nickname_prefixes: tuple[str, ...]
    nickname_surnames: str
    given_stop_chars: str
    weak_surnames: str
    not_names: tuple[str, ...]
    common_words: tuple[str, int]  # (dictionary, min_freq)
    speakers: bool
    speaker_given_names: bool
    role_words: frozenset[str]


_TOP_KEYS = {"version", "types", "placeholder", "labels", "allow", "qq", "wechat", "contact_cues", "cue_fillers", "url",
             "plate", "address", "name"}
_SECTION_KEYS = {
    "qq": {"cues", "number"},
    "wechat": {"cues", "id"},
    "url": {"personal_paths", "personal_hosts"},
    "plate": {"provinces"},
    "address": {"admin_suffixes", "road_suffixes", "compound_suffixes", "building_units", "room_units", "stop_chars"},
    "name": {"surnames", "intro_cues", "titles", "nickname_prefixes", "nickname_surnames", "given_stop_chars",
             "weak_surnames", "not_names", "common_words", "speakers", "speaker_given_names", "role_words"},
}


class _Reader:
    """Typed access to the YAML mapping; every error names the file and the key."""

    def __init__(self, doc: Any, path: Path) -> None:
        self.path = path
        if not isinstance(doc, dict):
            raise self.fail("top level", "a PII settings file is a YAML mapping")
        self.check_keys(doc, _TOP_KEYS, "top level")
        self.doc = doc

    def fail(self, where: str, msg: str) -> PiiConfigError:
        return PiiConfigError(f"{self.path}: {where}: {msg}")

    def check_keys(self, d: dict, allowed: set[str], where: str) -> None:
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key(s) {unknown}; allowed {sorted(allowed)}")

    def section(self, name: str) -> dict[str, Any]:
        d = self.doc.get(name)
        if not isinstance(d, dict):
            raise self.fail(name, "required: a mapping")
        self.check_keys(d, _SECTION_KEYS[name], name)
        return d

    def strings(self, d: dict, key: str, where: str) -> tuple[str, ...]:
        value = d.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{where}.{key}" if where else key, "required: a non-empty list of strings")
        return tuple(value)

    def string(self, d: dict, key: str, where: str) -> str:
        value = d.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{where}.{key}" if where else key, "required: a non-empty string")
        return value

    def flag(self, d: dict, key: str, where: str) -> bool:
        value = d.get(key, True)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"expected true or false, got {value!r}")
        return value

    def common_words(self, value: Any) -> tuple[str, int]:
        where = "name.common_words"
        if value is None:
            return ("none", 0)
        if not isinstance(value, dict) or set(value) - {"dictionary", "min_freq"}:
            raise self.fail(where, "expected {dictionary: jieba | none, min_freq: N}")
        dictionary = value.get("dictionary", "jieba")
        if dictionary not in ("jieba", "none"):
            raise self.fail(f"{where}.dictionary", f"{dictionary!r} is not jieba or none")
        min_freq = value.get("min_freq", 20)
        if not isinstance(min_freq, int) or isinstance(min_freq, bool) or min_freq < 1:
            raise self.fail(f"{where}.min_freq", f"expected a positive integer, got {min_freq!r}")
        return (dictionary, min_freq)

    def regex(self, value: str, where: str) -> re.Pattern[str]:
        try:
            return re.compile(value)
        except re.error as e:
            raise self.fail(where, f"not a valid regular expression: {e}") from None


def _read_surnames(path: Path) -> tuple[str, ...]:
    """Surnames, one or more per line, '#' comments; first spelling kept, order kept."""
    seen: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        for word in line.split("#", 1)[0].split():
            seen.setdefault(word, None)
    return tuple(seen)


def parse_pii_rules(doc: Any, path: Path) -> PiiRules:
    """Validate a PII settings document (errors name the file and the key)."""
    r = _Reader(doc, path)
    types = r.strings(doc, "types", "")
    known = pii_types()
    for t in types:
        if t not in known:
            raise r.fail("types", f"{t!r} is not a PII type; known: {list(known)}")
    placeholder = r.string(doc, "placeholder", "")
    if "{TYPE}" not in placeholder or "{n}" not in placeholder:
        raise r.fail("placeholder", f"{placeholder!r} must contain {{TYPE}} and {{n}}, e.g. '<{{TYPE}}_{{n}}>'")
    labels = doc.get("labels")
    if not isinstance(labels, dict) or set(labels) != set(known):
        raise r.fail("labels", f"required: a mapping with one label for each type {list(known)}")
    allow = doc.get("allow") or []
    if not isinstance(allow, list):
        raise r.fail("allow", "expected a list of numbers")
    qq, wechat, url, plate = r.section("qq"), r.section("wechat"), r.section("url"), r.section("plate")
    address, name = r.section("address"), r.section("name")
    surname_file = Path(r.string(name, "surnames", "name"))
    surname_path = surname_file if surname_file.is_absolute() else path.parent / surname_file
    if not surname_path.is_file():
        raise r.fail("name.surnames", f"no file {surname_path}")
    surnames = _read_surnames(surname_path)
    if not surnames or any(not re.fullmatch(r"[\u4e00-\u9fff]{1,2}", s) for s in surnames):
        raise r.fail("name.surnames", f"{surname_path}: expected surnames of one or two Chinese characters")
    for key, value in (("qq.number", qq.get("number")), ("wechat.id", wechat.get("id"))):
        r.regex(str(value), key)
    return PiiRules(
        path=str(path),
        files=(str(path), str(surname_path)),
        types=types,
        placeholder=placeholder,
        labels={k: str(v) for k, v in labels.items()},
        allow=frozenset(re.sub(r"\D", "", str(a)) for a in allow),
        qq_cues=r.strings(qq, "cues", "qq"),
        qq_number=r.string(qq, "number", "qq"),
        wechat_cues=r.strings(wechat, "cues", "wechat"),
        wechat_id=r.string(wechat, "id", "wechat"),
        contact_cues=r.strings(doc, "contact_cues", ""),
        cue_fillers=r.strings(doc, "cue_fillers", ""),
        url_personal_paths=tuple(r.regex(p, "url.personal_paths") for p in r.strings(url, "personal_paths", "url")),
        url_personal_hosts=r.strings(url, "personal_hosts", "url"),
        plate_provinces=r.string(plate, "provinces", "plate"),
        admin_suffixes=r.strings(address, "admin_suffixes", "address"),
        road_suffixes=r.strings(address, "road_suffixes", "address"),
        compound_suffixes=r.strings(address, "compound_suffixes", "address"),
        building_units=r.strings(address, "building_units", "address"),
        room_units=r.strings(address, "room_units", "address"),
        address_stop_chars=r.string(address, "stop_chars", "address"),
        surnames=surnames,
        intro_cues=r.strings(name, "intro_cues", "name"),
        titles=r.strings(name, "titles", "name"),
        nickname_prefixes=r.strings(name, "nickname_prefixes", "name"),
        nickname_surnames=r.string(name, "nickname_surnames", "name"),
        given_stop_chars=r.string(name, "given_stop_chars", "name"),
        weak_surnames=r.string(name, "weak_surnames", "name"),
        not_names=r.strings(name, "not_names", "name"),
        common_words=r.common_words(name.get("common_words")),
        speakers=r.flag(name, "speakers", "name"),
        speaker_given_names=r.flag(name, "speaker_given_names", "name"),
        role_words=frozenset(r.strings(name, "role_words", "name")),
    )


@cache
def load_pii_rules(config: str = DEFAULT_CONFIG) -> PiiRules:
    """Load and validate a PII settings file: a path, or a name under the shipped rules/ (cached per process)."""
    try:
        path = resolve_asset(config, "rules")
    except FileNotFoundError as e:
        raise PiiConfigError(str(e)) from None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise PiiConfigError(f"{path}: not valid YAML: {e}") from None
    return parse_pii_rules(doc, path)
