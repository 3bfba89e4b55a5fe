"""Paths and URLs: every file curate reads or writes may be local or in an object store.

A path is a local path, or a URL that pyarrow's file systems understand: `s3://bucket/key` (AWS S3, or an
S3-compatible store such as MinIO or OSS at AWS_ENDPOINT_URL: `curate.io.s3`), `gs://bucket/key`; a
`file://` URL is a local path. `locate` turns a URL into a pyarrow (FileSystem, path) pair, one file
system per bucket and process; the helpers below take either kind of path and do one thing each.

Local paths keep the code they always had (os, pathlib, a temporary file renamed into place) and its speed.
An object store has no rename: `put` writes an object whole, in one request (S3: one PutObject), so it
exists under its final key only when complete; what proves that a unit of work finished is a marker
written after it (`curate.resume`), as on disk.

Credentials are never part of a path: a URL carrying them (`s3://KEY:SECRET@bucket/...`) is refused
without being echoed; pyarrow, boto3 and polars read them from the environment or the standard files.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from curate.io import s3
from curate.io.paths import (  # noqa: F401 - the names callers use through this module too
    GLOB_CHARS,
    StorageURLError,
    check_url,
    glob_regex,
    has_glob,
    is_url,
    join,
    local,
    parent,
    scheme,
)

# A remote file is read through a buffer of this size: one ranged GET per fill.
REMOTE_BUFFER = 8 << 20


class StorageError(OSError):
    """A write failed (disk full, read-only, permission, a store refusing it): errno, reason and the file.

    Raised by our writers in place of the library's error, whose message rarely names the file.
    """

    def __reduce__(self) -> tuple:  # cross Ray's process boundary with errno, reason and file name intact
        return StorageError, (self.errno, self.strerror, self.filename)


@cache
def _filesystem(kind: str, bucket: str, endpoint: str | None) -> pafs.FileSystem:
    """One file system per bucket (and endpoint: the environment may name another) and process."""
    if kind == "s3" and endpoint:
        return pafs.S3FileSystem(**s3.pyarrow_options())
    return pafs.FileSystem.from_uri(f"{kind}://{bucket}/")[0]


def locate(url: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow file system of a URL and the path within it (`bucket/key`)."""
    check_url(url)
    kind = scheme(url)
    assert kind is not None
    path = url[len(kind) + 3:]
    return _filesystem(kind, path.split("/", 1)[0], s3.endpoint() if kind == "s3" else None), path.rstrip("/")


def _info(url: str) -> pafs.FileInfo:
    fs, path = locate(url)
    return fs.get_file_info(path)


# ----------------------------------------------------------------------------------------- what is there


def exists(path: str) -> bool:
    """A file or folder (on a store: an object, or a prefix with objects under it) at `path`."""
    if not is_url(path):
        return os.path.exists(local(path))
    return _info(path).type != pafs.FileType.NotFound


def is_file(path: str) -> bool:
    """A file (an object) at `path`."""
    if not is_url(path):
        return os.path.isfile(local(path))
    return _info(path).type == pafs.FileType.File


def is_dir(path: str) -> bool:
    """A folder at `path` (on a store: objects under the prefix, or the bucket itself)."""
    if not is_url(path):
        return os.path.isdir(local(path))
    return _info(path).type == pafs.FileType.Directory


def stat(path: str) -> tuple[int, int]:
    """(bytes, modification time in ns) of a file."""
    if not is_url(path):
        st = os.stat(local(path))
        return st.st_size, st.st_mtime_ns
    info = _info(path)
    if info.type != pafs.FileType.File:
        raise FileNotFoundError(2, "no such file", path)
    return info.size, info.mtime_ns or 0


def size(path: str) -> int:
    """Bytes of a file."""
    return os.path.getsize(local(path)) if not is_url(path) else stat(path)[0]


def _listing(folder: str, recursive: bool) -> list[tuple[str, str]]:
    """(path relative to `folder`, full URL) of every object under a remote `folder`."""
    fs, path = locate(folder)
    base = folder.rstrip("/")
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=recursive, allow_not_found=True))
    return [(i.path[len(path) + 1:], f"{base}/{i.path[len(path) + 1:]}") for i in infos
            if i.type == pafs.FileType.File]


