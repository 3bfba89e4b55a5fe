"""Classifiers: model cards, backends (fastText, transformers, lexicon), training and evaluation."""

# Where each task's predictions go (schemas/record.json): the one map that the job spec, the stages,
# `curate train` / `curate eval` and the docs read.
# Scores: record columns, for every kept record.
SCORE_TASKS: dict[str, tuple[str, ...]] = {
    "quality": ("quality",),
    "domain": ("domain", "domain_scores"),
    "toxicity": ("toxicity", "toxic"),
    "esc_relevance": ("esc_relevance",),
    "dialogue_quality": ("dialogue_quality",),
}
# Scores computed from a record's signals and tags rather than by a text classifier: their own finish stage
# runs them (curate/stages/dialogue_quality.py), not the scores stage.
SIGNAL_SCORES: tuple[str, ...] = ("dialogue_quality",)
# Per-turn tags: fields of the `turn` struct (strategy on supporter turns only).
TURN_TASKS: dict[str, tuple[str, ...]] = {
    "emotion": ("emotion", "emotion_scores"),
    "sentiment": ("sentiment",),
    "dialogue_act": ("dialogue_act", "dialogue_act_scores"),
    "strategy": ("strategy", "strategy_scores"),
}
# Per-speaker persona: fields of the `speaker` struct, one model each.
SPEAKER_TASKS: dict[str, tuple[str, ...]] = {
    field: (field,) for field in
    ("gender", "age_group", "neuroticism", "extraversion", "openness", "agreeableness", "conscientiousness")
}
# Flags on help-seekers' turns (the job's `risk:` option, not `tags:`): a per-turn level with its evidence, and
# the record's highest level with where it was found.
SEEKER_TASKS: dict[str, tuple[str, ...]] = {
    "risk": ("risk", "risk_confidence", "risk_evidence"),
}
TASKS: dict[str, tuple[str, ...]] = {**SCORE_TASKS, **TURN_TASKS, **SPEAKER_TASKS, **SEEKER_TASKS}
