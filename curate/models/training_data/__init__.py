"""Training data, per task: each module builds the examples `curate train TASK` learns from (`build(cfg: dict, data_root: Path) -> Splits`).

`cfg` is the task's training config (`classifiers/train/<task>.yaml`, its `data:` mapping); `data_root`
is the folder of the shared datasets (`curate.assets.data_root()`: $CURATE_DATA, else `../shared/data`
beside the checkout, unless `--data-root` says otherwise).
"""

from pathlib import Path


def training_asset(name: str) -> Path:
    """A training asset shipped beside the configs (`classifiers/train/NAME`: seed words, cue lists)."""
    from curate.assets import resolve_asset

    return resolve_asset(Path("train") / Path(name).name, "classifiers")
