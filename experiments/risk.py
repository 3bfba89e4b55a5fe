"""The crisis-risk tagger: choose its decision on the gold `select` part, then report on the untouched `test` part.

    python experiments/risk.py select [--config VARIANT.yaml]   # thresholds on select (out of fold if trained on it)
    python experiments/risk.py report                           # the agreement table on test (and select)
    python experiments/risk.py share [--sample N]               # SMILECHAT dialogues per risk level
    python experiments/risk.py self                             # self-agreement on the 60 relabelled turns

`select` prints, per P(high) threshold, the recall and precision of `high` for the model alone and for the
model OR an unnegated first-person high cue (the hybrid the tag stage runs, where a high cue the lexicon demoted vetoes the model's high), on the select part: the shipped
model directly when its config does not train on select, else out of fold (4 folds by dialogue, each model
trained without its fold, whose dialogues stay out of the weak data too). The card's `decision.high` is the
largest threshold at which the hybrid reaches its best recall on select (recall first, then precision; that
recall must be at least `TARGET_RECALL` + `MARGIN`, a margin for the small set); `decision.concern`
maximises concern-or-higher F1 there. `report` then reads the test part once, with everything fixed, and
prints per level precision / recall / F1 of the majority class, the weak labeller (the lexicon alone), the
tagger (arg-max) and the shipped decision (tagger + lexicon), with `high` recall per sampling stratum.
`share` runs the shipped decision over every client turn of SMILECHAT (or a seeded sample of dialogues) and
counts dialogues by their highest level, as the tag stage's record-level `risk` does.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from curate.annotations import (
    EMOLLM,
    SMILECHAT,
    GoldTurn,
    gold_file,
    load_dialogues,
    load_smilechat,
    read_rows,
)
from curate.assets import data_root
from curate.models.classifier import Classifier, load_classifier
from curate.models.evaluate import default_card
from curate.models.metrics import precision_recall_f1
from curate.models.risk_cues import LEVEL, load_cues
from curate.models.risk_decision import LEVELS, Decision, assess, levels
from curate.models.train import load_train_config, train_task
from curate.models.training_data.risk import GOLD, gold_turns, seeker_texts

FOLDS = 4
TARGET_RECALL = 0.9
MARGIN = 0.05  # select is small (53 high turns): aim above the target so test has room
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def fold_of(dialogue_id: str) -> int:
    """The cross-validation fold of a dialogue."""
    return int(hashlib.sha1(f"risk-cv:{dialogue_id}".encode()).hexdigest()[:8], 16) % FOLDS


def model_proba(model: Classifier, texts: list[str]) -> np.ndarray:
    """Probabilities in `LEVELS` order."""
    return model.predict_proba(texts)[:, [model.labels.index(lab) for lab in LEVELS]]


def out_of_fold(turns: list[GoldTurn], data_root: Path, config: Path | None) -> np.ndarray:
    """Select-part probabilities: the shipped model when its config does not train on select, else out of fold."""
    cfg = load_train_config("risk", config)
    if not int(cfg.doc["data"].get("gold", {}).get("repeat", 0)):
        if config is None:
            return model_proba(load_classifier(default_card("risk")), [t.text for t in turns])
        with tempfile.TemporaryDirectory(prefix="curate-risk-") as tmp:
            card = train_task("risk", config=config, data_root=data_root, out_dir=tmp)
            return model_proba(load_classifier(card), [t.text for t in turns])
    proba = np.zeros((len(turns), len(LEVELS)))
    rows = read_rows(gold_file(cfg.doc["data"]["gold"]["file"]))
    with tempfile.TemporaryDirectory(prefix="curate-risk-cv-") as tmp:
        for k in range(FOLDS):
            # the fold's select turns become part `held`: still excluded from the weak data, not trained on
            fold_rows = [{**r, "part": "held"} if r["part"] == "select" and fold_of(r["dialogue_id"]) == k else r
                         for r in rows]
            gold = Path(tmp) / f"gold-{k}.jsonl"
            gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in fold_rows), encoding="utf-8")
            doc = {**cfg.doc, "data": {**cfg.doc["data"], "gold": {**cfg.doc["data"]["gold"], "file": str(gold)}}}
            conf = Path(tmp) / f"risk-{k}.yaml"
            conf.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
            card = train_task("risk", config=conf, data_root=data_root, out_dir=Path(tmp) / f"m{k}")
            held = [i for i, t in enumerate(turns) if fold_of(t.dialogue_id) == k]
            proba[held] = model_proba(load_classifier(card), [turns[i].text for i in held])
    return proba


def prf(gold: np.ndarray, pred: np.ndarray, level: int, weight: np.ndarray | None = None) -> tuple[float, float, float, int]:
    """Precision, recall, F1 and support of one level (exact level); `weight`: per-turn population weights."""
    w = np.ones(len(gold)) if weight is None else weight
    tp = float(w[(pred == level) & (gold == level)].sum())
    p, r, f = precision_recall_f1(tp, float(w[(pred == level) & (gold != level)].sum()), float(w[(pred != level) & (gold == level)].sum()))
    return p, r, f, int((gold == level).sum())


def population_weights(turns: list[GoldTurn], data_root: Path) -> np.ndarray:
    """Post-stratification weights: the sample was enriched with the sampler's candidate net, so a turn stands
    for (seeker turns of its source that the net does / does not catch) / (sampled turns of that cell)."""
    spec = importlib.util.spec_from_file_location("risk_sample", Path(__file__).parents[1] / "annotate" / "risk_sample.py")
    sys.path.insert(0, str(Path(__file__).parents[1] / "annotate"))
    sampler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sampler)  # type: ignore[union-attr]
    cell = lambda did, text: (did.split("-")[0], bool(sampler.CANDIDATE.search(text)))  # noqa: E731
    population = Counter(cell(did, text) for did, _, text in seeker_texts(load_dialogues(data_root, (SMILECHAT, EMOLLM))))
    sampled = Counter(cell(t.dialogue_id, t.text) for t in turns)
    return np.array([population[c] / sampled[c] for c in (cell(t.dialogue_id, t.text) for t in turns)])


def cue_levels(texts: list[str], cues: str) -> tuple[np.ndarray, np.ndarray]:
    """The lexicon's level index per text, and whether it demoted a high cue (negation, third person, ...)."""
    hits = load_cues(cues).read_batch(texts)
    return np.array([LEVEL[h.level] for h in hits], dtype=np.int64), np.array([h.demoted for h in hits], dtype=bool)


