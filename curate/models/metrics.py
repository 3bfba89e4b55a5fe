"""Classification metrics for `curate eval` and model cards: accuracy, macro-F1, per-label P/R/F1, confusion.

Single-label: the prediction is the arg-max label. Multi-label (domain): a label is predicted when its
probability is at least the threshold; accuracy is top-1 (the arg-max label is one of the gold labels) and
the confusion matrix pairs the arg-max label with the gold label it matched (else the first gold label).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from curate.models.abstention import MinConfidence, describe, label_floors, withheld


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two readers' labels of the same items: (observed - chance) / (1 - chance) agreement,
    chance from each reader's own label shares (1.0 where both readers give every item the same one label)."""
    if len(a) != len(b) or not a:
        raise ValueError("two non-empty label lists of the same length")
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return 1.0 if pe == 1.0 else (po - pe) / (1 - pe)


def report(labels: Sequence[str], gold: Sequence[Sequence[str]], proba: np.ndarray, *,
           multi_label: bool = False, threshold: float = 0.5) -> dict[str, Any]:
    """Metrics of `proba` (n × len(labels)) against gold label tuples, plus the majority-class baseline."""
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    n, k = len(gold), len(labels)
    gold_m = np.zeros((n, k), dtype=bool)
    for i, g in enumerate(gold):
        for lab in g:
            gold_m[i, index[lab]] = True
    top = proba.argmax(axis=1) if n else np.zeros(0, dtype=int)
    if multi_label:
        pred_m = proba >= threshold
    else:
        pred_m = np.zeros((n, k), dtype=bool)
        pred_m[np.arange(n), top] = True
    correct = gold_m[np.arange(n), top]
    per_label = {}
    for j, lab in enumerate(labels):
        tp = int((pred_m[:, j] & gold_m[:, j]).sum())
        fp = int((pred_m[:, j] & ~gold_m[:, j]).sum())
        fn = int((~pred_m[:, j] & gold_m[:, j]).sum())
        p, r, f = precision_recall_f1(tp, fp, fn)
        per_label[lab] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": int(gold_m[:, j].sum())}
    present = [lab for lab in labels if per_label[lab]["support"] or (pred_m[:, index[lab]].any())]
    macro_f1 = float(np.mean([per_label[lab]["f1"] for lab in present])) if present else 0.0
    # the gold label the arg-max is scored against: the one it hit, else the first gold label
    first_gold = np.array([index[g[0]] for g in gold], dtype=int) if n else np.zeros(0, dtype=int)
    row = np.where(correct, top, first_gold)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (row, top), 1)
    freq = Counter(lab for g in gold for lab in g)
    majority, m_count = freq.most_common(1)[0] if freq else ("", 0)
    base_pred = np.zeros((n, k), dtype=bool)
    if n:
        base_pred[:, index[majority]] = True
    base_f1 = []
    for j, lab in enumerate(labels):
        if lab in present:
            tp = int((base_pred[:, j] & gold_m[:, j]).sum())
            base_f1.append(precision_recall_f1(tp, int((base_pred[:, j] & ~gold_m[:, j]).sum()), int((~base_pred[:, j] & gold_m[:, j]).sum()))[2])
    return {
        "n": n,
        "accuracy": round(float(correct.mean()) if n else 0.0, 4),
        "macro_f1": round(macro_f1, 4),
        "per_label": per_label,
        "confusion": {"labels": labels, "rows_gold_cols_pred": confusion.tolist()},
        "baseline": {"majority_label": majority, "accuracy": round(m_count / n if n else 0.0, 4),
                     "macro_f1": round(float(np.mean(base_f1)) if base_f1 else 0.0, 4)},
        "multi_label": multi_label,
    }


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability curve of binary probabilities: per equal-width bin, mean predicted vs observed rate; plus ECE."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        m = which == b
        if not m.any():
            continue
        mean_p, rate = float(p[m].mean()), float(y[m].mean())
        ece += float(m.sum()) / len(p) * abs(mean_p - rate)
        rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                     "mean_predicted": round(mean_p, 4), "observed": round(rate, 4)})
    return {"bins": rows, "ece": round(ece, 4)}


