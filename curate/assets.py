"""Locate the declarative assets (rules/, jobs/, schemas/, classifiers/, demo/) in a checkout or a wheel,
and the shared datasets (`data_root`), which are never part of either."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
DATA_ENV = "CURATE_DATA"
SHARED_DATA = "../shared/data"  # the default, relative to the checkout's root; cards record it in these words


@cache
def asset_dir(name: str) -> Path:
    """Return the folder of asset `name`: the wheel's `curate/_assets/NAME`, else the checkout's `NAME`."""
    for candidate in (_PACKAGE_DIR / "_assets" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"curate asset folder {name!r} not found (looked in the package and the checkout)")


def resolve_asset(path: str | Path, kind: str) -> Path:
    """Resolve a user-given path: as given if it exists (made absolute), else relative to the asset folder `kind`.

    So `rules: default.yaml` and `rules: rules/default.yaml` both work from any working directory. A path
    found in the working directory comes back absolute: Ray workers (on a cluster, started by each node's
    `ray start`) do not share the driver's working directory.
    """
    p = Path(path).expanduser()
    if p.exists():
        return p.resolve()
    base = asset_dir(kind)
    for candidate in (base / p, base / p.name, base.parent / p):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{kind} file {str(path)!r} not found (looked here and in {base})")


def data_root() -> Path:
    """The folder of the shared datasets (CPED, COLD, SMILECHAT, EmoLLM, ...), the one rule for every caller.

    `$CURATE_DATA` if set (made absolute); else `../shared/data` beside the checkout (the folder that
    holds the checkout's root); in an installed wheel, which has no checkout, `../shared/data` from the
    working directory. The folder may be missing: callers that read it say so, naming it.
    """
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    checkout = _PACKAGE_DIR.parent
    base = checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()
    return (base / SHARED_DATA).resolve()


def missing_data_message(root: Path) -> str:
    """The one-line explanation for a missing data folder, naming it and how to point elsewhere."""
    return (f"{root}: the shared datasets folder is missing; set {DATA_ENV}=/path/to/data "
            f"(default: {SHARED_DATA} beside the checkout)")
