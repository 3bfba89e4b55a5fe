"""Cross-validated model selection for the emotion and sentiment taggers, on training data only.

The reported splits (CPED valid, EWECT usual-dev / virus-dev, ChnSentiCorp dev, the gold `test` part) are
never read here; they are read once per final candidate with `curate eval` (classifiers/README.md).

* `written NAME` (`emotion`, `emotion-web`, `sentiment`: `classifiers/train/NAME.yaml`, builder `affect_written`): fold k
  holds out the k-th tenth of the EWECT (and ChnSentiCorp) train files (`data.selection_fold`; fold 0 is the
  slice `curate train` reports on) and trains on everything else the config names. Printed per variant, pooled
  over the folds: EWECT six-way accuracy (emotion; also the 13-label accuracy) or EWECT three-way and
  ChnSentiCorp accuracy (sentiment), each with the majority baseline.
* `spoken NAME` (`emotion-spoken`, `sentiment-spoken`: builder `cped_turns`): leave-shows-out over CPED
  train's 8 TV shows, 4 folds of 2 shows; CPED valid's shows are never read. Pooled out-of-fold accuracy and
  macro-F1 with the majority baseline (the oversampling, when the config asks for it, is applied to the
  training folds only).

Variants are a grid `KEY=V1,V2` over the config (`fasttext.epoch=5,10 data.ewect.repeat=1,2
features.mode=chars,words`). Models train through `curate train`'s child-process trainer, unquantised
unless `--quantize`.

    python experiments/affect_cv.py written emotion --folds 4 --grid fasttext.epoch=5,10
    python experiments/affect_cv.py written sentiment --grid data.chnsenticorp.repeat=1,3
    python experiments/affect_cv.py written emotion-web --folds 4 --quantize --confidence
    python experiments/affect_cv.py spoken emotion-spoken --grid data.oversample.alpha=0,0.3,0.5
    python experiments/affect_cv.py spoken emotion-spoken --vectors experiments/vectors-chars.yaml \
        --vector-models none skipgram cbow --grid fasttext.lr=0.3,0.15 --seeds 1 2

`--vectors SPEC.yaml`: character vectors pretrained without labels (`curate.models.pretrain`: the corpus and
unsupervised settings SPEC names, its `fasttext.model` set by each of `--vector-models`, `none` = no vectors)
become the supervised model's `pretrainedVectors`; each kind is trained once and shared by every fold,
grid point and seed (the corpus must hold no CPED text: it would include held-out shows). `--seeds S ..`:
each variant at each seed (the fastText seed and the training shuffle's), then the mean.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from curate.assets import data_root as default_data_root
from curate.models.examples import Example
from curate.models.fasttext_backend import FastTextClassifier, ft_label, load_fasttext
from curate.models.fasttext_train import train_fasttext
from curate.models.features import featurize_with_context
from curate.models.metrics import report
from curate.models.pretrain import build_vectors
from curate.models.train import TrainConfig, build_splits
from curate.models.training_data import cped
from curate.schema import label_map

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ftcv import set_key  # noqa: E402
from lexicon import lexicon_lines  # noqa: E402
from lexicon import parse as lexicon_parse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FT = {"epoch": 10, "lr": 0.5, "wordNgrams": 2, "dim": 64, "minCount": 1, "loss": "softmax"}
SPOKEN_FOLDS = 4


def _clean(cfg: dict) -> dict:
    """`data.oversample.alpha=0` means no oversampling (`data.SOURCE=null` drops a source: the builder skips it)."""
    over = cfg["data"].get("oversample")
    if over is not None and not float(over.get("alpha", 0)):
        cfg["data"].pop("oversample")
    return cfg


def fit_predict(cfg: dict, train: list[Example], valid: list[Example], quantize: bool) -> np.ndarray:
    """Train one model on `train` (features as the config says) and return its probabilities on `valid`."""
    feats = cfg.get("features") or {}
    mode, max_chars, context = feats.get("mode", "chars"), int(feats.get("max_chars", 2000)), int(feats.get("context", 0))

    lexicon = feats.get("lexicon")

    def lines(exs: list[Example]) -> list[str]:
        base = featurize_with_context([e.text for e in exs], [e.context for e in exs], mode, max_chars, context)
        if lexicon_parse(lexicon) is None:
            return base
        return [f"{b} {x}" if x else b for b, x in zip(base, lexicon_lines([e.text for e in exs], lexicon), strict=True)]

    labels = list(cfg["labels"])
    with tempfile.TemporaryDirectory(prefix="affect-cv-") as tmp:
        path = Path(tmp) / "train.txt"
        with path.open("w", encoding="utf-8") as f:
            for ex, line in zip(train, lines(train), strict=True):
                f.write(" ".join(ft_label(lab) for lab in ex.labels) + " " + line + "\n")
        model = Path(tmp) / ("m.ftz" if quantize else "m.bin")
        train_fasttext(path, model, seed=int(cfg.get("seed", 1)), params={**DEFAULT_FT, **(cfg.get("fasttext") or {})},
                       quantize=cfg.get("quantize") if quantize else None)
        known = set(load_fasttext(model).get_labels())
        present = [lab for lab in labels if ft_label(lab) in known]  # a fold may lack a rare label
        out = np.zeros((len(valid), len(labels)), dtype=np.float32)
        out[:, [labels.index(lab) for lab in present]] = FastTextClassifier(model, present).predict_proba(lines(valid))
    return out


def _acc(pred: list[str], gold: list[str]) -> tuple[float, float]:
    """Accuracy and the majority class's accuracy."""
    if not gold:
        return float("nan"), float("nan")
    maj = Counter(gold).most_common(1)[0][1] / len(gold)
    return float(np.mean([p == g for p, g in zip(pred, gold, strict=True)])), maj