def cmd_select(data_root: Path, config: Path | None) -> None:
    """Threshold sweep on the select part."""
    turns = [t for t in gold_turns(data_root) if t.part == "select"]
    gold = np.array([LEVEL[t.label] for t in turns])
    cfg = load_train_config("risk", config)
    cue, demoted = cue_levels([t.text for t in turns], cfg.doc["data"].get("cues", "risk-cues.yaml"))
    proba = out_of_fold(turns, data_root, config)
    print(f"select: {len(turns)} turns, high {int((gold == 2).sum())}, concern {int((gold == 1).sum())}")
    p, r, _, _ = prf(gold, cue, 2)
    print(f"lexicon alone: high precision {p:.3f} recall {r:.3f}")
    p, r, _, _ = prf(gold, proba.argmax(1), 2)
    print(f"model arg-max: high precision {p:.3f} recall {r:.3f}")
    print(f"{'P(high) >=':>12}{'model P':>9}{'model R':>9}{'hybrid P':>10}{'hybrid R':>10}")
    recall = {}
    for t in THRESHOLDS:
        model = np.where(proba[:, 2] >= t, 2, 0)
        # the hybrid the tag stage runs: the model's high unless the lexicon demoted a high cue (cue_veto), or a high cue
        hybrid = np.where(((proba[:, 2] >= t) & ~demoted) | (cue == 2), 2, 0)
        mp, mr, _, _ = prf(gold, model, 2)
        hp, recall[t], _, _ = prf(gold, hybrid, 2)
        print(f"{t:>12}{mp:>9.3f}{mr:>9.3f}{hp:>10.3f}{recall[t]:>10.3f}")
    best = max(recall.values())
    chosen = max(t for t in THRESHOLDS if recall[t] == best)
    ok = "" if best >= TARGET_RECALL + MARGIN else f" -- below the target {TARGET_RECALL + MARGIN:.2f}"
    print(f"decision.high: {chosen} (largest threshold reaching the best hybrid high recall, {best:.3f}{ok})")
    w = population_weights(turns, data_root)
    flagged = (gold >= 1).astype(int)
    print("concern or higher; F1w: weighted back to the population (the sample is enriched with candidates)")
    print(f"{'P(concern)+P(high) >=':>22}{'model P':>9}{'model R':>9}{'F1w':>7}{'+cues P':>9}{'+cues R':>9}{'F1w':>7}")
    f1 = {}
    for c in THRESHOLDS:
        m_pred = (proba[:, 1] + proba[:, 2] >= c).astype(int)
        h_pred = m_pred | (cue >= 1).astype(int)
        m, h = prf(flagged, m_pred, 1), prf(flagged, h_pred, 1)
        f1[(c, False)], f1[(c, True)] = prf(flagged, m_pred, 1, w)[2], prf(flagged, h_pred, 1, w)[2]
        print(f"{c:>22}{m[0]:>9.3f}{m[1]:>9.3f}{f1[(c, False)]:>7.3f}{h[0]:>9.3f}{h[1]:>9.3f}{f1[(c, True)]:>7.3f}")
    c, with_cues = max(f1, key=lambda k: (f1[k], k[0]))
    print(f"decision.concern: {c}, cue_concern: {str(with_cues).lower()} (best weighted concern-or-higher F1, {f1[(c, with_cues)]:.3f})")


