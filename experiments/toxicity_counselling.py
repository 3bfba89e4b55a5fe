"""Toxicity model on counselling text: COLD dev accuracy and the share of turns flagged (score >= the card's
threshold) on held-out SMILECHAT dialogues (counselor / client turns) and on EmoLLM (supporter / seeker).

    PYTHONPATH=. python experiments/toxicity_counselling.py                      # the committed card
    PYTHONPATH=. python experiments/toxicity_counselling.py --variant 0:0 --variant 5000:0 --variant 5000:5000
    PYTHONPATH=. python experiments/toxicity_counselling.py --top 10              # highest-scoring held-out client turns

A variant `C:S` retrains from classifiers/train/toxicity.yaml with `data.counselling.counselor_turns: C`
and `client_turns: S` into a temporary folder. The held-out dialogues are those of
`curate.models.training_data.toxicity.held_out` (the config's holdout_fraction and salt), which the builder
never trains on; EmoLLM is never trained on.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import yaml

from curate.annotations import SMILECHAT
from curate.models.classifier import Classifier, load_classifier
from curate.models.evaluate import read_labelled
from curate.models.train import DEFAULT_DATA_ROOT, load_train_config, train_task
from curate.models.training_data.toxicity import held_out, smilechat_dialogues

REPO = Path(__file__).resolve().parent.parent


def load_sets(data_root: Path, counselling: dict) -> dict[str, list[str]]:
    """Evaluation texts: held-out SMILECHAT turns by role, EmoLLM turns by role."""
    sets: dict[str, list[str]] = {"smile_counselor": [], "smile_client": [], "emollm_supporter": [], "emollm_seeker": []}
    for did, turns in smilechat_dialogues(data_root / counselling.get("path", SMILECHAT)):
        if held_out(did, counselling):
            for role, text in turns:
                if text.strip() and role in ("counselor", "client"):
                    sets[f"smile_{role}"].append(text)
    for item in json.loads((data_root / "emollm/data.json").read_text(encoding="utf-8")):
        for t in item.get("conversation", []):
            if (t.get("input") or "").strip():
                sets["emollm_seeker"].append(t["input"])
            if (t.get("output") or "").strip():
                sets["emollm_supporter"].append(t["output"])
    return sets


def measure(clf: Classifier, cold_dev: tuple[list[str], np.ndarray], sets: dict[str, list[str]]) -> dict[str, float]:
    thr = float(clf.card.threshold or 0.5)
    texts, gold = cold_dev
    row = {"cold_dev_acc": float(np.mean((clf.score(texts) >= thr) == gold))}
    for name, xs in sets.items():
        row[name] = float(np.mean(clf.score(xs) >= thr))
    return row


def cold_dev_set(data_root: Path, cfg: dict) -> tuple[list[str], np.ndarray]:
    """COLD dev (the toxicity config's valid file) as texts and whether each is offensive."""
    dev = read_labelled(data_root / cfg["data"]["valid"], cfg.get("label_values"))
    return [ex.text for ex in dev], np.array([cfg["positive"] in ex.labels for ex in dev])


def print_header(sets: dict[str, list[str]], cold_dev: tuple[list[str], np.ndarray], width: int) -> list[str]:
    """Print the sets' sizes and the table's header (the model column `width` wide); the table's columns."""
    print("n: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()) + f", cold dev {len(cold_dev[0])}")
    cols = ["cold_dev_acc", *sets]
    print(f"{'model':<{width}}" + "".join(f"{c:>18}" for c in cols))
    return cols


def train_variant(counselor: int, client: int, data_root: Path, tmp: Path) -> Path:
    cfg = load_train_config("toxicity")
    doc = copy.deepcopy(cfg.doc)
    c = dict(doc["data"].get("counselling") or {})
    c.update(counselor_turns=counselor, client_turns=client)
    doc["data"]["counselling"] = c
    out = tmp / f"c{counselor}-s{client}"
    out.mkdir()
    path = out / "train.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    card = train_task("toxicity", config=path, data_root=data_root, out_dir=out)
    return card.path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--card", default=str(REPO / "classifiers/toxicity.yaml"), help="card to measure (without --variant)")
    ap.add_argument("--variant", action="append", default=[], metavar="C:S",
                    help="train and measure a variant with C counselor and S client turns added as safe (repeatable)")
    ap.add_argument("--data-root", default=str(REPO / DEFAULT_DATA_ROOT))
    ap.add_argument("--top", type=int, default=0, help="also print the N highest-scoring held-out client turns (for reading)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data_root = Path(args.data_root).resolve()
    cfg = load_train_config("toxicity").doc
    sets = load_sets(data_root, cfg["data"].get("counselling") or {})
    cold_dev = cold_dev_set(data_root, cfg)
    cols = print_header(sets, cold_dev, 14)
    with tempfile.TemporaryDirectory(prefix="tox-exp-") as tmp:
        cards = [(v, train_variant(*map(int, v.split(":")), data_root, Path(tmp))) for v in args.variant] \
            or [(Path(args.card).stem, Path(args.card))]
        for name, card in cards:
            clf = load_classifier(card)
            row = measure(clf, cold_dev, sets)
            print(f"{name:<14}" + "".join(f"{row[c]:>18.4f}" if c == "cold_dev_acc" else f"{row[c]:>17.2%} " for c in cols), flush=True)
            if args.top:
                xs = sets["smile_client"]
                s = clf.score(xs)
                for i in np.argsort(-s)[: args.top]:
                    print(f"  {s[i]:.3f}  {xs[i][:200]}")


if __name__ == "__main__":
    main()
