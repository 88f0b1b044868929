"""Files in S3-compatible object storage (`STORAGE_URL=s3://bucket/prefix`), through boto3.

Uploads still arrive in a temporary file on the local disk (the local folder's `tmp/`, swept
at start like the local store's); once checked they go to the bucket under their content
address and the temporary file is removed. Nothing else is kept on the server's disk.
"""

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.core.config import Settings
from app.core.errors import ProblemError
from app.core.metrics import STORAGE_ERRORS
from app.core.storage import LocalStorage, StoredFile, blob_key, check_key

# Below this a file goes up in one conditional PUT; above it, in 8 MiB parts, four at a time.
MULTIPART_THRESHOLD = 16 * 1024 * 1024
TRANSFER = TransferConfig(
    multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=8 * 1024 * 1024, max_concurrency=4
)
CHUNK = 1024 * 1024
logger = logging.getLogger("app.storage")


class StorageUnavailable(ProblemError):
    """The bucket refused or did not answer: a 503 the caller may retry, never a bare 500."""

    status = 503
    slug = "storage-unavailable"


class S3Storage:
    def __init__(
        self, *, bucket: str, prefix: str, scratch: LocalStorage, settings: Settings
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.scratch = scratch
        self.settings = settings

    @cached_property
    def client(self) -> Any:
        settings = self.settings
        config = Config(
            signature_version="s3v4",
            # Path-style addressing works with any server; virtual hosts need DNS per bucket.
            s3={"addressing_style": "path"} if settings.s3_endpoint_url else {},
            retries={"max_attempts": 4, "mode": "standard"},
            # A stalled store fails the request in seconds instead of holding its thread for
            # botocore's default minute.
            connect_timeout=5,
            read_timeout=30,
            # One connection per request thread (the thread pool is sized to the DB pool).
            max_pool_connections=settings.db_pool_size + settings.db_max_overflow,
            # Checksums only where S3 requires them: S3-compatible servers vary in support of
            # the newer trailing checksums, and the content's SHA-256 is sent as the key.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            aws_access_key_id=settings.aws_access_key_id or None,
            aws_secret_access_key=settings.aws_secret_access_key or None,
            region_name=settings.aws_default_region or None,
            config=config,
        )

    def _object(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def temp_path(self) -> Path:
        return self.scratch.temp_path()

    def sweep_temporaries(self, stale_after_seconds: float = 86400) -> int:
        return self.scratch.sweep_temporaries(stale_after_seconds)

    def put_temp(self, temp: Path, sha256: str) -> str:
        """Upload a finished temporary file to its content address (then remove it). Two
        uploads of the same bytes never overwrite each other: the PUT is conditional
        (`If-None-Match: *`), and a refusal means the same bytes are already there."""
        key = blob_key(sha256)
        name = self._object(key)
        try:
            if temp.stat().st_size < MULTIPART_THRESHOLD:
                with self._counting("put"), temp.open("rb") as body:
                    # AWS S3 checks the bytes against this hash (Ceph RGW 16 ignores it).
                    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
                    self._put_once(name, body, ChecksumSHA256=digest)
            elif not self.exists(key):
                # Multipart completion is not conditional on Ceph RGW 16 (measured: it
                # overwrites), so the key is checked first; a writer racing past the check
                # writes the same bytes, as the key is their hash.
                with self._counting("put"):
                    self.client.upload_file(str(temp), self.bucket, name, Config=TRANSFER)
        finally:
            temp.unlink(missing_ok=True)
        return key

    def _put_once(self, name: str, body: Any, **extra: Any) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=name, Body=body, IfNoneMatch="*", **extra
            )
        except ClientError as exc:
            if _status(exc) != 412:  # 412: already stored, and keys never change content
                raise

    def write(self, key: str, data: bytes) -> None:
        """Store a rendering under its key; keys name one version, so a key already
        written (by another server, say) holds these bytes and is kept."""
        with self._counting("put"):
            self._put_once(self._object(key), data)

    def read(self, key: str) -> bytes | None:
        try:
            with self._counting("get"):
                response = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
                data: bytes = response["Body"].read()
        except FileNotFoundError:
            return None
        return data

    def open(self, key: str) -> StoredFile:
        with self._counting("get"):
            response = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        body = response["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return StoredFile(size=int(response["ContentLength"]), chunks=chunks())

    def presigned_url(self, key: str, *, disposition: str, media_type: str) -> str | None:
        if not self.settings.storage_presign:
            return None
        with self._counting("presign"):
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._object(key),
                    "ResponseContentDisposition": disposition,
                    "ResponseContentType": media_type,
                },
                ExpiresIn=self.settings.storage_presign_seconds,
            )
        return url

    def exists(self, key: str) -> bool:
        try:
            with self._counting("head"):
                self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._counting("delete"):
            self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def iter_keys(self, prefix: str) -> Iterator[str]:
        base = self._object(prefix).rstrip("/") + "/" if prefix else self.prefix + "/"
        start = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        with self._counting("list"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base.lstrip("/")):
                for item in page.get("Contents", []):
                    yield item["Key"][start:]

    @contextmanager
    def _counting(self, operation: str) -> Iterator[None]:
        """A missing object becomes FileNotFoundError, as from the local folder; anything
        else that fails is counted, logged and answered 503."""
        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if _status(exc) == 404 or code == "NoSuchKey":
                raise FileNotFoundError(str(exc)) from exc
            self._failed(operation, f"{_status(exc)} {code}", exc)
        except BotoCoreError as exc:
            self._failed(operation, exc.__class__.__name__, exc)

    def _failed(self, operation: str, why: str, exc: Exception) -> None:
        STORAGE_ERRORS.labels("s3", operation).inc()
        logger.error("storage %s failed: %s", operation, why)
        raise StorageUnavailable(
            "Stored files cannot be reached just now. Please try again in a moment."
        ) from exc


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
