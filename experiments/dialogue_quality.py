"""Model selection for the dialogue-quality score, on the `select` part of the hand ratings only.

Every candidate is scored by cross-validated Spearman with the ratings (the whole fit per fold, as
`curate.models.dialogue_quality_train.cross_validate`); the `test` part is never read here. Candidates:
each signal alone, the text score alone, the linear layer over the signals with and without the text score,
ridge strengths, the risk cap on and off, and (--fasttext) a fastText text model in place of the hashed
n-gram ridge. `--tag-features` tries what the crisis-risk tagger and the emotion tags' trajectory add to the
shipped design (features computed here from the tagged turns, not record columns), each alone and added to
the shipped features, averaged over three CV seeds.

    python experiments/dialogue_quality.py                 # the table
    python experiments/dialogue_quality.py --fasttext      # also fastText as the text model (slower)
    python experiments/dialogue_quality.py --tag-features  # candidate features from the risk and emotion tags
    python experiments/dialogue_quality.py --feature-sets  # feature sets x ridge x text alpha, three CV seeds
    python experiments/dialogue_quality.py --pairwise      # the 1.2.0 features with a pairwise rank objective
    python experiments/dialogue_quality.py --curve         # the shipped design's CV on 1/2, 3/4 and all of select
    python experiments/dialogue_quality.py --uptake        # signals of following the seeker, alone and added
    python experiments/dialogue_quality.py --agreement     # the two ratings of the re-rated test dialogues,
                                                           # and the shipped score against each (no choice made)

`--feature-sets` fits each outer fold's text model once per (text alpha, seed) and reuses it across the
feature sets and ridge strengths: the text score does not depend on them, so every figure is the one
`cross_validate` gives (the whole fit per fold, the text score out of inner fold), only cheaper.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from curate.assets import data_root
from curate.models.dialogue_quality import TEXT_FEATURE, cap
from curate.models.dialogue_quality_train import (
    Design,
    cross_validate,
    fit,
    folds_of,
    gold_arrays,
    load_gold,
    predict,
    spearman,
    standardise,
)
from curate.models.hashed_text import document_frequency_idf, fit_ridge
from curate.models.train import load_train_config

SIGNALS = ["sig_sup_mean_chars", "sig_sup_cv_chars", "sig_sup_question_frac", "sig_sup_opening_frac",
           "sig_sup_ai_frac", "sig_sup_slogan_frac", "sig_seek_reply_chars", "sig_seek_reply_trend",
           "sig_generic_reply_frac", "sig_strategy_entropy", "sig_seek_valence_shift", "sig_seek_valence_last",
           "risk_unaddressed", "sig_n_turns"]
# the supporter's substance (curate.stages.signals `support_substance`): open questions, specificity, stock
# closings, lectured advice lists
SUBSTANCE = ["sig_sup_open_questions", "sig_sup_content_bigrams", "sig_sup_closing_frac", "sig_sup_list_frac"]
# the signals whose own rank correlation on select is largest and that the rubric names (length, questions,
# slogans, generic replies, risk); the tag signals, openings, turn counts and seeker engagement left out
COMPACT = ["sig_sup_mean_chars", "sig_sup_question_frac", "sig_sup_slogan_frac", "sig_generic_reply_frac",
           "risk_unaddressed"]
LOG = {"sig_sup_mean_chars", "sig_seek_reply_chars", "sig_n_turns"}


def _design(names: list[str], alpha: float, text_alpha: float | None, risk_cap: bool = True) -> Design:
    return Design([{"name": n, "transform": "log1p" if n in LOG else "identity"} for n in names], alpha, text_alpha,
                  risk_cap=risk_cap)


def _fasttext_cv(texts: list[str], y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold P(high) - P(low) of a fastText model of the supporter text (low ≤ 2, mid 3, high ≥ 4)."""
    from curate.models.fasttext_backend import FastTextClassifier
    from curate.models.fasttext_train import train_fasttext
    from curate.models.features import featurize

    labels = np.where(y <= 2, "low", np.where(y >= 4, "high", "mid"))
    out = np.zeros(len(y))
    with tempfile.TemporaryDirectory() as tmp:
        for k, f in enumerate(np.array_split(np.random.default_rng(seed).permutation(len(y)), folds)):
            train = np.setdiff1d(np.arange(len(y)), f)
            lines = Path(tmp) / "train.txt"
            feats = featurize([texts[i] for i in train], "chars", 3000)
            lines.write_text("".join(f"__label__{labels[i]} {x}\n" for i, x in zip(train, feats, strict=True)),
                             encoding="utf-8")
            model = Path(tmp) / f"m{k}.bin"
            train_fasttext(lines, model, seed=seed, quantize=None,
                           params={"epoch": 25, "lr": 0.5, "wordNgrams": 2, "dim": 16, "minCount": 1, "loss": "softmax"})
            p = FastTextClassifier(model, ["low", "mid", "high"]).predict_proba(featurize([texts[i] for i in f], "chars", 3000))
            out[f] = p[:, 2] - p[:, 0]
    return out


