"""Serve a rendered dashboard over HTTP on 127.0.0.1 only (never on other interfaces)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        """No request log on stderr."""


def dashboard_server(folder: Path, port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server for `folder` bound to 127.0.0.1:`port` (0: any free port); call serve_forever() on it."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return ThreadingHTTPServer((HOST, port), handler)
