"""Per-utterance CPED examples for the turn taggers: one builder, the label column named by the config.

`data.column` picks CPED's column: `Emotion` (13 labels), `Sentiment` (3; a pure function of Emotion in
this data, `cped.SENTIMENT_OF_EMOTION`) or `DA` (19). Previous turns are the context. See
`curate.models.training_data.cped` for the reading, the by-show split and the optional oversampling; the
measurements behind each config's choices are in `NOTES`, which go into the model card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.models.examples import Splits
from curate.models.training_data import cped

SPOKEN_NOTE = (
    "the same speaker's other turns of the dialogue as context (features.context_of: speaker): a speaker's mood "
    "persists through a scene. Valid accuracy / macro-F1 (unquantised, chars, epoch 5, lr 0.3, dim 64; "
    "experiments/affect.py): no context 0.274/0.128, previous turn 0.279/0.118, same speaker's previous turns "
    "0.290/0.132, same speaker's other turns 0.316/0.136, whole dialogue 0.289/0.106")
NOTES: dict[str, dict[str, object]] = {
    "Emotion": {
        "recipe": "CPED utterances labelled with Emotion (13 classes, neutral-dominated); context = previous turns.",
        "feature_choice": (
            "characters, word n-grams 2, no context: CPED's emotion labels come from voice and face as much as "
            "words, and text alone is weak on unseen shows. Valid accuracy / macro-F1 (unquantised, epoch 5, "
            "lr 0.3, dim 64, minCount 2; experiments/cped.py): chars context 0 0.274/0.128, context 1 "
            "0.279/0.118, context 2 0.269/0.113; words context 0/1/2 0.254/0.120, 0.252/0.120, 0.257/0.121. "
            "Majority baseline (neutral) 0.269/0.033. Rare-class oversampling alpha 0.15/0.25/0.5: 0.255/0.134, "
            "0.247/0.131, 0.220/0.130 (not used: accuracy falls below the baseline for <1 pt macro-F1)"),
    },
    "Sentiment": {
        "recipe": "CPED utterances labelled with Sentiment (3 classes); context = previous turns.",
        "feature_choice": (
            "characters, word n-grams 3, the previous turn as context. Valid accuracy / macro-F1 (unquantised, "
            "epoch 5, lr 0.3, dim 32, minCount 2; experiments/cped.py): chars context 0 0.536/0.408, "
            "context 1 0.552/0.416, context 2 0.551/0.408; words context 0/1/2 0.532/0.393, 0.547/0.401, "
            "0.556/0.408. Majority baseline (negative, 58% of valid vs 50% of train) 0.579/0.244. "
            "Oversampling alpha 0.5: 0.536/0.417 (not used)"),
        "versus_derived_from_emotion": (
            "the emotion model's probabilities summed per sentiment group (positive = happy, grateful, relaxed, "
            "positive-other; neutral = neutral; negative = the rest) score accuracy / macro-F1 0.544/0.401 on valid "
            "with the quantised emotion model (0.550/0.396 unquantised; best of 24 emotion settings for this: "
            "0.522/0.414); this quantised 3-class model scores 0.549/0.423 (positive F1 0.22 vs 0.17): the "
            "dedicated model is better by about 2 pt macro-F1 at equal accuracy, so it is kept"),
    },
    "DA": {
        "recipe": "CPED utterances labelled with DA (19 classes); context = previous turns.",
        "feature_choice": (
            "characters, word n-grams 3, no context, rare classes oversampled. Valid accuracy / macro-F1 "
            "(unquantised, epoch 10, lr 0.3, minCount 2; experiments/cped.py), no oversampling: chars "
            "context 0 0.546/0.329, context 1 0.537/0.262, context 2 0.524/0.222; words context 0/1/2 "
            "0.541/0.304, 0.532/0.282, 0.516/0.222. Majority baseline (statement-non-opinion) 0.414/0.031. "
            "Oversampling (class factor min(max_factor, (n_max/n)^alpha)), chars context 0 dim 32: alpha 0.3 "
            "0.544/0.342, alpha 0.5 0.549/0.355 (chosen), alpha 0.7 0.539/0.344, alpha 1.0 0.546/0.344; "
            "with context 1 and alpha 0.5: 0.541/0.305"),
    },
}


def build(cfg: dict[str, Any], data_root: Path) -> Splits:
    """CPED train.csv → train, valid.csv → valid (unseen shows), labelled from `cfg["column"]`."""
    column = cfg["column"]
    if column not in NOTES:
        raise ValueError(f"data.column: {column!r} is not one of {sorted(NOTES)}")
    context_of = str(cfg.get("context_of", "previous"))
    return cped.build_splits(cfg, data_root, lambda ds: cped.turn_examples(ds, lambda t: t.labels[column], context_of),
                             {**NOTES[column], "feature_choice": SPOKEN_NOTE} if context_of == "speaker" else NOTES[column])