def written(cfg: dict, folds: list[int], data_root: Path, quantize: bool,
            confidence: bool = False) -> dict[str, tuple[float, float]]:
    """Pooled held-out accuracy per source over the selection folds of the EWECT / ChnSentiCorp train files.
    `confidence`: also print, per source, what each min_confidence would emit and how often it is right
    (`affect.py`'s table, on the pooled held-out probabilities)."""
    labels = list(cfg["labels"])
    pooled: dict[str, tuple[list[str], list[str]]] = {}
    probas: dict[str, list[np.ndarray]] = {}
    for k in folds:
        doc = copy.deepcopy(cfg)
        doc["data"]["selection_fold"] = k
        splits = build_splits(TrainConfig(ROOT / "classifiers" / "train" / f"{cfg['task']}.yaml", doc), data_root)
        proba = fit_predict(doc, splits.train, splits.valid, quantize)
        pred = [labels[i] for i in proba.argmax(1)]
        start = 0
        for source, n in splits.notes["valid_by_source"].items():
            p, g = pooled.setdefault(source, ([], []))
            p.extend(pred[start:start + n])
            g.extend(ex.labels[0] for ex in splits.valid[start:start + n])
            probas.setdefault(source, []).append(proba[start:start + n])
            start += n
    out: dict[str, tuple[float, float]] = {}
    coarse = label_map("emotion_coarse")
    for source, (p, g) in pooled.items():
        out[source] = _acc(p, g)
        if confidence:
            from affect import print_confidence

            groups = label_map(f"{cfg['task']}_coarse") or {lab: lab for lab in labels}
            print_confidence(labels, g, np.concatenate(probas[source]), groups, f"held out, {source}")
        if cfg["task"] == "emotion":
            out[f"{source} six-way"] = _acc([coarse[x] for x in p], [coarse[x] for x in g])
    return out


