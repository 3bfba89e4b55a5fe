"""Classifiers: model cards, backends (fastText, transformers, lexicon), training and evaluation."""

# The record columns each scoring task fills (schemas/record.json, group "scores"): the one map that the
# job spec, the classify stage, `curate train` and the docs read.
SCORE_TASKS: dict[str, tuple[str, ...]] = {
    "quality": ("quality",),
    "domain": ("domain", "domain_scores"),
    "toxicity": ("toxicity", "toxic"),
    "esc_relevance": ("esc_relevance",),
}