def listdir(folder: str, pattern: str = "*") -> list[str]:
    """The files directly in `folder` whose names match `pattern` (fnmatch), sorted; none if it is missing."""
    if not is_url(folder):
        return sorted(str(p) for p in Path(local(folder)).glob(pattern))
    match = glob_regex(pattern).fullmatch
    return sorted(url for rel, url in _listing(folder, recursive=False) if match(rel))


def files_under(folder: str) -> list[str]:
    """Every file under `folder`, at any depth, sorted."""
    if not is_url(folder):
        return sorted(str(p) for p in Path(local(folder)).rglob("*") if p.is_file())
    return sorted(url for _, url in _listing(folder, recursive=True))


def has_entries(folder: str) -> bool:
    """Whether `folder` holds anything."""
    if not is_url(folder):
        return any(Path(local(folder)).iterdir())
    fs, path = locate(folder)
    return bool(fs.get_file_info(pafs.FileSelector(path, recursive=False, allow_not_found=True)))


def glob_url(pattern: str) -> list[str]:
    """The objects matching a URL glob (`s3://bucket/crawl/*.jsonl.gz`, `.../**/*.parquet`), sorted."""
    head = GLOB_CHARS.split(pattern, 1)[0]
    base = head.rsplit("/", 1)[0]
    rest = pattern[len(base) + 1:]
    match = glob_regex(rest).fullmatch
    return sorted(url for rel, url in _listing(base, recursive="/" in rest or "**" in rest) if match(rel))


# ----------------------------------------------------------------------------------------- reading


class _RemoteRaw(io.RawIOBase):
    """A pyarrow random-access file as a raw stream, for `io.BufferedReader` (each fill is one ranged GET)."""

    def __init__(self, f: pa.NativeFile) -> None:
        self._f = f

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._f.read(len(b))
        n = len(data)
        memoryview(b).cast("B")[:n] = data
        return n

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


def open_input(path: str) -> IO[bytes]:
    """`path` opened for buffered, seekable binary reading."""
    if not is_url(path):
        return open(local(path), "rb")  # noqa: SIM115 - returned to the caller's `with`
    fs, p = locate(path)
    return io.BufferedReader(_RemoteRaw(fs.open_input_file(p)), buffer_size=REMOTE_BUFFER)


def read_bytes(path: str) -> bytes:
    """The whole file."""
    if not is_url(path):
        return Path(local(path)).read_bytes()
    fs, p = locate(path)
    with fs.open_input_stream(p) as f:
        return f.read()


