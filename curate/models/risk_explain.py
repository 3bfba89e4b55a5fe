"""What the crisis-risk tag says about one dialogue and why, for `curate rules explain`.

Each seeker turn goes through the run's own decision (`curate.models.risk_decision.assess`, the shipped risk
card): its level, the tagger's probabilities, what the cue lexicon read (the cue, and whether negation,
someone else, the past or a general statement demoted it) and the evidence span. The record's level is the
highest over its seeker turns, as the run sets `risk`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.assets import resolve_asset
from curate.models.classifier import load_classifier
from curate.models.risk_decision import LEVELS, Decision, assess

SEEKER = "seeker"


@dataclass(frozen=True)
class RiskExplanation:
    """One seeker turn: `turn` its index in the dialogue, `proba` P(none, concern, high), `cue` and
    `cue_level` what the lexicon read, `demoted` whether it read a high cue and set it aside, `evidence` the
    deciding clause (None for none)."""

    turn: int
    level: str
    confidence: float
    proba: tuple[float, float, float]
    cue: str
    cue_level: str
    demoted: bool
    evidence: str | None


@dataclass(frozen=True)
class RiskReport:
    """The seeker turns' explanations and the decision they went through (thresholds, lexicon switches)."""

    turns: list[RiskExplanation]
    decision: Decision
    card: str

    @property
    def level(self) -> str:
        """The record's level: the highest over its seeker turns (`none` without any)."""
        return LEVELS[max((LEVELS.index(t.level) for t in self.turns), default=0)]


def explain_risk(turns: list[dict], card: str = "risk.yaml") -> RiskReport:
    """The risk decision on every seeker turn of `turns` (dicts with `role` and `text`, as the run tags them:
    after normalisation and PII redaction)."""
    model = load_classifier(resolve_asset(card, "classifiers"))
    decision = Decision.of(model.card.decision)
    picked = [(i, t.get("text") or "") for i, t in enumerate(turns) if t.get("role") == SEEKER]
    texts = [text for _, text in picked]
    order = [model.labels.index(lab) for lab in LEVELS]
    proba = model.predict_proba(decision.model_texts(texts))[:, order] if texts else np.zeros((0, len(LEVELS)))
    result = assess(texts, model, decision, proba)
    hits = decision.cues.read_batch(texts) if decision.cues is not None and texts else [None] * len(texts)
    out = []
    for k, (i, text) in enumerate(picked):
        span, hit = result.spans[k], hits[k]
        out.append(RiskExplanation(
            i, LEVELS[int(result.level[k])], float(result.confidence[k]),
            (float(proba[k, 0]), float(proba[k, 1]), float(proba[k, 2])),
            hit.cue if hit else "", hit.level if hit else LEVELS[0], bool(hit and hit.demoted),
            text[span[0]:span[1]] if span else None))
    return RiskReport(out, decision, card)


def format_risk(report: RiskReport, kind: str) -> str:
    """The report as lines for `curate rules explain`."""
    if kind != "dialogue":
        return "risk:\n  read on help-seekers' turns of dialogues only (use --kind dialogue)"
    d = report.decision
    how = [f"high when P(high) >= {d.high:g}" + (" or the lexicon reads an unnegated first-person high cue"
                                                  if d.cue_high else ""),
           f"concern when P(concern) + P(high) >= {d.concern:g}" + (" or the lexicon reads a concern cue"
                                                                   if d.cue_concern else "")]
    if d.cue_veto:
        how.append("a high cue the lexicon set aside (negated, someone else's, past, general) keeps the model "
                   "from calling a turn high")
    lines = [f"risk: {report.level}  (the highest over the seeker turns; {report.card})",
             *(f"  rule: {h}" for h in how)]
    if not report.turns:
        lines.append("  no seeker turns (a turn's role comes from its speaker label, e.g. 来访者, client, seeker)")
    for t in report.turns:
        p = "/".join(f"{x:.2f}" for x in t.proba)
        cue = f"cue {t.cue!r} ({t.cue_level}{', set aside' if t.demoted else ''})" if t.cue else "no cue"
        evidence = f"  evidence {t.evidence!r}" if t.evidence else ""
        lines.append(f"  turn {t.turn}: {t.level:7s} P(none/concern/high) {p}  {cue}{evidence}")
    return "\n".join(lines)