def format_report(rep: dict[str, Any], title: str = "") -> str:
    """The metrics as the plain-text table `curate eval` prints."""
    lines = [title] if title else []
    acc_name = "top-1 accuracy" if rep["multi_label"] else "accuracy"
    b = rep["baseline"]
    lines.append(f"n={rep['n']}  {acc_name}={rep['accuracy']:.4f}  macro-F1={rep['macro_f1']:.4f}   "
                 f"majority baseline ({b['majority_label']}): {acc_name}={b['accuracy']:.4f} macro-F1={b['macro_f1']:.4f}")
    w = max(24, *(len(lab) + 2 for lab in rep["per_label"]))
    lines.append(f"{'label':<{w}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for lab, m in rep["per_label"].items():
        lines.append(f"{lab:<{w}}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}{m['support']:>10}")
    labels = rep["confusion"]["labels"]
    short = [lab[:6] for lab in labels]
    lines.append("confusion (rows gold, columns predicted" + (", arg-max)" if rep["multi_label"] else ")"))
    lines.append(" " * w + "".join(f"{s:>7}" for s in short))
    for lab, row in zip(labels, rep["confusion"]["rows_gold_cols_pred"], strict=True):
        lines.append(f"{lab:<{w}}" + "".join(f"{v:>7}" for v in row))
    return "\n".join(lines + format_views(rep))


def group_view(labels: Sequence[str], gold: Sequence[Sequence[str]], proba: np.ndarray,
               groups: dict[str, str]) -> dict[str, Any]:
    """Accuracy after mapping gold and predicted labels onto coarser groups (CPED's 13 emotions → six), with
    the majority baseline, and the predicted vs gold share of each group."""
    top = [groups[labels[i]] for i in proba.argmax(axis=1)] if len(gold) else []
    g = [groups[x[0]] for x in gold]
    n = len(g)
    freq = Counter(g)
    majority, m_count = freq.most_common(1)[0] if freq else ("", 0)
    pred = Counter(top)
    return {"accuracy": round(sum(a == b for a, b in zip(top, g, strict=True)) / n, 4) if n else 0.0,
            "baseline": {"majority_label": majority, "accuracy": round(m_count / n, 4) if n else 0.0},
            "share": {k: {"gold": round(freq[k] / n, 4), "predicted": round(pred[k] / n, 4)}
                      for k in dict.fromkeys(groups.values())} if n else {}}


def abstention_view(labels: Sequence[str], gold: Sequence[Sequence[str]], proba: np.ndarray,
                    min_confidence: MinConfidence, groups: dict[str, str] | None = None) -> dict[str, Any]:
    """What a `min_confidence` (one number or per label) does: the share of labels emitted and the accuracy of
    those emitted (and, with `groups`, their accuracy on the coarse groups)."""
    top = proba.argmax(axis=1)
    emitted = ~withheld(proba, label_floors(min_confidence, labels))
    out = {"min_confidence": min_confidence, "emitted": round(float(emitted.mean()) if len(gold) else 0.0, 4)}
    for key, same in (("accuracy_emitted", lambda p, g: p in g),
                      *((("groups_accuracy_emitted", lambda p, g: groups[p] == groups[g[0]]),) if groups else ())):
        correct = np.array([same(labels[t], g) for t, g in zip(top, gold, strict=True)], dtype=bool)
        out[key] = round(float(correct[emitted].mean()) if emitted.any() else 0.0, 4)
    return out


def predicted_share(labels: Sequence[str], gold: Sequence[Sequence[str]], proba: np.ndarray) -> dict[str, dict[str, float]]:
    """Each label's share among the gold labels and among the predictions."""
    n = len(gold)
    if not n:
        return {}
    pred = Counter(labels[i] for i in proba.argmax(axis=1))
    freq = Counter(g[0] for g in gold)
    return {lab: {"gold": round(freq[lab] / n, 4), "predicted": round(pred[lab] / n, 4)} for lab in labels}


def format_views(rep: dict[str, Any]) -> list[str]:
    """Lines for the optional views of a report (groups, shares, abstention)."""
    lines = []
    if "groups" in rep:
        gv = rep["groups"]
        lines.append(f"{gv['name']}: accuracy={gv['accuracy']:.4f}   majority baseline ({gv['baseline']['majority_label']}): "
                     f"accuracy={gv['baseline']['accuracy']:.4f}")
        lines.append("  " + "  ".join(f"{k} {v['gold']:.1%}/{v['predicted']:.1%}" for k, v in gv["share"].items())
                     + "   (share gold/predicted)")
    if "first_label" in rep:
        f = rep["first_label"]
        lines.append(f"arg-max vs the first gold label (the web gold's primary domain): accuracy={f['accuracy']:.4f}   "
                     f"majority baseline ({f['baseline']['majority_label']}): accuracy={f['baseline']['accuracy']:.4f}")
    if "top_without_gold" in rep:
        lines.append("arg-max where the gold lacks it: " + "  ".join(
            f"{k} {v['top']}/{v['n']} ({v['share']:.1%})" for k, v in rep["top_without_gold"].items()))
    if "share" in rep:
        lines.append("label share gold/predicted: " + "  ".join(
            f"{k} {v['gold']:.1%}/{v['predicted']:.1%}" for k, v in rep["share"].items() if v["gold"] or v["predicted"]))
    if "abstention" in rep:
        a = rep["abstention"]
        groups = f", on the coarse groups {a['groups_accuracy_emitted']:.4f}" if "groups_accuracy_emitted" in a else ""
        interval = (f" ({a['n_emitted']} labels, 95 % interval {a['interval_95'][0]:.3f}-{a['interval_95'][1]:.3f})"
                    if "interval_95" in a else "")
        lines.append(f"min_confidence {describe(a['min_confidence'])}: labels emitted {a['emitted']:.1%}, "
                     f"accuracy of those emitted {a['accuracy_emitted']:.4f}{interval}{groups}")
    return lines


def top_without_gold(labels: Sequence[str], gold: Sequence[Sequence[str]], proba: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per label, how often it is the arg-max of a document whose gold labels lack it (multi-label: a news
    article predicted `dialogue`), as {label: {n, top, share}} over the documents without it."""
    top = proba.argmax(axis=1) if len(gold) else np.zeros(0, dtype=int)
    out = {}
    for j, lab in enumerate(labels):
        without = np.array([lab not in g for g in gold], dtype=bool)
        hits = int((top[without] == j).sum()) if without.any() else 0
        if hits:
            out[lab] = {"n": int(without.sum()), "top": hits, "share": round(hits / int(without.sum()), 4)}
    return out


def first_label_accuracy(labels: Sequence[str], gold: Sequence[Sequence[str]], proba: np.ndarray) -> dict[str, Any]:
    """Accuracy of the arg-max against each document's first gold label (the primary domain of the web gold
    set), with the majority baseline of first labels."""
    n = len(gold)
    top = [labels[i] for i in proba.argmax(axis=1)] if n else []
    first = [g[0] for g in gold]
    majority, m_count = Counter(first).most_common(1)[0] if n else ("", 0)
    return {"accuracy": round(sum(a == b for a, b in zip(top, first, strict=True)) / n, 4) if n else 0.0,
            "baseline": {"majority_label": majority, "accuracy": round(m_count / n, 4) if n else 0.0}}


def auc(high: np.ndarray, low: np.ndarray) -> float:
    """Probability that a random `high` score exceeds a random `low` one (ties count half): ROC AUC."""
    from scipy.stats import rankdata

    high, low = np.asarray(high, dtype=float), np.asarray(low, dtype=float)
    if not len(high) or not len(low):
        return float("nan")
    ranks = rankdata(np.concatenate([high, low]))  # average ranks over ties, 1-based
    return float((ranks[: len(high)].sum() - len(high) * (len(high) + 1) / 2) / (len(high) * len(low)))


def graded_view(scores: np.ndarray, gold: Sequence[str], levels: Sequence[str],
                cuts: Sequence[float] = (0.3, 0.6)) -> dict[str, Any]:
    """How a 0–1 score orders documents graded on an ordered scale (`levels`, worst first): per level the
    count, median, share below/above each cut and a 10-bin histogram; AUC for every pair of levels."""
    scores = np.asarray(scores, dtype=float)
    g = np.asarray(gold)
    per = {}
    for lev in levels:
        s = scores[g == lev]
        if not len(s):
            continue
        per[lev] = {"n": len(s), "median": round(float(np.median(s)), 4), "mean": round(float(s.mean()), 4),
                    **{f"below_{c}": round(float((s < c).mean()), 4) for c in cuts},
                    "histogram": np.histogram(s, bins=10, range=(0.0, 1.0))[0].tolist()}
    pairs = {f"{hi}>{lo}": round(auc(scores[g == hi], scores[g == lo]), 4)
             for i, lo in enumerate(levels) for hi in levels[i + 1:] if hi in per and lo in per}
    return {"levels": list(levels), "cuts": list(cuts), "per_level": per, "auc": pairs, "n": len(g)}


def format_graded(rep: dict[str, Any], title: str = "") -> str:
    """The graded view as the plain-text table `curate eval` prints."""
    lines = [title] if title else []
    cuts = rep["cuts"]
    lines.append(f"n={rep['n']}  AUC " + "  ".join(f"{k}={v:.4f}" for k, v in rep["auc"].items()))
    lines.append(f"{'level':<10}{'n':>6}{'median':>9}{'mean':>8}" + "".join(f"{'<' + str(c):>8}" for c in cuts)
                 + "   histogram 0.0-0.1 … 0.9-1.0")
    for lev, m in rep["per_level"].items():
        lines.append(f"{lev:<10}{m['n']:>6}{m['median']:>9.3f}{m['mean']:>8.3f}"
                     + "".join(f"{m[f'below_{c}']:>8.1%}" for c in cuts) + "   " + " ".join(f"{v:>3}" for v in m["histogram"]))
    return "\n".join(lines)
