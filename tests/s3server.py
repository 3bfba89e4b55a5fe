"""A local S3-compatible server for the tests (and bench/objstore.py): moto in server mode, in a process of its
own, on a free loopback port. curate talks HTTP to it exactly as it would to S3 or MinIO; nothing of curate is
mocked. Credentials are made up per server (moto accepts any) and distinctive, so a test can look for them in
what a run writes.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    """A running moto server: its endpoint, the environment a client needs, and a few helpers."""

    endpoint: str
    proc: subprocess.Popen
    env: dict[str, str] = field(default_factory=dict)

    @property
    def key_id(self) -> str:
        return self.env["AWS_ACCESS_KEY_ID"]

    @property
    def secret(self) -> str:
        return self.env["AWS_SECRET_ACCESS_KEY"]

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.env["AWS_REGION"],
                            aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)

    def bucket(self, name: str | None = None) -> str:
        """A new, empty bucket; its name."""
        name = name or f"curate-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name)
        return name

    def upload(self, folder: Path, url: str) -> None:
        """Every file under a local folder, to the same relative keys under `url` (s3://bucket/prefix)."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        client = self.client()
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                key = "/".join(filter(None, [prefix.rstrip("/"), p.relative_to(folder).as_posix()]))
                client.put_object(Bucket=bucket, Key=key, Body=p.read_bytes())

    def objects(self, url: str) -> dict[str, bytes]:
        """Every object under `url`, by key relative to it."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        client = self.client()
        out = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"][len(prefix):]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        return out

    def uploads(self, url: str) -> list[str]:
        """Keys of the unfinished multipart uploads under `url`."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        found = self.client().list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
        return [u["Key"] for u in found]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_s3_server(log: Path | None = None) -> S3Server:
    """moto_server on a free loopback port, ready when it answers; stop it with `S3Server.stop`."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the server's own log, for the test's life
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "MOTO_PORT": str(port)})
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start on port {port}") from None
            time.sleep(0.2)
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": f"AKIACURATE{secrets.token_hex(5).upper()}",
           "AWS_SECRET_ACCESS_KEY": f"curate-test-secret-{secrets.token_hex(12)}"}
    return S3Server(endpoint, proc, env)
