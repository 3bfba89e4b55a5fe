"""The crisis-risk cue lexicon (`classifiers/train/risk-cues.yaml`): a seeker turn's weak level and evidence.

`RiskCues.read(text)` gives the turn's level (`none`, `concern`, `high`) and the [start, end) span of the
clause that decided it, with the guide's negation, third-person, past-tense and general-statement rules
(the comments at the top of the cue file say how). It is the weak labeller of the risk tagger's training
data and, at run time, one half of the risk decision (`curate.models.risk_decision`): an unnegated
first-person high cue makes a turn `high` whatever the model says. `RiskCues.read_batch` pre-filters a
batch with every cue at once in Arrow (RE2) and reads only the hits in Python.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from curate.schema import label_set

NONE, CONCERN, HIGH = label_set("risk")
LEVEL = {NONE: 0, CONCERN: 1, HIGH: 2}


@dataclass(frozen=True)
class CueHit:
    """What the lexicon reads in one turn: its level and the deciding clause's [start, end) (None for none)."""

    level: str
    span: tuple[int, int] | None = None
    cue: str = ""  # the matched cue text, for notes and debugging (never stored with data)
    demoted: bool = False  # a high cue was read but negated, in the third person, past or general, and none stood


def _alternation(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


class RiskCues:
    """The compiled cue file."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.window = int(doc["window"])
        self.negation_gap = int(doc["negation_gap"])
        self.third_gap = int(doc["third_gap"])
        self.current_after = int(doc["current_after"])
        self.clause_end = re.compile(doc["clause_end"])
        self.ignore = _alternation(doc["ignore"])
        self.ignore_re2 = "|".join(f"(?:{p})" for p in doc["ignore"])
        self.idioms = _alternation(doc["idioms"])
        self.high = _alternation(doc["high"])
        self.concern = _alternation(doc["concern"])
        self.negation = re.compile(doc["negation"])
        self.negation_adjacent = re.compile(f"(?:{doc['negation_adjacent']})$")
        self.hedge = re.compile(doc["hedge"])
        self.third = re.compile(doc["third_person"])
        self.first = re.compile(doc["first_person"])
        self.past = re.compile(doc["past"])
        self.current = re.compile(doc["current"])
        self.recurrence = re.compile(doc["recurrence"])
        self.general = re.compile(doc["general"])
        # one RE2 pattern that any turn with a cue matches: the batch pre-filter
        self.any_cue = "|".join(f"(?:{p})" for p in [*doc["idioms"], *doc["high"], *doc["concern"]])

    def _negated(self, before: str) -> bool:
        """A negation ends within `negation_gap` characters of the cue (a bare 不/没 right before it), and no
        hedge follows it."""
        if self.negation_adjacent.search(before):
            return True
        for m in reversed(list(self.negation.finditer(before))):
            if len(before) - m.end() > self.negation_gap:
                return False
            return not self.hedge.search(before[m.start():])
        return False

    def _third_person(self, before: str) -> bool:
        """The last person named before the cue is someone else (a first person after it wins)."""
        third = [m.end() for m in self.third.finditer(before)]
        first = [m.end() for m in self.first.finditer(before)]
        return bool(third) and (not first or third[-1] > first[-1]) and len(before) - third[-1] <= self.third_gap

    def _clause_level(self, clause: str, prior: str, after: str) -> tuple[int, str, bool]:
        """The level of one clause (0, 1, 2), the cue that set it and whether a high cue was demoted;
        `prior` / `after`: the turn's text before and after the clause (past and recurrence markers are looked
        for across clauses)."""
        text = self.ignore.sub(lambda m: "\0" * len(m.group()), clause)
        best, cue, demoted_any = 0, "", False
        for m in self.idioms.finditer(text):
            best, cue = 1, m.group()
        text = self.idioms.sub(lambda m: "\0" * len(m.group()), text)
        for m in self.high.finditer(text):
            before = text[max(0, m.start() - self.window):m.start()]
            demoted = (self._negated(before) or self._third_person(before) or self.general.search(before)
                       or (self.past.search((prior + clause[:m.start()])[-self.window:])
                           and not self.current.search(clause)
                           and not self.recurrence.search(after[:self.current_after])))
            if not demoted:
                return 2, m.group(), False
            demoted_any = True
            if best < 1:
                best, cue = 1, m.group()
        if best < 1:
            for m in self.concern.finditer(text):
                before = text[max(0, m.start() - self.window):m.start()]
                if not (self._negated(before) or self._third_person(before)):
                    return 1, m.group(), demoted_any
        return best, cue, demoted_any

    def read(self, text: str | None) -> CueHit:
        """The turn's level and the span of the clause that decided it (the first of the highest)."""
        text = text or ""
        best, span, cue, start, demoted = 0, None, "", 0, False
        for end_m in [*self.clause_end.finditer(text), None]:
            end = end_m.start() if end_m else len(text)
            clause = text[start:end]
            if clause.strip():
                level, hit, was_demoted = self._clause_level(clause, text[:start], text[end:])
                demoted |= was_demoted
                if level > best:
                    lead = len(clause) - len(clause.lstrip())
                    best, span, cue = level, (start + lead, start + len(clause.rstrip())), hit
                    if best == 2:
                        break
            if end_m is None:
                break
            start = end_m.end()
        return CueHit((NONE, CONCERN, HIGH)[best], span, cue, demoted and best < 2)

    def masked(self, texts: Sequence[str | None]) -> list[str]:
        """`texts` with every `ignore` phrase (累死了, 笑死, 让我去死) cut to a clause break, in one Arrow pass:
        what the tagger reads, so that it is no more moved by a figure of speech than the lexicon is."""
        arr = pa.array(list(texts), type=pa.string()).fill_null("")
        return pc.replace_substring_regex(arr, pattern=self.ignore_re2, replacement="，").to_pylist()

    def read_batch(self, texts: pa.Array | Sequence[str | None]) -> list[CueHit]:
        """`read` for every text; turns no cue can match are skipped in one vectorised pass."""
        arr = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
        hit = pc.match_substring_regex(arr, self.any_cue).fill_null(False).to_numpy(zero_copy_only=False)
        out = [CueHit(NONE)] * len(arr)
        for i in np.flatnonzero(hit):
            out[i] = self.read(arr[int(i)].as_py())
        return out


@cache
def _load(path: str) -> RiskCues:
    return RiskCues(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def load_cues(name: str | Path = "risk-cues.yaml") -> RiskCues:
    """The cue file by path, or by name beside the training configs (`classifiers/train/`), compiled once."""
    from curate.models.training_data import training_asset

    path = Path(name)
    return _load(str(path if path.is_file() else training_asset(str(name))))
