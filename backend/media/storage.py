"""Blob storage for media: the local filesystem (default) or S3-compatible object storage.

Keys are relative paths: ``originals/ab/<sha256>``, ``derived/ab/<sha256>/thumb.jpg``,
``partial/<upload id>/<offset>``. ``FIELDSYNC_MEDIA_URL`` chooses the backend:

- ``file:///absolute/path`` (default ``file://<var_dir>/media``);
- ``s3://bucket/optional/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1`` — credentials
  come from boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, profile, role).

Blocking I/O runs in worker threads so the event loop stays free.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import anyio.to_thread


class BlobMissing(KeyError):
    """No blob under that key."""


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def list(self, prefix: str) -> list[str]: ...


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}"


def derivative_key(sha256: str, variant: str) -> str:
    return f"derived/{sha256[:2]}/{sha256}/{variant}.jpg"


def partial_prefix(upload_id: str) -> str:
    return f"partial/{upload_id}/"


def partial_key(upload_id: str, offset: int) -> str:
    return f"{partial_prefix(upload_id)}{offset:012d}"


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.rstrip("/").split("/")):
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under ``root``; writes go to a temporary file first and are renamed into place."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise BlobMissing(key) from None

    def _list(self, prefix: str) -> list[str]:
        base = self.root / prefix if prefix.endswith("/") else (self.root / prefix).parent
        if not base.is_dir():
            return []
        keys = (str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith(".tmp-"))

    def _delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:  # tidy empty directories up to the root
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._put, key, data)

    async def get(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(self._get, key)

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, key)

    async def list(self, prefix: str) -> list[str]:
        return await anyio.to_thread.run_sync(self._list, prefix)


class S3Storage:
    """An S3-compatible bucket through boto3 (AWS, MinIO, Ceph, moto…)."""

    def __init__(self, bucket: str, prefix: str = "", **client_kwargs: Any) -> None:
        import boto3  # imported here so the embedded default does not need it loaded

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", **client_kwargs)
        self._missing = (self.client.exceptions.NoSuchKey,)

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def _get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self._missing:
            raise BlobMissing(key) from None

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        return sorted(keys)

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        )

    async def get(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(self._get, key)

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._exists, key)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        )

    async def list(self, prefix: str) -> list[str]:
        return await anyio.to_thread.run_sync(self._list, prefix)


def storage_from_url(url: str) -> Storage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(parsed.path)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"media url {url!r} names no bucket")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        kwargs: dict[str, Any] = {}
        if "endpoint_url" in query:
            kwargs["endpoint_url"] = query["endpoint_url"]
        if "region" in query:
            kwargs["region_name"] = query["region"]
        return S3Storage(parsed.netloc, parsed.path, **kwargs)
    raise ValueError(f"media url {url!r}: use file:///path or s3://bucket/prefix")


@lru_cache(maxsize=16)
def _cached(url: str) -> Storage:
    return storage_from_url(url)


def open_storage(settings: Any) -> Storage:
    """The storage for ``settings`` (one instance per URL and process)."""
    return _cached(settings.resolved_media_url)
