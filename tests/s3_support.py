"""S3 for the tests: a real S3-compatible server (Ceph RGW from scripts/rgw.sh in CI).

The server comes from the environment `eval "$(scripts/rgw.sh env)"` sets: S3_ENDPOINT_URL,
the AWS credential variables, and STORAGE_URL naming the bucket. Tests that need it skip,
saying so, when no server is configured; .ci/run starts one, so there they always run.
"""

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.core.s3 import S3Storage
from app.core.storage import LocalStorage
from tests.support import start_server


def s3_base_url() -> str | None:
    """s3://bucket/prefix the tests may write under, or None without a server."""
    url = os.environ.get("TEST_S3_URL") or os.environ.get("STORAGE_URL", "")
    if not url.startswith("s3://") or not os.environ.get("S3_ENDPOINT_URL"):
        return None
    return url.rstrip("/")


requires_s3 = pytest.mark.skipif(
    s3_base_url() is None,
    reason='no S3 server configured: scripts/rgw.sh start; eval "$(scripts/rgw.sh env)"',
)


def s3_storage(root: Path, **settings: object) -> S3Storage:
    """An S3 store under a prefix of its own, its temporaries under `root`."""
    base = s3_base_url()
    assert base is not None
    url = f"{base}/t-{uuid.uuid4().hex[:12]}"
    config = Settings.model_validate(
        {"storage_url": url, "storage_dir": root / "files", "data_dir": root, **settings}
    )
    location = config.s3_location
    assert location is not None
    return S3Storage(
        bucket=location[0],
        prefix=location[1],
        scratch=LocalStorage(config.files_dir),
        settings=config,
    )


def empty(storage: S3Storage) -> None:
    for key in list(storage.iter_keys("")):
        storage.delete(key)


@contextmanager
def app_servers(envs: list[dict[str, str]], folder: Path) -> Iterator[list[str]]:
    servers: list[subprocess.Popen[bytes]] = []
    try:
        bases = []
        for n, env in enumerate(envs):
            server, base = start_server(1, folder / f"server-{n}.log", env=env)
            servers.append(server)
            bases.append(base)
        yield bases
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


class Alternating(httpx.BaseTransport):
    """Sends each request for the first server to the next server in turn, as a round-robin
    load balancer does (anything else, a presigned link, goes where it points); `served`
    counts what each one answered."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = [httpx.URL(base) for base in bases]
        self.served = [0] * len(bases)
        self.transport = httpx.HTTPTransport()
        self.turn = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.netloc != self.bases[0].netloc:  # a presigned link to the bucket
            return self.transport.handle_request(request)
        n = self.turn % len(self.bases)
        self.turn += 1
        self.served[n] += 1
        base = self.bases[n]
        request.url = request.url.copy_with(host=base.host, port=base.port)
        request.headers["Host"] = base.netloc.decode()
        return self.transport.handle_request(request)

    def close(self) -> None:
        self.transport.close()
