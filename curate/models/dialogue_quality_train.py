"""`curate train dialogue_quality` and `curate eval dialogue_quality`: fit the dialogue-quality model on the
`select` part of the hand ratings, cross-validated there, and measure it on a part of the ratings.

Fitting: the text model (`curate.models.hashed_text`, ridge over the supporter turns' hashed character
n-grams, document frequencies from every supporter text of the corpus) on the select dialogues; the linear
layer (ridge on the standardised `features` of the config plus the text score) on the same dialogues, with
the text score of each dialogue out of fold (`cv.inner_folds`) so that the layer does not trust an
over-fitted text score. Cross-validation repeats the whole fit per outer fold (`cv.folds`). The figures are
Spearman rank correlations with the ratings, against the web quality model's as the baseline.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curate.models.dialogue_quality import (
    AI_CAP_SHARE,
    RATING_RANGE,
    TASK,
    TEXT_FEATURE,
    TRANSFORMS,
    DialogueQualityModel,
    Feature,
    cap,
    supporter_texts,
)
from curate.models.hashed_text import BUCKETS, NGRAMS, document_frequency_idf, fit_ridge

log = logging.getLogger("curate")


@dataclass
class Design:
    """What the model is fitted from: the config's features, text model and ridge settings."""

    features: list[dict[str, str]]  # {name, transform}
    ridge_alpha: float
    text_alpha: float | None  # None: no text score
    folds: int = 10
    inner_folds: int = 5
    seed: int = 1
    risk_cap: bool = True

    @classmethod
    def from_config(cls, doc: dict[str, Any]) -> Design:
        model = doc.get("model") or {}
        cv = doc.get("cv") or {}
        feats = [f if isinstance(f, dict) else {"name": f} for f in model.get("features", [])]
        text = model.get("text") or {}
        return cls([{"name": f["name"], "transform": f.get("transform", "identity")} for f in feats],
                   float(model.get("ridge_alpha", 30.0)),
                   float(text["alpha"]) if text.get("enabled", True) and "alpha" in text else None,
                   int(cv.get("folds", 10)), int(cv.get("inner_folds", 5)), int(doc.get("seed", 1)),
                   bool(model.get("risk_cap", True)))


def folds_of(n: int, k: int, seed: int) -> list[np.ndarray]:
    """The `k` cross-validation folds of `n` rows (row numbers), shuffled by `seed`."""
    return np.array_split(np.random.default_rng(seed).permutation(n), k)


