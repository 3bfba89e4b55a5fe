"""The one template writer for generated training text: `{slot}`s filled from a seed file's domains and pools.

Slots: `{kw}` a keyword of the domain, `{<pool>}` an item of one of the seed file's pools (items may hold
slots themselves, three levels deep at most), `{filler}` whatever the caller's filler gives,
`{year}`/`{month}`/`{day}`/`{n}` (a small list number), `{isbn}`, `{phone}`; any other name a number.
Used by the domain and ESC-relevance builders, which differ only in their filler and sentence mix.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from typing import Any

SLOT = re.compile(r"\{(\w+)\}")
_RANGES = {"year": (1950, 2023), "month": (1, 12), "day": (1, 28), "n": (1, 9)}


class TemplateWriter:
    """Fills templates for the domains of a seed file (`domains: {name: {keywords, templates, titles}}`, `pools`)."""

    def __init__(self, domains: Mapping[str, Any], pools: Mapping[str, Any]) -> None:
        self.domains, self.pools = domains, pools

    def fill(self, template: str, domain: str, rng: random.Random, filler: Callable[[], str], depth: int = 0) -> str:
        """`template` with its slots filled; `filler()` gives a `{filler}` sentence."""
        return SLOT.sub(lambda m: self._slot(m.group(1), domain, rng, filler, depth), template)

    def _slot(self, name: str, domain: str, rng: random.Random, filler: Callable[[], str], depth: int) -> str:
        if name == "kw":
            return str(rng.choice(self.domains[domain]["keywords"]))
        if name in self.pools and depth < 3:
            return self.fill(str(rng.choice(self.pools[name])), domain, rng, filler, depth + 1)
        if name == "filler":
            return filler()
        if name in _RANGES:
            return str(rng.randint(*_RANGES[name]))
        if name == "isbn":
            return f"978-7-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}-{rng.randint(0, 9)}"
        if name == "phone":
            return f"1{rng.randint(30, 99)}{rng.randint(10000000, 99999999)}"
        return str(rng.choice([rng.randint(1, 20), rng.randint(10, 999), round(rng.uniform(0.1, 99.9), 2)]))