def tag_features(table: Any) -> dict[str, np.ndarray]:
    """Candidate features from the turns' risk and emotion tags (NaN where undefined): the record's risk level,
    the share of seeker turns at concern or high, high risk left unaddressed, risk addressed, and the seeker's
    valence (P(happy group) - P(angry, sad, fear groups), `curate.stages.dialogue`) over the dialogue: mean,
    minimum, slope over the turns, last minus mean, later half minus earlier half; the supporter's mean valence
    and mean strategy confidence."""
    from curate.stages.dialogue import valence_weights

    w = valence_weights()
    level = {"none": 0, "concern": 1, "high": 2}

    def val(t: dict) -> float:
        return float(np.dot(t["emotion_scores"], w)) if t["emotion_scores"] is not None else np.nan

    def slope(v: np.ndarray) -> float:
        return float(np.polyfit(np.arange(len(v)) / (len(v) - 1), v, 1)[0]) if len(v) >= 3 else np.nan

    def mean(v: list[float] | np.ndarray) -> float:
        return float(np.nanmean(v)) if len(v) and np.isfinite(v).any() else np.nan

    rows = table.to_pylist()
    out: dict[str, list[float]] = {}
    for r in rows:
        seek = [t for t in r["turns"] if t["role"] == "seeker"]
        sup = [t for t in r["turns"] if t["role"] == "supporter"]
        v = np.array([val(t) for t in seek])
        half = len(v) // 2
        risky = r["risk"] in ("concern", "high")
        feats = {
            "risk_level": level.get(r["risk"], np.nan) if r["risk"] else np.nan,
            "risk_turn_share": mean([level.get(t["risk"] or "none", 0) >= 1 for t in seek]),
            "risk_high_unaddressed": float(bool(r["risk_unaddressed"]) and r["risk"] == "high"),
            "risk_addressed": float(risky and not r["risk_unaddressed"]),
            "seek_valence_mean": mean(v), "seek_valence_min": float(np.nanmin(v)) if len(v) else np.nan,
            "seek_valence_slope": slope(v), "seek_valence_last_minus_mean": v[-1] - mean(v) if len(v) else np.nan,
            "seek_valence_late_minus_early": mean(v[half:]) - mean(v[:half]) if len(v) >= 2 else np.nan,
            "sup_valence_mean": mean([val(t) for t in sup]),
            "sup_strategy_confidence": mean([t["strategy_confidence"] or np.nan for t in sup]),
        }
        for k, x in feats.items():
            out.setdefault(k, []).append(x)
    return {k: np.array(v, dtype=np.float64) for k, v in out.items()}


def cmd_tag_features(gold: Any, raw: dict[str, np.ndarray], texts: list[str], y: np.ndarray, risk: np.ndarray,
                     idf: np.ndarray, shipped: Design) -> None:
    """Each candidate alone (Spearman, NaN → its mean) and added to the shipped design (CV, three seeds)."""
    extra = tag_features(gold.table)
    both = {**raw, **extra}

    def cv(design: Design) -> tuple[float, list[float]]:
        runs = [spearman(cross_validate(both, texts, y, risk, idf, replace(design, seed=s)), y) for s in (1, 2, 3)]
        return float(np.mean(runs)), runs

    for name, v in extra.items():
        filled = np.where(np.isfinite(v), v, np.nanmean(v) if np.isfinite(v).any() else 0.0)
        print(f"{'alone: ' + name:<52}{spearman(filled, y):>8.3f}")
    base, runs = cv(shipped)
    print(f"{'shipped design (3 seeds)':<52}{base:>8.3f}  {runs}")
    for name in extra:
        d = replace(shipped, features=[*shipped.features, {"name": name, "transform": "identity"}])
        m, runs = cv(d)
        print(f"{'shipped + ' + name:<52}{m:>8.3f}  {runs}")
    for label, names in (("text + risk_unaddressed only", ["risk_unaddressed"]),
                         ("text + risk_unaddressed + risk_level", ["risk_unaddressed", "risk_level"]),
                         ("shipped + risk_level + seek_valence_mean", None)):
        feats = ([{"name": n, "transform": "identity"} for n in names] if names else
                 [*shipped.features, {"name": "risk_level", "transform": "identity"},
                  {"name": "seek_valence_mean", "transform": "identity"}])
        m, runs = cv(replace(shipped, features=feats))
        print(f"{label:<52}{m:>8.3f}  {runs}")


