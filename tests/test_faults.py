"""Faults: a server killed mid-upload or mid-submit loses and leaves nothing; a database
that disappears for a moment gives 503 and the service recovers without a restart."""

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import get_engine
from tests.support import PDF_BYTES, Actor, Api, complete_proposal, published_rfp, start_server


def _count(sql: str, **params: str) -> int:
    with get_engine().connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _temporaries() -> list[Path]:
    tmp = get_settings().files_dir / "tmp"
    return list(tmp.iterdir()) if tmp.is_dir() else []


def _multipart_in_slices(
    key: str, boundary: str, size: int, sent: threading.Event
) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + PDF_BYTES
    for _ in range(size // 16384):
        yield b"0" * 16384
        sent.set()
        time.sleep(0.05)  # a slow client: the server is killed while it is still receiving
    yield f"\r\n--{boundary}--\r\n".encode()


def _proposal_ready_for_upload(api: Api) -> tuple[Actor, dict[str, object], str]:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = complete_proposal(api, partner, rfp)
    key = rfp["required_attachments"][0]["key"]  # type: ignore[index]
    return partner, proposal, key


def test_killed_mid_upload_leaves_no_row_and_its_temporary_is_swept(
    api: Api, tmp_path: Path
) -> None:
    partner, proposal, key = _proposal_ready_for_upload(api)
    attachments_before = _count("SELECT count(*) FROM attachments")
    server, base = start_server(1, tmp_path / "server.log")
    sent = threading.Event()
    boundary = "faultboundary"
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            httpx.post(
                f"{base}/api/v1/proposals/{proposal['id']}/attachments",
                content=_multipart_in_slices(key, boundary, 800_000, sent),
                headers={
                    **partner.headers,
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
                timeout=30,
            )
        except httpx.HTTPError as exc:
            errors.append(exc)

    client = threading.Thread(target=upload)
    client.start()
    assert sent.wait(20)
    time.sleep(0.3)
    assert _temporaries(), "the upload should be streaming into a temporary file"
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    client.join(timeout=30)
    assert errors, "the client should see the connection drop"
    assert _count("SELECT count(*) FROM attachments") == attachments_before
    # A restarted server sweeps what the dead one left behind.
    server, base = start_server(1, tmp_path / "server.log")
    try:
        assert _temporaries() == []
        retry = httpx.post(
            f"{base}/api/v1/proposals/{proposal['id']}/attachments",
            data={"key": key},
            files={"file": ("again.pdf", PDF_BYTES, "application/pdf")},
            headers=partner.headers,
        )
        assert retry.status_code == 201, retry.text
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.08])
def test_killed_mid_submit_then_retry_makes_exactly_one_version(
    api: Api, tmp_path: Path, delay: float
) -> None:
    partner, proposal, _ = _proposal_ready_for_upload(api)
    server, base = start_server(1, tmp_path / "server.log")
    headers = {**partner.headers, "Idempotency-Key": f"submit-{delay}"}
    url = f"{base}/api/v1/proposals/{proposal['id']}/submit"

    def submit() -> None:
        # The server dies under us: the client does not know whether it worked.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(url, headers=headers, timeout=30)

    client = threading.Thread(target=submit)
    client.start()
    time.sleep(delay)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    client.join(timeout=30)
    server, base = start_server(1, tmp_path / "server.log")
    try:
        url = f"{base}/api/v1/proposals/{proposal['id']}/submit"
        first = httpx.post(url, headers=headers, timeout=30)
        again = httpx.post(url, headers=headers, timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json() and first.json()["version"] == 1
    assert (
        _count(
            "SELECT count(*) FROM proposal_versions WHERE proposal_id = :p", p=str(proposal["id"])
        )
        == 1
    )


class _Proxy:
    """A TCP relay to PostgreSQL that the test can cut and restore, like a network fault."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
        self.connections.clear()


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs a PostgreSQL server to cut off (runs in .ci/run's PostgreSQL pass)",
)
def test_database_outage_gives_503_and_recovers_without_restart(api: Api, tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(get_settings().database_url)
    proxy = _Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    partner = api.partner()
    env_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    saved = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = env_url
    try:
        server, base = start_server(1, tmp_path / "server.log")
    finally:
        os.environ["DATABASE_URL"] = saved
    try:
        me = f"{base}/api/v1/me"
        assert httpx.get(me, headers=partner.headers).status_code == 200
        proxy.cut()
        down = httpx.get(me, headers=partner.headers, timeout=30)
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("application/problem+json")
        assert "Traceback" not in down.text
        assert httpx.get(f"{base}/readyz").status_code == 503
        proxy.start()
        recovered = httpx.get(me, headers=partner.headers, timeout=30)
        assert recovered.status_code == 200, recovered.text
        assert httpx.get(f"{base}/readyz").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        proxy.cut()
