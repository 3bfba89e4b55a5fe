"""What the fastText cross-validation experiments share: a training config with `--set`/`--ft` overrides,
featurised training lines, and a model trained by `curate train`'s child-process trainer (unquantised)."""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path
from typing import Any  # fastText's model class has no type hints

import yaml

from curate.assets import data_root
from curate.models.examples import Example
from curate.models.fasttext_backend import load_fasttext
from curate.models.fasttext_train import train_fasttext
from curate.models.features import featurize


def set_key(cfg: dict, key: str, value: object) -> None:
    """Set the dotted `key` (`data.oversample.alpha`) of `cfg` in place, making the mappings on the way."""
    *path, last = key.split(".")
    node = cfg
    for k in path:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[last] = value


def set_dotted(cfg: dict, dotted: str) -> None:
    """Apply one `a.b.c=VALUE` override (VALUE read as YAML) to `cfg` in place."""
    key, val = dotted.split("=", 1)
    set_key(cfg, key, yaml.safe_load(val))


def labelled_lines(examples: list[Example], mode: str, max_chars: int) -> list[str]:
    """fastText training lines: each example's `__label__` tags and its featurised text."""
    feats = featurize([e.text for e in examples], mode, max_chars)
    return [" ".join(f"__label__{x}" for x in e.labels) + " " + f for e, f in zip(examples, feats, strict=True)]


def train_lines(lines: list[str], params: dict, seed: int, save: Path | None = None) -> Any:
    """fastText on prepared lines (child-process trainer, unquantised), kept at `save` if given."""
    with tempfile.TemporaryDirectory(prefix="ftcv-") as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out = save or Path(tmp) / "m.bin"
        train_fasttext(path, out, seed=seed, params=params, quantize=None)
        return load_fasttext(out)


def config_args(ap: argparse.ArgumentParser, config: Path, set_example: str) -> None:
    """The options every config experiment takes: the training config, the data folder, overrides, the feature
    mode, the number of folds and a name for the summary line."""
    ap.add_argument("--config", default=str(config))
    ap.add_argument("--data-root", default=str(data_root()))
    ap.add_argument("--set", action="append", default=[], help=f"data.* override, e.g. {set_example}")
    ap.add_argument("--ft", action="append", default=[], help="fastText override, e.g. epoch=5")
    ap.add_argument("--mode", help="feature mode override (chars, words)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--name", default="config")


def feature_settings(args: argparse.Namespace, conf: dict) -> tuple[str, int]:
    """The feature mode (`--mode` over the config's) and the config's max_chars."""
    return args.mode or conf["features"]["mode"], int(conf["features"].get("max_chars", 2000))


def load_config(args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """The config, its `data` mapping and its fastText parameters, with the `--set`/`--ft` overrides applied."""
    conf = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    data = copy.deepcopy(conf["data"])
    for s in args.set:
        set_dotted(data, s)
    params = dict(conf["fasttext"])
    for s in args.ft:
        set_dotted(params, s)
    return conf, data, params