def _table(gold: np.ndarray, preds: dict[str, np.ndarray], title: str) -> list[str]:
    lines = [title, f"{'labeller':<28}{'level':<9}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}"]
    for name, pred in preds.items():
        for j, lab in enumerate(LEVELS):
            p, r, f, n = prf(gold, pred, j)
            lines.append(f"{name:<28}{lab:<9}{p:>10.3f}{r:>8.3f}{f:>7.3f}{n:>9}")
        acc = float((pred == gold).mean())
        macro = float(np.mean([prf(gold, pred, j)[2] for j in range(3)]))
        lines.append(f"{name:<28}{'all':<9}  accuracy {acc:.3f}, macro-F1 {macro:.3f}")
    return lines


def cmd_report(data_root: Path) -> None:
    """The agreement table on the test part (select printed too, marked as used for choosing)."""
    model = load_classifier(default_card("risk"))
    d = Decision.of(model.card.decision)
    trained_on_select = int(model.card.training.get("data", {}).get("gold", {}).get("repeat", 0)) > 0
    all_turns = gold_turns(data_root)
    for part in ("test", "select"):
        turns = [t for t in all_turns if t.part == part]
        texts = [t.text for t in turns]
        gold = np.array([LEVEL[t.label] for t in turns])
        proba = model_proba(model, d.model_texts(texts))
        cue, demoted = cue_levels(texts, model.card.decision.get("cues", "risk-cues.yaml"))
        preds = {"majority (none)": np.zeros_like(gold), "weak labeller (lexicon)": cue,
                 "tagger (arg-max)": proba.argmax(1), "shipped decision": levels(proba, cue, d, demoted)}
        note = ("untouched until the decision was fixed" if part == "test" else
                "the decision was chosen on it" + (" and the shipped tagger trains on it: a fit, not a measure; "
                                                   "out-of-fold figures: `select`" if trained_on_select else ""))
        print("\n".join(_table(gold, preds, f"\n## {part} part: {len(turns)} turns ({note})")))
        shipped = preds["shipped decision"]
        for stratum in ("random", "candidate"):
            m = np.array([t.extra.get("stratum") == stratum for t in turns])
            g, s_ = Counter(gold[m].tolist()), Counter(shipped[m].tolist())
            print(f"  stratum {stratum:<10}{int(m.sum()):>4} turns; gold none/concern/high {g[0]}/{g[1]}/{g[2]}, "
                  f"shipped {s_[0]}/{s_[1]}/{s_[2]}; high recall {prf(gold[m], shipped[m], 2)[1]:.3f}")
        w = population_weights(turns, data_root)
        for j in (1, 2):
            p, r, f, _ = prf(gold, shipped, j, w)
            print(f"  weighted to the population: shipped {LEVELS[j]} precision {p:.3f} recall {r:.3f} F1 {f:.3f}")
        res = assess(texts, model, d, proba)
        hits = [i for i, t in enumerate(turns) if t.label == "high" and res.level[i] == 2 and "span" in t.extra]
        overlap = sum(1 for i in hits if res.spans[i] and res.spans[i][0] < turns[i].extra["span"][1]
                      and turns[i].extra["span"][0] < res.spans[i][1])
        print(f"  evidence: on {len(hits)} gold-high turns tagged high, the span overlaps the gold span on {overlap}")