def _text_folds(texts: list[str], y: np.ndarray, idf: np.ndarray, alpha: float, design: Design) -> list[tuple]:
    """Per outer fold of `design`: (test rows, train rows, the train rows' out-of-inner-fold text scores, the
    test rows' text scores), as `fit` and `predict` compute them inside `cross_validate`."""
    out = []
    for f in folds_of(len(y), design.folds, design.seed):
        tr = np.setdiff1d(np.arange(len(y)), f)
        tt, yt = [texts[i] for i in tr], y[tr]
        oof = np.zeros(len(tr))
        for g in folds_of(len(tr), design.inner_folds, design.seed + 1):
            rest = np.setdiff1d(np.arange(len(tr)), g)
            oof[g] = fit_ridge([tt[i] for i in rest], yt[rest], idf, alpha).score([tt[i] for i in g])
        out.append((f, tr, oof, fit_ridge(tt, yt, idf, alpha).score([texts[i] for i in f])))
    return out


def _cv_over_text(raw: dict[str, np.ndarray], y: np.ndarray, risk: np.ndarray, idf: np.ndarray, design: Design,
                  folds: list[tuple]) -> np.ndarray:
    """`cross_validate` with the text folds given: the linear layer over the features and the text score."""
    layer = replace(design, text_alpha=None, features=[*design.features, {"name": TEXT_FEATURE, "transform": "identity"}])
    out = np.zeros(len(y))
    for f, tr, oof, test in folds:
        model = fit({**{k: v[tr] for k, v in raw.items()}, TEXT_FEATURE: oof}, [], y[tr], idf, layer)
        out[f] = predict(model, {**{k: v[f] for k, v in raw.items()}, TEXT_FEATURE: test}, [], risk[f], design)
    return out


def cmd_feature_sets(raw: dict[str, np.ndarray], texts: list[str], y: np.ndarray, risk: np.ndarray, idf: np.ndarray,
                     sources: np.ndarray) -> None:
    """Feature sets x ridge strength x text alpha, each the mean CV Spearman of seeds 1-3, in all and per source."""
    sets = {"shipped 1.1 (14 signals)": SIGNALS, "shipped + substance": SIGNALS + SUBSTANCE, "compact": COMPACT,
            "compact + substance": COMPACT + SUBSTANCE, "risk + substance": ["risk_unaddressed", *SUBSTANCE]}
    print(f"{'text alpha, ridge, features':<52}{'all':>8}{'smilechat':>11}{'emollm':>8}   seeds 1-3")
    for text_alpha in (0.1, 0.3, 1.0):
        folds = {s: _text_folds(texts, y, idf, text_alpha, replace(_design([], 1.0, None), seed=s)) for s in (1, 2, 3)}
        for name, names in sets.items():
            for alpha in (30.0, 100.0):
                d = _design(names, alpha, text_alpha)
                runs = [_cv_over_text(raw, y, risk, idf, replace(d, seed=s), folds[s]) for s in (1, 2, 3)]
                per = {src: np.mean([spearman(o[sources == src], y[sources == src]) for o in runs])
                       for src in ("smilechat", "emollm")}
                rs = [spearman(o, y) for o in runs]
                print(f"{f'{text_alpha:g}, {alpha:g}, {name}':<52}{np.mean(rs):>8.3f}{per['smilechat']:>11.3f}"
                      f"{per['emollm']:>8.3f}   {rs}", flush=True)


