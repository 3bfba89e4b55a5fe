"""The job's `pii:` mapping: `{mode: redact | flag | off, types: [...], config: FILE}` → `PiiSpec`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.pii.config import DEFAULT_CONFIG, PiiConfigError, load_pii_rules, pii_types

MODES = ("redact", "flag", "off")
DEFAULT_MODE = "redact"  # curate's default: counselling text is the most personal text there is


class PiiSpecError(ValueError):
    """A job's `pii:` mapping that does not validate (the job loader reports it as a JobError)."""


@dataclass(frozen=True)
class PiiSpec:
    """What the pii stage does: `redact` replaces each finding with a typed placeholder and counts it, `flag`
    only counts (`pii_counts`), `off` skips the stage. `types` None: the settings file's default types."""

    mode: str = DEFAULT_MODE
    types: tuple[str, ...] | None = None
    config: str = DEFAULT_CONFIG

    def enabled_types(self) -> tuple[str, ...]:
        """The types this job detects: its own list, else the settings file's."""
        return self.types if self.types is not None else load_pii_rules(self.config).types


_KEYS = {"mode", "types", "config"}


def parse_pii(d: Any, where: str = "pii") -> PiiSpec:
    """Validate a job's `pii:` value. Absent (None): redact with the shipped settings; `false`: off.

    Errors name the key, list what is allowed, and report a settings file that does not load.
    """
    if d is None:
        d = {}
    if d is False:
        return PiiSpec(mode="off")
    if not isinstance(d, dict):
        raise PiiSpecError(f"{where}: expected a mapping like {{mode: redact, types: [phone, name]}}, got {d!r}")
    unknown = sorted(set(d) - _KEYS)
    if unknown:
        raise PiiSpecError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
    mode = d.get("mode", DEFAULT_MODE)
    if mode not in MODES:
        raise PiiSpecError(f"{where}.mode: {mode!r} is not one of {list(MODES)}")
    types = d.get("types")
    if types is not None:
        if isinstance(types, str):
            types = [types]
        if not isinstance(types, list):
            raise PiiSpecError(f"{where}.types: expected a list of PII types, got {types!r}")
        known = pii_types()
        for t in types:
            if t not in known:
                raise PiiSpecError(f"{where}.types: {t!r} is not a PII type; known: {list(known)}")
        types = tuple(t for t in known if t in types)  # schema order, no repeats
    config = d.get("config", DEFAULT_CONFIG)
    if not isinstance(config, str) or not config:
        raise PiiSpecError(f"{where}.config: expected the path of a PII settings file, got {config!r}")
    try:
        rules = load_pii_rules(config)
    except PiiConfigError as e:
        raise PiiSpecError(f"{where}.config: {e}") from None
    # a file found from the working folder travels by its absolute path: Ray workers work from another folder
    if Path(config).expanduser().exists():
        config = rules.path
    return PiiSpec(mode=mode, types=types, config=config)