def dialogue_levels(dialogues: dict[str, list[dict]], model: Classifier, d: Decision) -> dict[str, int]:
    """Each dialogue's highest client-turn level (the record-level `risk` of the tag stage)."""
    owner, texts = [], []
    for did, turns in dialogues.items():
        for t in turns:
            if t["role"] == "client" and (t.get("content") or "").strip():
                owner.append(did)
                texts.append(t["content"])
    out = dict.fromkeys(dialogues, 0)
    for lo in range(0, len(texts), 20_000):
        res = assess(texts[lo:lo + 20_000], model, d)
        for did, lev in zip(owner[lo:lo + 20_000], res.level.tolist(), strict=True):
            out[did] = max(out[did], lev)
    return out


def cmd_share(data_root: Path, sample: int | None, seed: int) -> None:
    """SMILECHAT dialogues per record-level risk, with the shipped decision (and the lexicon alone)."""
    dialogues = load_smilechat(data_root / SMILECHAT)
    if sample:
        ids = random.Random(seed).sample(sorted(dialogues), sample)
        dialogues = {i: dialogues[i] for i in ids}
    model = load_classifier(default_card("risk"))
    d = Decision.of(model.card.decision)
    shipped = Counter(dialogue_levels(dialogues, model, d).values())
    lexicon = Counter(dialogue_levels(dialogues, model, Decision(2.0, 2.0, d.cues, True, True, True)).values())
    n = len(dialogues)
    print(f"SMILECHAT dialogues: {n}" + (f" (seeded sample, seed {seed})" if sample else " (the whole file)"))
    print(f"{'risk':<10}{'shipped decision':>20}{'lexicon alone':>20}")
    for j, lab in enumerate(LEVELS):
        print(f"{lab:<10}{shipped[j]:>12} {shipped[j] / n:>6.1%}{lexicon[j]:>12} {lexicon[j] / n:>6.1%}")


def cmd_self() -> None:
    """Agreement of the blind relabelling with the first labels (one annotator: self-agreement)."""
    first = {(r["dialogue_id"], r["turn"]): r["label"] for r in read_rows(gold_file(GOLD))}
    second = read_rows(gold_file("risk-hand-labels-second.jsonl"))
    pairs = [(first[(r["dialogue_id"], r["turn"])], r["label"]) for r in second]
    a = np.array([LEVEL[x] for x, _ in pairs])
    b = np.array([LEVEL[y] for _, y in pairs])
    po = float((a == b).mean())
    pe = float(sum((a == j).mean() * (b == j).mean() for j in range(3)))
    print(f"self-agreement on {len(pairs)} turns: {po:.3f}, Cohen's kappa {(po - pe) / (1 - pe):.3f}")
    for j, lab in enumerate(LEVELS):
        print(f"  {lab:<8} first {int((a == j).sum()):>3}  second {int((b == j).sum()):>3}  both {int(((a == j) & (b == j)).sum()):>3}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["select", "report", "share", "self"])
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--config", type=Path, help="select: a training config other than the shipped one")
    ap.add_argument("--sample", type=int, help="share: a seeded sample of this many dialogues instead of all")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.command == "select":
        cmd_select(args.data_root, args.config)
    elif args.command == "report":
        cmd_report(args.data_root)
    elif args.command == "share":
        cmd_share(args.data_root, args.sample, args.seed)
    else:
        cmd_self()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