def _pairwise_weights(z: np.ndarray, y: np.ndarray, sources: np.ndarray, l2: float, within: bool) -> np.ndarray:
    """A rank objective: L2-penalised logistic loss on every pair rated differently (`within`: only pairs from
    one source, so the weights learn to rank inside a source; the source is never a feature)."""
    from scipy.optimize import minimize

    i, j = np.nonzero(y[:, None] > y[None, :])
    if within:
        same = sources[i] == sources[j]
        i, j = i[same], j[same]
    d = z[i] - z[j]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        m = d @ w
        return (float(np.logaddexp(0, -m).mean() + l2 * w @ w),
                d.T @ (-1.0 / (1.0 + np.exp(m))) / len(m) + 2 * l2 * w)

    return minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x


def cmd_pairwise(raw: dict[str, np.ndarray], texts: list[str], y: np.ndarray, risk: np.ndarray, idf: np.ndarray,
                 sources: np.ndarray) -> None:
    """The 1.2.0 features and text score with a pairwise rank objective instead of ridge (CV, seeds 1-3). The
    score maps to ratings as `fit` maps ridge's (least squares on the fitting rows, then the ratings' spread)
    so that the risk cap applies as shipped."""
    specs = [*[{"name": n, "transform": "log1p" if n in LOG else "identity"} for n in COMPACT + SUBSTANCE],
             {"name": TEXT_FEATURE, "transform": "identity"}]
    folds = {s: _text_folds(texts, y, idf, 0.3, replace(_design([], 1.0, None), seed=s)) for s in (1, 2, 3)}
    for within in (False, True):
        for l2 in (0.003, 0.01, 0.03, 0.1):
            runs = []
            for s in (1, 2, 3):
                out = np.zeros(len(y))
                for f, tr, oof, test in folds[s]:
                    z, stats = standardise({**{k: v[tr] for k, v in raw.items()}, TEXT_FEATURE: oof}, specs)
                    w = _pairwise_weights(z, y[tr], sources[tr], l2, within)
                    slope, icpt = np.polyfit(z @ w, y[tr], 1)
                    spread = np.std(y[tr]) / max(float(np.std(slope * (z @ w))), 1e-9)
                    zf, _ = standardise({**{k: v[f] for k, v in raw.items()}, TEXT_FEATURE: test}, specs, stats)
                    rating = np.clip(np.mean(y[tr]) + spread * (slope * (zf @ w) + icpt - np.mean(y[tr])), 1, 5)
                    out[f] = np.where(risk[f], np.minimum((rating - 1) / 4, cap()), (rating - 1) / 4)
                runs.append(out)
            per = {src: np.mean([spearman(o[sources == src], y[sources == src]) for o in runs])
                   for src in ("smilechat", "emollm")}
            rs = [spearman(o, y) for o in runs]
            label = f"pairwise logistic, {'within-source' if within else 'all'} pairs, l2 {l2:g}"
            print(f"{label:<52}{np.mean(rs):>8.3f}{per['smilechat']:>11.3f}{per['emollm']:>8.3f}   {rs}", flush=True)


SECOND = Path(__file__).resolve().parents[1] / "classifiers" / "annotations" / "dialogue-quality-hand-labels-second.jsonl"


def cmd_agreement(cfg_doc: dict[str, Any], root: Path) -> None:
    """How far two readings of the same test dialogues agree, and the shipped score against each: the ceiling
    that a score's Spearman with one rating is measured under. Reads the test part; chooses nothing."""
    from curate.annotations import read_rows
    from curate.models.card import read_card
    from curate.models.dialogue_quality import load_model

    second = read_rows(SECOND)
    gold = load_gold(cfg_doc, root, ("test",))
    ids = [str(x) for x in gold.table.column("id").to_pylist()]
    at = {d: k for k, d in enumerate(ids)}
    rows = np.array([at[r["dialogue_id"]] for r in second])
    first, again = gold.ratings[rows].astype(float), np.array([r["rating"] for r in second], dtype=float)
    model = load_model(read_card(Path(__file__).resolve().parents[1] / "classifiers" / "dialogue_quality.yaml"))
    _, texts, risk, _ = gold_arrays(gold, Design.from_config(cfg_doc))
    raw = {c: np.asarray(gold.table.column(c).to_pylist(), dtype=float) for c in model.columns}  # None -> nan
    score = predict(model, raw, texts, risk, Design([], 0, None, risk_cap=True))[rows]
    sources = np.asarray(gold.sources)[rows]
    print(f"{'dialogues':<12}{'n':>4}{'exact':>8}{'within 1':>10}{'first~second':>14}{'score~first':>13}"
          f"{'score~second':>14}{'score~mean':>12}")
    def rho(x: np.ndarray, y: np.ndarray) -> str:  # undefined where one side is constant
        return f"{spearman(x, y):.3f}" if np.ptp(x) and np.ptp(y) else "n/a"

    for name, m in (("all", np.ones(len(rows), dtype=bool)), *((s, sources == s) for s in sorted(set(sources)))):
        a, b, p = first[m], again[m], score[m]
        print(f"{name:<12}{m.sum():>4}{np.mean(a == b):>8.2f}{np.mean(abs(a - b) <= 1):>10.2f}{rho(a, b):>14}"
              f"{rho(p, a):>13}{rho(p, b):>14}{rho(p, (a + b) / 2):>12}")


