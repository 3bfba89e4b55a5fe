"""A user's rule file or model card given as a URL (`s3://bucket/rules/mine.yaml`): copied once per machine into
a local cache, with what it names beside it, so that the code reading it reads a local file.

What comes along: a rule set's `wordlists:` folder, a model card's `model:` file or checkpoint folder, both
relative to the YAML and at or below its folder. The copy is keyed by the URL, the object's size and its
modification time, so an edited object is fetched again; a complete copy has a `.complete` marker, and
every file is written whole (`curate.io.storage.put`), so processes fetching at once do no harm. Each Ray
worker fetches for itself: the job names the URL, never the driver's copy.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path
from typing import Any

import yaml

from curate.io import storage

CACHE_ENV = "CURATE_CACHE"  # default: ~/.cache/curate
_BESIDE = {"rules": "wordlists", "classifiers": "model"}  # the key naming what a YAML of that kind needs beside it


def cache_root() -> Path:
    """Where fetched assets are kept: $CURATE_CACHE/assets, else ~/.cache/curate/assets."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/curate").expanduser() / "assets"


def fetch(url: str, kind: str) -> Path:
    """The local copy of the asset at `url` (`kind`: rules or classifiers) and of what it names beside it."""
    size, mtime = storage.stat(url)
    key = hashlib.sha256(f"{url}\n{size}\n{mtime}".encode()).hexdigest()[:20]
    folder = cache_root() / key
    local = folder / url.rstrip("/").rsplit("/", 1)[1]
    if (folder / ".complete").is_file():
        return local
    data = storage.read_bytes(url)
    beside = _named(data, kind)
    if beside:
        _copy(url, beside, folder)
    folder.mkdir(parents=True, exist_ok=True)
    storage.put(str(local), data)
    storage.put(str(folder / ".complete"), b"")
    return local


def _named(data: bytes, kind: str) -> str | None:
    """What the YAML names beside itself, if anything (a YAML that does not parse: its reader says so)."""
    try:
        doc: Any = yaml.safe_load(data)
    except yaml.YAMLError:
        return None
    value = doc.get(_BESIDE.get(kind, "")) if isinstance(doc, dict) else None
    return value if isinstance(value, str) and value else None


def _copy(url: str, rel: str, folder: Path) -> None:
    """Copy the file or folder `rel` (relative to `url`'s folder) to the same place under `folder`."""
    rel = posixpath.normpath(rel)
    if rel.startswith("../") or rel == ".." or posixpath.isabs(rel):
        raise FileNotFoundError(f"{url}: {rel!r} is not beside it or below its folder; a rule file or card given "
                                "as a URL must keep what it names there")
    src = storage.join(storage.parent(url), rel)
    if storage.is_file(src):
        files = [(src, rel)]
    else:
        files = [(f, posixpath.join(rel, f[len(src) + 1:])) for f in storage.files_under(src)]
        if not files:
            raise FileNotFoundError(f"{url}: {src} not found")
    for remote, name in files:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        storage.put(str(target), storage.read_bytes(remote))