def spoken(cfg: dict, data_root: Path, quantize: bool, add_ewect: int = 0,
           prior_shift: tuple[float, ...] = (), members: int = 0, smooth: tuple[float, ...] = (),
           dump: Path | None = None) -> dict[str, float]:
    """Leave-shows-out over CPED train: pooled out-of-fold accuracy, macro-F1 and the majority baseline.
    `add_ewect` > 0: the EWECT train posts (mapped as the written emotion config maps them, no context) join
    every training fold that many times. `prior_shift`: also the pooled figures with the probabilities divided
    by the label prior ** beta for each beta (a decision rule for macro-F1, fitted after training).
    The prior is CPED train's label share (every fold pooled: the prior a shipped model would use; each fold's
    correction thus sees its own shows' share, a small optimism).
    `members` > 0: k = 1 .. members models per fold, member j trained with fastText seed and shuffle seed
    `seed + j`, their probabilities averaged (k = 1 / 3 reuse the first members), and every (k, w, tau)
    of `members_grid` scored: w the speaker smoothing (`smooth`), tau the prior correction (`prior_shift`).
    `dump`: the members' pooled out-of-fold probabilities, gold and speaker groups saved as .npz."""
    data = cfg["data"]
    extra: list[Example] = []
    if add_ewect:
        from curate.models.training_data.affect_written import read_tsv

        written_cfg = yaml.safe_load((ROOT / "classifiers" / "train" / f"{cfg['task']}.yaml").read_text(encoding="utf-8"))
        spec, maps = written_cfg["data"]["ewect"], {str(k): v for k, v in written_cfg["label_maps"]["ewect"].items()}
        extra = [ex for f in spec["files"] for ex in read_tsv(data_root / f, maps)] * add_ewect
    dialogues = cped.read_dialogues(data_root / data.get("train", "cped/train.csv"))
    shows = sorted({d.tv_id for d in dialogues}, key=lambda s: (len(s), s))
    fold_of = {s: i % SPOKEN_FOLDS for i, s in enumerate(shows)}
    column, context_of = data["column"], str(data.get("context_of", "previous"))
    gold: list[tuple[str, ...]] = []
    groups: list[str] = []
    probas = []
    member_probas: list[list[np.ndarray]] = [[] for _ in range(members)]
    for k in range(SPOKEN_FOLDS):
        def make(ds: list[cped.Dialogue]) -> list[Example]:
            return cped.turn_examples(ds, lambda t: t.labels[column], context_of)
        train = make([d for d in dialogues if fold_of[d.tv_id] != k])
        held_dialogues = [d for d in dialogues if fold_of[d.tv_id] == k]
        held = make(held_dialogues)
        # a held turn's speaker group (dialogue, speaker), in turn_examples' order (non-empty turns)
        groups.extend(f"{d.id}\t{u.speaker}" for d in held_dialogues for u in d.turns if u.text)
        over = data.get("oversample")
        if over:
            train = cped.oversample(train, float(over.get("alpha", 0.5)), float(over.get("max_factor", 4.0)))
        train = train + extra
        if members:
            for j in range(members):
                member_cfg = {**cfg, "seed": int(cfg.get("seed", 1)) + j}
                shuffled = list(train)
                random.Random(int(data.get("seed", 1)) + j).shuffle(shuffled)
                member_probas[j].append(fit_predict(member_cfg, shuffled, held, quantize))
            probas.append(member_probas[0][-1])
        else:
            random.Random(int(data.get("seed", 1))).shuffle(train)
            probas.append(fit_predict(cfg, train, held, quantize))
        gold.extend(ex.labels for ex in held)
    proba = np.concatenate(probas)
    rep = report(list(cfg["labels"]), gold, proba)
    if members:
        stack = np.stack([np.concatenate(m) for m in member_probas])
        prior = label_prior(list(cfg["labels"]), gold)
        if dump is not None:
            np.savez_compressed(dump, members=stack, gold=np.array([g[0] for g in gold]), groups=np.array(groups),
                                labels=np.array(cfg["labels"]), prior=prior)
        return members_grid(list(cfg["labels"]), gold, stack, groups, prior, smooth or (0.0,), prior_shift or (0.0,))
    out = {"accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"], "base_acc": rep["baseline"]["accuracy"],
           "base_f1": rep["baseline"]["macro_f1"]}
    if prior_shift:
        # post hoc: probabilities divided by the training prior ** beta, renormalised (no retraining)
        prior = np.array([max(n, 1) for n in (Counter(g[0] for g in gold)[lab] for lab in cfg["labels"])], dtype=float)
        for beta in prior_shift:
            adj = proba / prior ** beta
            r = report(list(cfg["labels"]), gold, adj / adj.sum(1, keepdims=True))
            out[f"prior^-{beta} accuracy"], out[f"prior^-{beta} macro_f1"] = r["accuracy"], r["macro_f1"]
    return out


