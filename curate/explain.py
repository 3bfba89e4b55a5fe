"""`curate rules explain`: every signal, threshold and verdict for one text, through the pipeline's own stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa

import curate
from curate.job import NormalizeSpec
from curate.models.risk_explain import explain_risk, format_risk
from curate.pii.explain import explain_pii, format_pii
from curate.pii.spec import PiiSpec
from curate.render import SPEAKER_SEPARATOR, TURN_SEPARATOR
from curate.run import per_record
from curate.schema import conform, record_schema
from curate.stages.base import Settings
from curate.stages.rules import load_rule_sets


@dataclass
class Verdict:
    """One rule's outcome on the text."""

    rule_set: str
    rule: str
    signal: str
    value: object
    threshold: str
    fires: bool
    source: str


def _turns_from_lines(text: str) -> list[dict[str, str]]:
    turns = []
    for line in text.split(TURN_SEPARATOR):  # the pipeline's own line separator
        if not line.strip():
            continue
        for sep in (SPEAKER_SEPARATOR, ":"):
            if sep in line:
                speaker, utt = line.split(sep, 1)
                break
        else:
            speaker, utt = "", line
        speaker = speaker.strip()
        turns.append({"speaker": speaker, "role_raw": speaker, "text": utt})
    return turns


def explain(text: str, kind: str = "web", rule_files: Sequence[str] = ("default.yaml", "dialogue.yaml"),
            norm: NormalizeSpec | None = None, roles: dict[str, str] | None = None,
            pii: PiiSpec | None = None) -> tuple[dict, list[Verdict]]:
    """Run per_record on one record; return the processed row and each rule's verdict.

    For kind `dialogue` the text is read as `speaker：utterance` lines; roles come from the default role map.
    `pii`: the pii stage's settings (default: the shipped jobs' `redact`), so rules judge the text a run judges.
    """
    from curate.job import DialogueSpec

    row: dict = {"id": "explain", "kind": kind, "source": "explain", "source_file": "<explain>", "source_line": 1,
                 "schema_version": record_schema().version, "pipeline_version": curate.__version__}
    if kind == "dialogue":
        spec = DialogueSpec(roles=roles or {})
        row["turns"] = [{**t, "role": spec.role_of(t["role_raw"])} for t in _turns_from_lines(text)]
    else:
        row["text"] = text
    table = conform(pa.Table.from_pylist([row], schema=pa.schema(
        [record_schema().arrow.field(k) for k in row])))
    settings = Settings(rule_files=tuple(rule_files), normalize=norm or NormalizeSpec(), pii=pii or PiiSpec(),
                        roles=tuple(roles or ()))
    table = per_record(table, settings)
    if kind == "dialogue":  # every text-only dialogue signal, and crisis risk, whether or not a rule reads them
        table = dialogue_text_signals(table)
    out = table.to_pylist()[0]
    verdicts = []
    for rs in load_rule_sets(list(rule_files)):
        if kind not in rs.applies_to:
            continue
        for r in rs.active:
            verdicts.append(Verdict(rs.name, r.id, r.signal, out.get(r.signal), f"{r.op} {r.value}",
                                    r.id in (out.get("rule_flags") or []), r.source))
    return out, verdicts


def dialogue_text_signals(table: pa.Table) -> pa.Table:
    """The dialogue signals one text can give: every text-only one, and `risk_unaddressed` from the seeker
    turns' crisis-risk tags (the shipped risk tagger runs on them first, as a run's tags stage would)."""
    from curate.stages.dialogue import RISK, fill_text_signals, risk_unaddressed
    from curate.stages.tag import tag_batch

    table = tag_batch(fill_text_signals(table), risk_tagger())
    flag, computed = risk_unaddressed(table.column("turns"), table.num_rows)
    return table.set_column(table.schema.get_field_index(RISK), RISK, pa.array(flag, mask=~computed))


@cache
def risk_tagger() -> Any:
    """The shipped crisis-risk tagger alone (the job's default `risk:`), loaded once."""
    from curate.job import RiskSpec, with_risk
    from curate.stages.tag import Taggers

    return Taggers(with_risk({}, RiskSpec()))


def format_explanation(row: dict, verdicts: list[Verdict]) -> str:
    """Human-readable report: signals, then rule verdicts, then the outcome."""
    lines = ["signals:"]
    for name in record_schema().signal_columns:
        v = row.get(name)
        if v is not None:
            lines.append(f"  {name:26s} {v:.4f}" if isinstance(v, float) else f"  {name:26s} {v}")
    if row.get("kind") == "dialogue":
        from curate.stages.dialogue import describe

        lines += [f"  {name:26s} (only in a run: {why})" for name, why in describe().items()]
    lines += ["", "rules:"]
    for v in verdicts:
        val = f"{v.value:.4f}" if isinstance(v.value, float) else str(v.value)
        mark = "FIRES" if v.fires else "ok"
        lines.append(f"  {mark:5s} {v.rule:26s} {v.signal} = {val}  (fires when {v.threshold})")
    lines += ["", f"verdict: {'DROP (' + row['drop_reason'] + ')' if row.get('drop_reason') else 'KEEP'}"]
    if row.get("drop_detail"):
        lines.append(f"detail:  {row['drop_detail']}")
    return "\n".join(lines)


def explain_text(text: str, kind: str = "web", rule_files: Sequence[str] = ("default.yaml", "dialogue.yaml"),
                 norm: NormalizeSpec | None = None, pii: PiiSpec | None = None) -> str:
    """What `curate rules explain` prints: the pii stage's findings (and the candidates it turned down), then
    every signal, threshold and verdict on the text as the run sees it (redacted), then the crisis-risk level
    of each seeker turn and why."""
    row, verdicts = explain(text, kind, rule_files, norm, pii=pii)
    turns = _turns_from_lines(text) if kind == "dialogue" else None
    risk = format_risk(explain_risk(row.get("turns") or []), kind)  # on the redacted turns, as the run tags them
    return "\n\n".join([format_pii(explain_pii(text, kind, pii or PiiSpec(), turns=turns)),
                        format_explanation(row, verdicts), risk])
