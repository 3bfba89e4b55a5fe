"""Per-task data builders: each module exposes `build(cfg: dict, data_root: Path) -> Splits`.

`cfg` is the task's training config (`classifiers/train/<task>.yaml`, its `data:` mapping); `data_root`
is the folder of the shared datasets (`../shared/data` unless `--data-root` says otherwise).
"""