def label_prior(labels: list[str], gold: list[tuple[str, ...]]) -> np.ndarray:
    """Each label's share of the gold (first) labels, a count of at least 1 (a label a file lacks)."""
    counts = Counter(g[0] for g in gold)
    prior = np.array([max(counts[lab], 1) for lab in labels], dtype=float)
    return prior / prior.sum()


def speaker_smooth(proba: np.ndarray, groups: list[str] | np.ndarray, w: float) -> np.ndarray:
    """(1 - w) p + w m per turn, m the mean probabilities of the turn's group (same dialogue and speaker, the
    turn included): a speaker's mood persists through a scene."""
    if not w:
        return proba
    _, inv = np.unique(np.asarray(groups), return_inverse=True)
    sums = np.zeros((inv.max() + 1, proba.shape[1]))
    np.add.at(sums, inv, proba)
    mean = sums / np.bincount(inv)[:, None]
    return (1 - w) * proba + w * mean[inv]


def members_grid(labels: list[str], gold: list[tuple[str, ...]], stack: np.ndarray, groups: list[str],
                 prior: np.ndarray, smooth: tuple[float, ...], taus: tuple[float, ...]) -> dict[str, tuple[float, float]]:
    """Accuracy and macro-F1 of every (k, w, tau): the first k members averaged (k = 1, 3, 5, ..), speaker
    smoothing w, divided by prior ** tau; plus each member alone (seed noise)."""
    out: dict[str, tuple[float, float]] = {}
    for j in range(len(stack)):
        r = report(labels, gold, stack[j])
        out[f"member {j} alone"] = (r["accuracy"], r["macro_f1"])
    for k in [1, *range(3, len(stack) + 1, 2)]:
        avg = stack[:k].mean(0)
        for w in smooth:
            sm = speaker_smooth(avg, groups, w)
            for tau in taus:
                r = report(labels, gold, sm / prior ** tau)
                out[f"k {k} w {w} tau {tau}"] = (r["accuracy"], r["macro_f1"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["written", "spoken"])
    ap.add_argument("name", help="a training config's name: classifiers/train/NAME.yaml")
    ap.add_argument("--config", type=Path, help="default classifiers/train/NAME.yaml")
    ap.add_argument("--data-root", default=str(default_data_root()))
    ap.add_argument("--folds", type=int, default=4, help="written: how many of the 10 selection folds (0..N-1)")
    ap.add_argument("--grid", nargs="*", default=[], help="KEY=V1,V2,... over the config")
    ap.add_argument("--quantize", action="store_true", help="quantise as the config says (as `curate train` does)")
    ap.add_argument("--confidence", action="store_true",
                    help="written: the min_confidence table on the held-out probabilities (as affect.py confidence)")
    ap.add_argument("--add-ewect", type=int, default=0, help="spoken: EWECT train posts join training N times")
    ap.add_argument("--prior-shift", type=float, nargs="*", default=[], help="spoken: betas of a prior correction")
    ap.add_argument("--members", type=int, default=0,
                    help="spoken: train N seed members per fold; score k = 1, 3, 5 .. N averaged (with --smooth, --prior-shift)")
    ap.add_argument("--smooth", type=float, nargs="*", default=[], help="spoken, with --members: speaker smoothing weights")
    ap.add_argument("--dump", type=Path, help="spoken, with --members: save the out-of-fold member probabilities (.npz)")
    ap.add_argument("--vectors", type=Path, help="spoken: a pretrained-vectors spec (corpus, fasttext) as YAML")
    ap.add_argument("--vector-models", nargs="*", default=["skipgram"],
                    help="spoken, with --vectors: unsupervised models to pretrain (skipgram, cbow; none = no vectors)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[], help="spoken: each variant at these seeds, then the mean")
    args = ap.parse_args(argv)
    base = yaml.safe_load((args.config or ROOT / "classifiers" / "train" / f"{args.name}.yaml").read_text(encoding="utf-8"))
    keys, values = [], []
    for g in args.grid:
        k, _, v = g.partition("=")
        keys.append(k)
        values.append([yaml.safe_load(x) for x in v.split(",")])
    data_root = Path(args.data_root).resolve()
    if args.kind == "spoken" and (args.vectors or args.seeds):
        return spoken_vectors(args, base, keys, values, data_root)
    for combo in itertools.product(*values):
        cfg = copy.deepcopy(base)
        for k, v in zip(keys, combo, strict=True):
            set_key(cfg, k, v)
        cfg = _clean(cfg)
        name = " ".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True)) or "config as shipped"
        name += f" +EWECT x{args.add_ewect}" if args.add_ewect else ""
        t0 = time.perf_counter()
        if args.kind == "written":
            res = written(cfg, list(range(args.folds)), data_root, args.quantize, args.confidence)
            figs = "  ".join(f"{s} {a:.4f} (majority {m:.4f})" for s, (a, m) in res.items())
        else:
            r = spoken(cfg, data_root, args.quantize, args.add_ewect, tuple(args.prior_shift), args.members,
                       tuple(args.smooth), args.dump)
            if args.members:
                print(f"{name}: members x smoothing x prior  [{time.perf_counter() - t0:.0f} s]")
                for key, val in r.items():
                    print(f"   {key}: accuracy {val[0]:.4f}  macro-F1 {val[1]:.4f}")
                continue
            figs = (f"accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  "
                    f"(majority {r['base_acc']:.4f} / {r['base_f1']:.4f})")
            figs += "".join(f"\n   prior^-{b}: accuracy {r[f'prior^-{b} accuracy']:.4f}  macro-F1 {r[f'prior^-{b} macro_f1']:.4f}"
                            for b in args.prior_shift)
        print(f"{name}: {figs}  [{time.perf_counter() - t0:.0f} s]", flush=True)
    return 0


