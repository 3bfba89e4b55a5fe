"""Checks on PII candidates: ID-card check digits and birth dates, Luhn, phone shapes, IP addresses, personal URLs.

Pure functions over one candidate string; the detector calls them only on the few spans its patterns found.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from collections.abc import Sequence

# Full-width digits and letters as people type them in a Chinese IME (normalisation turns them into ASCII
# before this stage; the detector accepts both).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")

# GB 11643: weights of the first 17 digits, and the check character for each remainder mod 11 (ISO 7064 MOD 11-2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# GB/T 2260 province-level codes (the first two digits of an ID number)
ID_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# area code 010 / 02X with an 8-digit local number; 0[3-9]XX with 7 or 8; local numbers do not start with 0 or 1
_LANDLINE = re.compile(r"0(?:10|2[0-9])[2-9][0-9]{7}|0[3-9][0-9]{2}[2-9][0-9]{6,7}")


def ascii_digits(s: str) -> str:
    """`s` with full-width digits and X as ASCII."""
    return s.translate(_FULL_WIDTH)


def id_check_char(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are `first17`."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _date_ok(year: int, month: int, day: int) -> bool:
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= born <= _dt.date.today()


def id18_ok(s: str) -> bool:
    """An 18-character resident ID: known province, real birth date, right check character."""
    s = s.upper()
    if len(s) != 18 or not s[:17].isdigit() or s[:2] not in ID_PROVINCES:
        return False
    if not _date_ok(int(s[6:10]), int(s[10:12]), int(s[12:14])):
        return False
    return id_check_char(s[:17]) == s[17]


def _id_shaped(s: str) -> bool:
    """18 characters with a province code and a real birth date, whatever the check character."""
    return s[:17].isdigit() and s[:2] in ID_PROVINCES and _date_ok(int(s[6:10]), int(s[10:12]), int(s[12:14]))


def id15_ok(s: str) -> bool:
    """A 15-digit first-generation ID (before 1999: no check digit, two-digit birth year 19YY)."""
    return len(s) == 15 and s.isdigit() and s[:2] in ID_PROVINCES and _date_ok(1900 + int(s[6:8]), int(s[8:10]),
                                                                                int(s[10:12]))


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check that bank card numbers carry in their last digit."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    for d in "0123456789":
        if luhn_ok(partial + d):
            return d
    raise AssertionError("unreachable")  # pragma: no cover


def classify_digits(digits: str, allow: frozenset[str]) -> tuple[str, str] | None:
    """(type, check) of a run of digits (separators removed), or None.

    phone: 11-digit mobile, optionally after 86 / 0086; landline: area code and local number; id_card: 18
    characters with check digit (or 15 with a birth date); bank_card: 16-19 digits passing Luhn. Numbers in
    `allow` (public hotlines) are None.
    """
    if digits in allow:
        return None
    if len(digits) in (13, 15) and digits.startswith(("86", "0086")) and _MOBILE.fullmatch(digits[-11:]):
        return None if digits[-11:] in allow else ("phone", "mobile shape after +86")
    if len(digits) == 11 and _MOBILE.fullmatch(digits):
        return "phone", "mobile shape 1[3-9]X XXXX XXXX"
    if len(digits) == 18 and id18_ok(digits):
        return "id_card", "MOD 11-2 check digit and birth date ok"
    if len(digits) == 18 and _id_shaped(digits):
        return None  # an ID number with a wrong check character (a typo, or made up): not a card either
    if 16 <= len(digits) <= 19 and digits.isdigit() and digits[0] in "3456789" and luhn_ok(digits):
        return "bank_card", "Luhn ok"
    if len(digits) in (11, 12) and _LANDLINE.fullmatch(digits):
        return "landline", "area code and local number"
    if len(digits) == 15 and id15_ok(digits):
        return "id_card", "15-digit form: province and birth date ok"
    return None


def why_not_digits(digits: str, allow: frozenset[str]) -> str:
    """Why a run of digits is not PII (for `explain`)."""
    if digits in allow:
        return "on the allow list (public hotline)"
    if len(digits) == 18 and digits[:17].isdigit():
        return "18 characters but not an ID: check digit, province or birth date wrong; Luhn fails too"
    if 16 <= len(digits) <= 19:
        return f"{len(digits)} digits but the Luhn check fails"
    return f"{len(digits)} digits: no phone, landline, ID or card shape"


def ipv4_ok(s: str) -> bool:
    """A dotted IPv4 address other than 0.0.0.0 (the pattern already bounds each octet)."""
    return s != "0.0.0.0"


def ipv6_ok(s: str) -> bool:
    """A real IPv6 address with at least three groups written out, not :: or ::1 (times like 12:30:45 fail)."""
    try:
        addr = ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return not (addr.is_unspecified or addr.is_loopback) and sum(1 for g in s.split(":") if g) >= 3


def url_personal(url: str, paths: Sequence[re.Pattern[str]], hosts: Sequence[str]) -> str | None:
    """Why `url` names a person (the rule that matched), or None: its path matches a personal-path pattern, or
    it is on a host where the first path segment is the user (`weibo.com/1234567`)."""
    rest = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url)
    host, sep, path = rest.partition("/")
    host = host.lower().removeprefix("www.")
    path = sep + path
    for p in paths:
        if p.search(path):
            return f"path matches {p.pattern}"
    first = path.strip("/").split("/", 1)[0]
    for h in hosts:
        h_host, _, h_path = h.lower().removeprefix("www.").partition("/")
        if host != h_host and not host.endswith("." + h_host):
            continue
        if h_path:
            if path.startswith("/" + h_path + "/") and len(path) > len(h_path) + 2:
                return f"profile path on {h}"
        elif first and not first.startswith(("?", "#")):
            return f"user path on {h}"
    return None