def _content_bigram_set(text: str) -> set[str]:
    """Distinct content bigrams as `sig_sup_content_bigrams` counts them: adjacent Chinese characters, other
    characters dropped first, neither a function character."""
    from curate.stages.dialogue_cues import FUNCTION_CHARS

    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    return {a + b for a, b in zip(han, han[1:], strict=False) if a not in FUNCTION_CHARS and b not in FUNCTION_CHARS}


def uptake_features(table: Any) -> dict[str, np.ndarray]:
    """Per dialogue, the mean over its supporter turns of: the share of the turn's content bigrams found in the
    seeker's turns since the previous supporter turn (`uptake`), how many are (`uptake_bigrams`, log1p), and
    the share found in the supporter's own earlier turns (`self_repeat`); 0 without supporter turns."""
    out: dict[str, list[float]] = {"uptake": [], "uptake_bigrams": [], "self_repeat": []}
    for turns in table.column("turns").to_pylist():
        seen_seeker: set[str] = set()
        seen_self: set[str] = set()
        up, n_up, rep = [], [], []
        for t in turns:
            grams = _content_bigram_set(t["text"] or "")
            if t["role"] == "seeker":
                seen_seeker |= grams
            elif t["role"] == "supporter":
                shared = len(grams & seen_seeker)
                up.append(shared / len(grams) if grams else 0.0)
                n_up.append(np.log1p(shared))
                rep.append(len(grams & seen_self) / len(grams) if grams else 0.0)
                seen_self |= grams
                seen_seeker = set()
        for k, v in (("uptake", up), ("uptake_bigrams", n_up), ("self_repeat", rep)):
            out[k].append(float(np.mean(v)) if v else 0.0)
    return {k: np.array(v) for k, v in out.items()}


def cmd_uptake(gold: Any, raw: dict[str, np.ndarray], texts: list[str], y: np.ndarray, risk: np.ndarray,
               idf: np.ndarray, shipped: Design) -> None:
    """The rule of experiments/README.md ("signals of following the seeker"): each candidate alone, then each
    and all three added to the shipped design, nested CV at seeds 1-3."""
    extra = uptake_features(gold.table)
    both = {**raw, **extra}
    for name, v in extra.items():
        print(f"{'alone: ' + name:<52}{spearman(v, y):>8.3f}")
    folds = {s: _text_folds(texts, y, idf, shipped.text_alpha or 0.3, replace(shipped, seed=s)) for s in (1, 2, 3)}

    def cv(design: Design) -> list[float]:
        return [spearman(_cv_over_text(both, y, risk, idf, replace(design, seed=s), folds[s]), y) for s in (1, 2, 3)]

    base = cv(shipped)
    print(f"{'shipped design':<52}{np.mean(base):>8.3f}  {np.round(base, 4).tolist()}")
    for label, names in (*((f"shipped + {n}", [n]) for n in extra), ("shipped + all three", list(extra))):
        runs = cv(replace(shipped, features=[*shipped.features, *({"name": n, "transform": "identity"} for n in names)]))
        print(f"{label:<52}{np.mean(runs):>8.3f}  {np.round(runs, 4).tolist()}  "
              f"{'+' if min(np.subtract(runs, base)) >= 0 else '-'}{np.mean(runs) - np.mean(base):+.4f}", flush=True)