def _raw(table: Any, design: Design) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    return {f["name"]: pc.fill_null(table.column(f["name"]).cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
            for f in design.features}


def standardise(values: dict[str, np.ndarray], specs: list[dict[str, str]],
                stats: list[tuple[float, float]] | None = None) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The features `specs` names as the linear layer reads them (rows x features): transformed, centred and
    scaled by the rows' own mean and standard deviation (or by `stats`, those of the fitting rows), missing → 0;
    and the (mean, scale) of each."""
    cols, used = [], []
    for k, spec in enumerate(specs):
        x = TRANSFORMS[spec["transform"]](np.asarray(values[spec["name"]], dtype=np.float64))
        if stats:
            mean, scale = stats[k]
        else:
            mean = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
            scale = float(np.nanstd(x)) or 1.0
        cols.append(np.where(np.isfinite(x), (x - mean) / scale, 0.0))
        used.append((mean, scale))
    return np.column_stack(cols), used


def fit(raw: dict[str, np.ndarray], texts: list[str], y: np.ndarray, idf: np.ndarray,
        design: Design) -> DialogueQualityModel:
    """The model fitted on these dialogues: text model on all of them, linear layer on out-of-fold text scores."""
    values = dict(raw)
    text = None
    if design.text_alpha is not None:
        text = fit_ridge(texts, y, idf, design.text_alpha)
        oof = np.zeros(len(y))
        for f in folds_of(len(y), design.inner_folds, design.seed + 1):
            train = np.setdiff1d(np.arange(len(y)), f)
            oof[f] = fit_ridge([texts[i] for i in train], y[train], idf, design.text_alpha).score([texts[i] for i in f])
        values[TEXT_FEATURE] = oof
    specs = [*design.features, *([{"name": TEXT_FEATURE, "transform": "identity"}] if text else [])]
    z, stats = standardise(values, specs) if specs else (np.zeros((len(y), 0)), [])
    feats = [Feature(spec["name"], 0.0, stable(mean), stable(scale), spec["transform"])
             for spec, (mean, scale) in zip(specs, stats, strict=True)]
    intercept = stable(float(np.mean(y)))
    coef = np.linalg.solve(z.T @ z + design.ridge_alpha * np.eye(z.shape[1]), z.T @ (y - intercept))
    for f, c in zip(feats, coef, strict=True):
        f.coef = stable(float(c))
    fitted = z @ coef
    spread = stable(float(np.std(y) / np.std(fitted))) if np.std(fitted) > 0 else 1.0
    return DialogueQualityModel(feats, intercept, text, spread=spread)


def stable(x: float) -> float:
    """`x` to ten significant digits: the last bits of a solve or a standard deviation differ between NumPy and
    BLAS builds, and the model file must be the same bytes on any of them (tests/integration/test_train_reproduces)."""
    return float(f"{x:.10g}")


def predict(model: DialogueQualityModel, raw: dict[str, np.ndarray], texts: list[str], risk: np.ndarray | None,
            design: Design) -> np.ndarray:
    """dialogue_quality of dialogues from their raw feature values and supporter texts."""
    values = dict(raw)
    if model.text is not None:
        values[TEXT_FEATURE] = model.text.score(texts)
    return model.quality(values, risk if design.risk_cap else None)


def cross_validate(raw: dict[str, np.ndarray], texts: list[str], y: np.ndarray, risk: np.ndarray, idf: np.ndarray,
                   design: Design) -> np.ndarray:
    """Out-of-fold dialogue_quality of every dialogue (the whole fit repeated per fold)."""
    out = np.zeros(len(y))
    for f in folds_of(len(y), design.folds, design.seed):
        train = np.setdiff1d(np.arange(len(y)), f)
        model = fit({k: v[train] for k, v in raw.items()}, [texts[i] for i in train], y[train], idf, design)
        out[f] = predict(model, {k: v[f] for k, v in raw.items()}, [texts[i] for i in f], risk[f], design)
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (ties averaged), 0 for a constant input."""
    from scipy.stats import spearmanr

    r = spearmanr(a, b).statistic
    return round(float(r), 4) if np.isfinite(r) else 0.0


def rank_report(pred: np.ndarray, y: np.ndarray, sources: np.ndarray, baseline: np.ndarray) -> dict[str, Any]:
    """Spearman of the score and of the baseline (web quality) with the ratings, in all and per source."""
    rep: dict[str, Any] = {"n": int(len(y)), "spearman": spearman(pred, y), "baseline_web_quality": spearman(baseline, y),
                           "ratings": {str(int(r)): int((y == r).sum()) for r in np.unique(y)}, "by_source": {}}
    for src in sorted(set(sources.tolist())):
        m = sources == src
        rep["by_source"][src] = {"n": int(m.sum()), "spearman": spearman(pred[m], y[m]),
                                 "baseline_web_quality": spearman(baseline[m], y[m])}
    return rep


def load_gold(doc: dict[str, Any], data_root: Path, parts: tuple[str, ...]) -> Any:
    """The rated dialogues of the config's gold set in `parts`, resolved against the data root."""
    from curate.models.training_data.dialogue_quality import build

    return build(doc["data"], data_root, parts)


def gold_arrays(gold: Any, design: Design) -> tuple[dict[str, np.ndarray], list[str], np.ndarray, np.ndarray]:
    """The gold dialogues' signal columns, supporter texts, risk_unaddressed flags and web-quality baseline."""
    import pyarrow.compute as pc

    texts = supporter_texts(gold.table.column("turns"), gold.table.num_rows).to_pylist()
    risk = pc.fill_null(gold.table.column("risk_unaddressed"), False).to_numpy(zero_copy_only=False)
    baseline = gold.table.column("quality").to_numpy(zero_copy_only=False).astype(np.float64)
    return _raw(gold.table, design), texts, risk, baseline


def train(cfg: Any, data_root: Path, out: Path, command: str) -> Any:
    """Fit on the select part, cross-validate there, write the model files and the card; returns the card."""
    from curate.assets import SHARED_DATA
    from curate.assets import data_root as default_data_root
    from curate.models.card import ModelCard, write_card
    from curate.models.train import CARD_HEADER, file_sha256, repo_relative

    doc = cfg.doc
    design = Design.from_config(doc)
    gold = load_gold(doc, data_root, ("select",))
    raw, texts, risk, baseline = gold_arrays(gold, design)
    y = gold.ratings
    idf = document_frequency_idf(gold.corpus_supporter_texts, int((doc.get("model") or {}).get("text", {}).get("buckets", BUCKETS)))
    oof = cross_validate(raw, texts, y, risk, idf, design)
    model = fit(raw, texts, y, idf, design)
    stem = str(doc.get("file", TASK))
    text_file = f"{stem}_text.npz"
    if model.text is not None:
        model.text.save(str(out / text_file))
    model.meta = {"text_model": text_file if model.text is not None else None,
                  "text_ngrams": list(NGRAMS), "risk_cap_applied": design.risk_cap}
    model_path = out / f"{stem}.json"
    model_path.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    metrics = {"select_cv": rank_report(oof, y, gold.sources, baseline),
               "select_fit": rank_report(predict(model, raw, texts, risk, design), y, gold.sources, baseline)}
    card = ModelCard(
        name=doc["name"], task=TASK, version=str(doc["version"]), backend="linear", model=model_path.name,
        labels=[str(x) for x in doc["labels"]], description=str(doc.get("description", "")).strip(),
        features={"mode": "signals", "columns": [f.name for f in model.features]},
        threshold=doc.get("threshold"), sha256=file_sha256(model_path), path=out / f"{stem}.yaml")
    card.metrics = metrics
    card.training = {"command": command, "config": repo_relative(cfg.path),
                     "data_root": SHARED_DATA if Path(data_root).resolve() == default_data_root() else str(data_root),
                     "data": doc["data"], "model": doc.get("model"), "cv": doc.get("cv"),
                     "examples": {"select": int(len(y)), "ratings": metrics["select_cv"]["ratings"]},
                     "corpus": gold.generic_report,
                     "size_bytes": model_path.stat().st_size + ((out / text_file).stat().st_size if model.text else 0)}
    card.notes = {"rating_to_score": f"rating = mean + {model.spread:.3f} × (linear prediction - mean), so that predictions "
                                     "spread as the select ratings do (ranks unchanged); "
                                     f"dialogue_quality = (clip(rating, {RATING_RANGE[0]:g}, {RATING_RANGE[1]:g}) - 1) / 4; "
                                     f"risk_unaddressed caps it at {cap():g} (the rubric's 2); AI-assistant boilerplate "
                                     f"in over {AI_CAP_SHARE:g} of the supporter turns caps it at 0 (the rubric's 1: no "
                                     "rated dialogue has any, so no weight was fitted)",
                  "coefficients": {f.name: round(f.coef, 4) for f in model.features},
                  **(doc.get("notes") or {})}
    write_card(card, card.path, CARD_HEADER)
    log.info("%s: select CV spearman %.3f (web quality %.3f)", TASK, metrics["select_cv"]["spearman"],
             metrics["select_cv"]["baseline_web_quality"])
    return card


def evaluate_gold(card: Any, data_root: Path, config: Path | None, part: str | None,
                  files: tuple[str, ...] = ()) -> dict[str, Any]:
    """The card's model on a part of the hand ratings (both when `part` is None), with the web quality baseline.

    `files`: a gold file of the guide's form to read instead of the config's, then any further readings of
    (some of) its dialogues; each reading's Spearman with the score and with the first reading, and on the
    dialogues every reading rated, the score's Spearman with the mean of the readings."""
    from curate.models.dialogue_quality import load_model
    from curate.models.train import load_train_config

    cfg = load_train_config(TASK, config)
    design = Design.from_config(cfg.doc)
    model = load_model(card)
    doc = {**cfg.doc, "data": {**cfg.doc["data"], "gold": files[0]}} if files else cfg.doc
    gold = load_gold(doc, data_root, (part,) if part else ("select", "test"))
    _, texts, risk, baseline = gold_arrays(gold, design)
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = {c: pc.fill_null(gold.table.column(c).cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
           for c in model.columns}
    pred = predict(model, raw, texts, risk, Design([], 0, None, risk_cap=True))
    rep = rank_report(pred, gold.ratings, gold.sources, baseline)
    rep["kind"] = "rank"
    rep["part"] = part or "all"
    rep["risk_unaddressed"] = int(risk.sum())
    if len(files) > 1:
        rep.update(_other_readings(files, gold, pred, baseline, data_root))
    return rep


def _other_readings(files: tuple[str, ...], gold: Any, pred: np.ndarray, baseline: np.ndarray,
                    data_root: Path) -> dict[str, Any]:
    """The further readings of `files[1:]` against the first reading and the score, and the mean of all; each
    file is checked as the first is (references, ratings, parts), a bad line named."""
    from curate.annotations import gold_file
    from curate.dialogue_gold import read_gold_dialogues

    ids = [g.dialogue_id for g in gold.gold]
    at = {d: k for k, d in enumerate(ids)}
    first = gold.ratings
    readings, every = [], np.ones(len(ids), dtype=bool)
    total = first.copy()
    for f in files[1:]:
        rows = read_gold_dialogues(gold_file(f), data_root)
        if unknown := [r.dialogue_id for r in rows if r.dialogue_id not in at]:
            raise ValueError(f"{f}: {len(unknown)} dialogues not in {files[0]} (first: {unknown[0]})")
        other = np.full(len(ids), np.nan)
        for r in rows:
            other[at[r.dialogue_id]] = float(r.rating)
        m = np.isfinite(other)
        readings.append({"file": f, "n": int(m.sum()), "spearman": spearman(pred[m], other[m]),
                         "agreement_with_first": spearman(first[m], other[m]),
                         "exact": round(float(np.mean(first[m] == other[m])), 4),
                         "within_one": round(float(np.mean(abs(first[m] - other[m]) <= 1)), 4)})
        every &= m
        total = total + np.nan_to_num(other)
    mean = total / len(files)
    sources = gold.sources
    return {"other_readings": readings,
            "mean_of_readings": {"n": int(every.sum()), "spearman": spearman(pred[every], mean[every]),
                                 "baseline_web_quality": spearman(baseline[every], mean[every]),
                                 "by_source": {src: spearman(pred[every & (sources == src)], mean[every & (sources == src)])
                                               for src in sorted(set(sources[every].tolist()))}}}


def format_rank_report(rep: dict[str, Any], title: str) -> str:
    """The plain-text table `curate eval dialogue_quality` prints."""
    lines = [title, f"n={rep['n']}  spearman(dialogue_quality, rating)={rep['spearman']:.4f}   "
                    f"baseline spearman(web quality, rating)={rep['baseline_web_quality']:.4f}",
             f"{'source':<12}{'n':>6}{'dialogue_quality':>18}{'web quality':>14}"]
    for src, r in rep["by_source"].items():
        lines.append(f"{src:<12}{r['n']:>6}{r['spearman']:>18.4f}{r['baseline_web_quality']:>14.4f}")
    lines.append("ratings: " + ", ".join(f"{k}: {v}" for k, v in rep["ratings"].items())
                 + f"; risk_unaddressed: {rep.get('risk_unaddressed', 0)}")
    for r in rep.get("other_readings", []):
        lines.append(f"reading {r['file']}: n={r['n']}  spearman(dialogue_quality, it)={r['spearman']:.4f}  "
                     f"with the first reading: spearman={r['agreement_with_first']:.4f}, exact {r['exact']:.2f}, "
                     f"within one {r['within_one']:.2f}")
    if m := rep.get("mean_of_readings"):
        lines.append(f"mean of the readings: n={m['n']}  spearman(dialogue_quality, mean)={m['spearman']:.4f}   "
                     f"baseline spearman(web quality, mean)={m['baseline_web_quality']:.4f}   "
                     + ", ".join(f"{src} {r:.4f}" for src, r in m["by_source"].items()))
    return "\n".join(lines)