def read_range(path: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of a file."""
    with open_input(path) as f:
        f.seek(start)
        return f.read(end - start)


def _parquet_source(path: str) -> tuple[str, pafs.FileSystem | None]:
    if not is_url(path):
        return local(path), None
    fs, p = locate(path)
    return p, fs


def parquet_file(path: str) -> pq.ParquetFile:
    """A Parquet file opened for reading (row groups, batches)."""
    p, fs = _parquet_source(path)
    return pq.ParquetFile(p, filesystem=fs) if fs else pq.ParquetFile(p)


def read_table(path: str, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file as an Arrow table (`columns`: only these)."""
    p, fs = _parquet_source(path)
    return pq.read_table(p, columns=columns, filesystem=fs) if fs else pq.read_table(p, columns=columns)


def read_metadata(path: str) -> pq.FileMetaData:
    """A Parquet file's footer."""
    p, fs = _parquet_source(path)
    return pq.read_metadata(p, filesystem=fs) if fs else pq.read_metadata(p)


def read_schema(path: str) -> pa.Schema:
    """A Parquet file's schema."""
    p, fs = _parquet_source(path)
    return pq.read_schema(p, filesystem=fs) if fs else pq.read_schema(p)


def polars_options(paths: list[str] | str) -> dict[str, Any]:
    """Keyword arguments for polars' scan/read of `paths`: the store's endpoint (never credentials)."""
    first = paths if isinstance(paths, str) else (paths[0] if paths else "")
    if scheme(first) == "s3" and s3.polars_options():
        return {"storage_options": s3.polars_options()}
    return {}


def scan_parquet(paths: list[str]) -> Any:
    """polars' lazy scan of Parquet files, local or remote."""
    import polars as pl

    if paths and any(is_url(p) for p in paths):
        for p in paths:
            check_url(p)
        return pl.scan_parquet(paths, **polars_options(paths))
    return pl.scan_parquet([local(p) for p in paths])


def read_parquet(path: str) -> Any:
    """A Parquet file as a polars DataFrame."""
    import polars as pl

    if is_url(path):
        check_url(path)
        return pl.read_parquet(path, **polars_options(path))
    return pl.read_parquet(local(path))


# ----------------------------------------------------------------------------------------- writing


@contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """A temporary name beside `path`, renamed to it when the block succeeds and removed when it fails."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)  # e.g. a full disk: give the space back, leave nothing half-written
        if isinstance(e, OSError) and not isinstance(e, StorageError):
            raise StorageError(e.errno or 0, e.strerror or str(e), str(path)) from e
        raise


def _put_remote(url: str, data: bytes | pa.Buffer) -> None:
    fs, path = locate(url)
    try:
        if scheme(url) == "s3":
            bucket, _, key = path.partition("/")
            s3.put(bucket, key, data.to_pybytes() if isinstance(data, pa.Buffer) else data)
        else:  # gs:// and others: one stream, written at once; the store shows the object when it is closed
            with fs.open_output_stream(path) as f:
                f.write(data)
    except Exception as e:  # botocore's errors are not OSErrors; name the object either way
        if isinstance(e, StorageError):
            raise
        raise StorageError(getattr(e, "errno", None) or 0, _reason(e), url) from e


def _reason(e: Exception) -> str:
    """A store error's reason, in a line (botocore's ClientError carries the service's code and message)."""
    response = getattr(e, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', '')}: {err.get('Message', '')}".strip(": ")
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def put(path: str, data: bytes | pa.Buffer) -> None:
    """Write a whole file atomically: locally under a temporary name renamed into place; on a store in one
    request, so the object exists under its key only when complete."""
    if is_url(path):
        _put_remote(path, data)
        return
    with _temporary(Path(local(path))) as tmp:
        tmp.write_bytes(data)


def write_parquet(path: str, table: pa.Table, **options: Any) -> None:
    """Write a Parquet file atomically (as `put`), with pyarrow's write_table `options`."""
    if is_url(path):
        buf = pa.BufferOutputStream()
        pq.write_table(table, buf, **options)
        _put_remote(path, buf.getvalue())
        return
    with _temporary(Path(local(path))) as tmp:
        pq.write_table(table, tmp, **options)


def open_output(path: str) -> IO[bytes]:
    """A file opened for streaming writes (exports): locally a plain file, on a store pyarrow's upload stream
    (S3: a multipart upload, completed when closed). Not atomic: the caller writes a marker last."""
    if not is_url(path):
        Path(local(path)).parent.mkdir(parents=True, exist_ok=True)
        return open(local(path), "wb")  # noqa: SIM115 - returned to the caller's `with`
    fs, p = locate(path)
    return fs.open_output_stream(p)


def makedirs(path: str) -> None:
    """Create a local folder and its parents; nothing on a store (prefixes need no creating)."""
    if not is_url(path):
        Path(local(path)).mkdir(parents=True, exist_ok=True)


def remove(path: str) -> None:
    """Delete a file if it is there."""
    if not is_url(path):
        Path(local(path)).unlink(missing_ok=True)
        return
    fs, p = locate(path)
    if scheme(path) == "s3":
        bucket, _, key = p.partition("/")
        s3.delete(bucket, key)
        return
    with suppress(FileNotFoundError):
        fs.delete_file(p)


def remove_tree(path: str) -> None:
    """Delete a folder and everything under it, if it is there."""
    if not is_url(path):
        shutil.rmtree(local(path), ignore_errors=True)
        return
    fs, p = locate(path)
    if scheme(path) == "s3":
        bucket, _, prefix = p.partition("/")
        s3.delete_prefix(bucket, f"{prefix}/" if prefix else "")
        return
    if fs.get_file_info(p).type == pafs.FileType.Directory:
        fs.delete_dir_contents(p, missing_dir_ok=True)
        with suppress(OSError):  # a prefix has nothing left to delete; a directory marker may
            fs.delete_dir(p)


def abort_uploads(folder: str) -> int:
    """Abort the unfinished multipart uploads under a remote `folder` (S3 only); how many."""
    if scheme(folder) != "s3":
        return 0
    _, path = locate(folder)
    bucket, _, prefix = path.partition("/")
    return s3.abort_uploads(bucket, f"{prefix}/" if prefix else "")
