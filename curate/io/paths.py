"""Names of paths and URLs, with no I/O and nothing heavy imported (the job and the command line use them
before any work): what is a URL, joining, the folder above, refusing a URL that carries credentials, globs.

I/O on either kind of path is `curate.io.storage`'s.
"""

from __future__ import annotations

import os
import re

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
GLOB_CHARS = re.compile(r"[*?\[]")


class StorageURLError(ValueError):
    """A URL curate cannot use (credentials in it, no bucket)."""


def scheme(path: str | os.PathLike) -> str | None:
    """The URL scheme of `path` (`s3`, `gs`, `file`, ...), or None for a plain path."""
    m = _SCHEME.match(str(path))
    return m.group(1).lower() if m else None


def is_url(path: str | os.PathLike) -> bool:
    """True for an object-store URL; False for a local path, `file://` URLs included."""
    return scheme(path) not in (None, "file")


def local(path: str | os.PathLike) -> str:
    """A local path as a plain path (`file:///x` → `/x`); any other path unchanged."""
    p = str(path)
    return p[len("file://"):] if scheme(p) == "file" else p


def join(base: str | os.PathLike, *parts: str) -> str:
    """`base` / parts: os.path.join for a local path, '/'-joined for a URL."""
    if not is_url(base):
        return os.path.join(local(base), *parts)
    return "/".join([str(base).rstrip("/"), *(p.strip("/") for p in parts)])


def parent(path: str) -> str:
    """The folder holding `path`."""
    return path.rstrip("/").rsplit("/", 1)[0] if is_url(path) else os.path.dirname(path)


def check_url(url: str) -> None:
    """Refuse a URL that carries credentials (they belong in the environment) or names no bucket."""
    netloc = url[len(scheme(url) or "") + 3:].split("/", 1)[0]
    if "@" in netloc:
        raise StorageURLError(f"{scheme(url)}://...@{netloc.rsplit('@', 1)[1]}: credentials in a URL are refused "
                              "(they would be written to the manifest and logs); set them in the environment "
                              "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or ~/.aws/credentials")
    if not netloc:
        raise StorageURLError(f"{url}: no bucket in the URL")


def has_glob(path: str) -> bool:
    """Whether `path` holds glob characters."""
    return bool(GLOB_CHARS.search(path))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over '/'-separated paths: `*`, `?` and `[...]` within one name, `**/` any folders."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))
