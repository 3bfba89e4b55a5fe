"""What the pii stage finds in one text and why, for `curate rules explain`.

Lists every finding (type, where, the value, the detector, why it counts: the cue word, the check digit, the
surname) with the placeholder it gets, and every candidate the checks turned down with the reason (a wrong
check digit, a word that merely contains a surname, a hotline on the allow list).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

import curate
from curate.pii.detect import checker_for, scan
from curate.pii.patterns import compile_patterns
from curate.pii.spec import PiiSpec
from curate.schema import conform, record_schema
from curate.stages.pii import detect_batch


@dataclass(frozen=True)
class PiiExplanation:
    """One finding or turned-down candidate. `turn`: the dialogue turn it is in (None for a web text);
    `start`, `end`: character offsets in that turn's utterance or in the text."""

    type: str
    turn: int | None
    start: int
    end: int
    value: str
    detector: str
    why: str
    kept: bool
    placeholder: str | None


def explain_pii(text: str, kind: str = "web", spec: PiiSpec | None = None,
                turns: list[dict[str, str]] | None = None) -> list[PiiExplanation]:
    """The pii stage's findings in one record, and the candidates it turned down, in reading order.

    A web record is `text`. A dialogue is `turns` (dicts with speaker, role and text; `curate.explain` reads
    them from `speaker：utterance` lines); its speaker names count as found in the turns that say them.
    """
    spec = spec or PiiSpec()
    schema = record_schema()
    row: dict = {"id": "explain", "kind": kind, "source": "explain", "source_file": "<explain>", "source_line": 1,
                 "schema_version": schema.version, "pipeline_version": curate.__version__}
    if kind == "dialogue":
        row["turns"] = [{"speaker": t.get("speaker"), "role": t.get("role", "other"),
                         "role_raw": t.get("role_raw", t.get("speaker")), "text": t.get("text")} for t in turns or []]
    else:
        row["text"] = text
    table = conform(pa.Table.from_pylist([row], schema=pa.schema([schema.arrow.field(k) for k in row])))
    found = detect_batch(table, spec)
    units = found.units.to_list()
    placeholders = {(u, s, e): p for u, spans in found.plan.replacements.items() for s, e, p in spans}
    first_turn = len(found.text_rows)

    def turn_of(unit: int) -> int | None:
        return unit - first_turn if unit >= first_turn else None

    out = [PiiExplanation("name", None, 0, len(label), label, "speaker", "speaker label that is not a role word",
                          True, to) for _, label, to in found.plan.speaker_placeholders.iter_rows()]
    out += [PiiExplanation(f.type, turn_of(f.unit), f.start, f.end, (units[f.unit] or "")[f.start:f.end],
                           f.detector, f.why, True, placeholders.get((f.unit, f.start, f.end)))
            for f in found.findings]
    types = frozenset(spec.enabled_types())
    patterns = compile_patterns(spec.config, types)
    for f in scan(found.units, patterns, checker_for(spec.config, types), rejected=True):
        superseded = any(k.unit == f.unit and k.start < f.end and f.start < k.end for k in found.findings)
        if not f.kept and not superseded:
            out.append(PiiExplanation(f.type, turn_of(f.unit), f.start, f.end, (units[f.unit] or "")[f.start:f.end],
                                      f.detector, f.why, False, None))
    return sorted(out, key=lambda x: (x.turn if x.turn is not None else -1, x.start, not x.kept))


def format_pii(explanations: list[PiiExplanation]) -> str:
    """The findings as lines for `curate rules explain`: found ones with their placeholder, then the rest."""
    lines = ["pii:"]
    if not explanations:
        lines.append("  nothing found")
    for x in explanations:
        where = f"turn {x.turn} " if x.turn is not None else ("speaker " if x.detector == "speaker" else "")
        mark = f"-> {x.placeholder}" if x.kept else "kept (not PII)"
        lines.append(f"  {x.type:9s} {where}[{x.start}:{x.end}] {x.value!r} {mark}  ({x.detector}: {x.why})")
    return "\n".join(lines)
