"""S3 and S3-compatible stores (MinIO, OSS, Ceph RGW, moto): where the endpoint is, and the two requests
pyarrow's file system does not make the way curate needs them.

* `put`: an object in one PutObject request (up to 5 GB), so it exists under its key only when whole;
  pyarrow's output stream uploads in parts, and a writer killed between parts leaves an unfinished upload.
* `delete`, `delete_prefix`: remove objects and leave nothing in their place (pyarrow's deletes put an
  empty "directory" marker object where a prefix became empty);
* `abort_uploads`: abort the unfinished multipart uploads under a prefix (a killed writer of another tool,
  or of `curate export`, which streams), so a resumed run leaves nothing behind, not even invisible parts.

Credentials are never handled here: boto3 and pyarrow each read them from the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE) or the standard files
(~/.aws/credentials, ~/.aws/config), or an instance or pod role.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any
from urllib.parse import urlsplit

# The largest object one PutObject may carry.
MAX_PUT_BYTES = 5 * 1024**3


def endpoint() -> str | None:
    """The S3 endpoint URL of an S3-compatible store (AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL), or None
    for AWS itself."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def region() -> str | None:
    """The region from AWS_REGION or AWS_DEFAULT_REGION, if set."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def pyarrow_options() -> dict[str, Any]:
    """pyarrow S3FileSystem options for the configured endpoint (None: AWS; pyarrow then finds the bucket's
    region itself). Never credentials."""
    url = endpoint()
    if url is None:
        return {}
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return {"endpoint_override": parts.netloc, "scheme": parts.scheme or "https",
            "region": region() or "us-east-1"}


def polars_options() -> dict[str, str] | None:
    """Polars `storage_options` for the configured endpoint (polars reads the credentials from the
    environment itself), or None for AWS."""
    url = endpoint()
    if url is None:
        return None
    options = {"aws_endpoint_url": url, "aws_region": region() or "us-east-1"}
    if url.startswith("http://"):
        options["aws_allow_http"] = "true"
    return options


def _client() -> Any:
    """A boto3 S3 client at the configured endpoint and region: one per process and configuration."""
    return _client_for(endpoint(), region())


@cache
def _client_for(endpoint_url: str | None, region_name: str | None) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)


def put(bucket: str, key: str, data: bytes) -> None:
    """Write one object in one PutObject request: it appears under `key` whole, or not at all."""
    if len(data) > MAX_PUT_BYTES:
        raise OSError(27, f"object of {len(data):,} bytes is over the 5 GB a single PUT takes")
    _client().put_object(Bucket=bucket, Key=key, Body=data)


def delete(bucket: str, key: str) -> None:
    """Delete one object (absent: nothing to do)."""
    _client().delete_object(Bucket=bucket, Key=key)


def delete_prefix(bucket: str, prefix: str) -> int:
    """Delete every object under `prefix` (a thousand per request); how many."""
    client = _client()
    n = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            n += len(keys)
    return n


def abort_uploads(bucket: str, prefix: str) -> int:
    """Abort every unfinished multipart upload under `prefix`; how many there were."""
    client = _client()
    n = 0
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        for upload in page.get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            n += 1
    return n