def cmd_curve(raw: dict[str, np.ndarray], texts: list[str], y: np.ndarray, risk: np.ndarray, idf: np.ndarray,
              design: Design) -> None:
    """The learning curve: the shipped design's nested CV Spearman on random subsets of the select part."""
    for frac in (0.5, 0.75, 1.0):
        vals = []
        for seed in (1, 2, 3, 4):
            idx = np.sort(np.random.default_rng(100 + seed).permutation(len(y))[: int(frac * len(y))])
            d = replace(design, folds=10, inner_folds=5, seed=seed)
            pred = cross_validate({k: v[idx] for k, v in raw.items()}, [texts[i] for i in idx], y[idx], risk[idx], idf, d)
            vals.append(spearman(pred, y[idx]))
        print(f"{len(idx):>4} dialogues: CV Spearman {np.mean(vals):.3f} ± {np.std(vals):.3f} (seeds 1-4)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--fasttext", action="store_true")
    ap.add_argument("--tag-features", action="store_true")
    ap.add_argument("--feature-sets", action="store_true")
    ap.add_argument("--pairwise", action="store_true")
    ap.add_argument("--agreement", action="store_true")
    ap.add_argument("--curve", action="store_true")
    ap.add_argument("--uptake", action="store_true")
    args = ap.parse_args()
    cfg = load_train_config("dialogue_quality")
    if args.agreement:
        cmd_agreement(cfg.doc, Path(args.data_root).resolve())
        return
    gold = load_gold(cfg.doc, Path(args.data_root).resolve(), ("select",))
    base = _design(SIGNALS + SUBSTANCE, 30.0, None)
    raw, texts, risk, web = gold_arrays(gold, base)
    y = gold.ratings
    idf = document_frequency_idf(gold.corpus_supporter_texts)
    print(f"select part: {len(y)} dialogues, ratings {dict(zip(*np.unique(y, return_counts=True), strict=True))}")
    if args.curve:
        shipped = Design.from_config(cfg.doc)
        s_raw, s_texts, s_risk, _ = gold_arrays(gold, shipped)
        cmd_curve(s_raw, s_texts, y, s_risk, idf, shipped)
        return
    if args.uptake:
        shipped = Design.from_config(cfg.doc)
        s_raw, s_texts, s_risk, _ = gold_arrays(gold, shipped)
        cmd_uptake(gold, s_raw, s_texts, y, s_risk, idf, shipped)
        return
    if args.pairwise:
        cmd_pairwise(raw, texts, y, risk, idf, gold.sources)
        return
    if args.feature_sets:
        cmd_feature_sets(raw, texts, y, risk, idf, gold.sources)
        return
    if args.tag_features:
        cmd_tag_features(gold, raw, texts, y, risk, idf, Design.from_config(cfg.doc))
        return
    print(f"{'baseline: web quality':<52}{spearman(web, y):>8.3f}")
    for name in SIGNALS + SUBSTANCE:
        print(f"{'signal alone: ' + name:<52}{spearman(np.nan_to_num(raw[name]), y):>8.3f}")
    for a in (0.1, 0.3, 1.0):
        oof = np.zeros(len(y))
        for f in np.array_split(np.random.default_rng(1).permutation(len(y)), 10):
            train = np.setdiff1d(np.arange(len(y)), f)
            oof[f] = fit_ridge([texts[i] for i in train], y[train], idf, a).score([texts[i] for i in f])
        print(f"{f'text score alone (hashed n-gram ridge, alpha {a})':<52}{spearman(oof, y):>8.3f}")
    if args.fasttext:
        print(f"{'text score alone (fastText, 3 classes)':<52}{spearman(_fasttext_cv(texts, y, 10, 1), y):>8.3f}")
    rows = []
    for alpha in (10.0, 30.0, 100.0, 300.0):
        rows.append((f"signals, ridge {alpha:g}", _design(SIGNALS, alpha, None)))
        rows.append((f"signals + text 0.3, ridge {alpha:g}", _design(SIGNALS, alpha, 0.3)))
    rows.append(("signals + text 0.3, ridge 100, no risk cap", _design(SIGNALS, 100.0, 0.3, risk_cap=False)))
    rows.append(("text 0.3 + risk only, ridge 100", _design(["risk_unaddressed"], 100.0, 0.3)))
    for label, design in rows:
        d = replace(design, folds=10, inner_folds=5, seed=1)
        print(f"{label:<52}{spearman(cross_validate(raw, texts, y, risk, idf, d), y):>8.3f}")


if __name__ == "__main__":
    main()