def spoken_vectors(args: argparse.Namespace, base: dict, keys: list[str], values: list[list], data_root: Path) -> int:
    """`spoken` over vector kinds x grid x seeds: each kind's vectors pretrained once, each variant's figures
    printed per seed and as the mean over the seeds."""
    spec = yaml.safe_load(args.vectors.read_text(encoding="utf-8")) if args.vectors else None
    kinds = args.vector_models if spec else ["none"]
    seeds = args.seeds or [int(base.get("seed", 1))]
    with tempfile.TemporaryDirectory(prefix="affect-cv-vectors-") as tmp:
        vecs: dict[str, Path | None] = {"none": None}
        for kind in kinds:
            if kind != "none":
                t0, c0 = time.perf_counter(), time.process_time()
                folder = Path(tmp) / kind
                folder.mkdir()
                vecs[kind] = build_vectors({**spec, "fasttext": {**spec["fasttext"], "model": kind}}, data_root,
                                           base.get("features") or {}, folder)
                print(f"vectors {kind}: {vecs[kind].stat().st_size} bytes [{time.perf_counter() - t0:.0f} s wall,"
                      f" parent CPU {time.process_time() - c0:.0f} s]", flush=True)
        for kind in kinds:
            for combo in itertools.product(*values):
                name = f"vectors {kind} " + " ".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True))
                runs = []
                for seed in seeds:
                    cfg = copy.deepcopy(base)
                    for k, v in zip(keys, combo, strict=True):
                        set_key(cfg, k, v)
                    cfg = _clean(cfg)
                    cfg["seed"], cfg["data"]["seed"] = seed, seed
                    if vecs[kind] is not None:
                        cfg["fasttext"] = {**(cfg.get("fasttext") or {}), "pretrainedVectors": str(vecs[kind])}
                    t0 = time.perf_counter()
                    r = spoken(cfg, data_root, args.quantize)
                    runs.append((r["accuracy"], r["macro_f1"]))
                    print(f"{name} seed {seed}: accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  "
                          f"(majority {r['base_acc']:.4f} / {r['base_f1']:.4f})  [{time.perf_counter() - t0:.0f} s]",
                          flush=True)
                acc, f1 = np.mean(runs, axis=0)
                print(f"{name} MEAN of {len(seeds)} seeds: accuracy {acc:.4f}  macro-F1 {f1:.5f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
