"""Locate the declarative assets (rules/, jobs/, schemas/, classifiers/, demo/) in a checkout or a wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


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
