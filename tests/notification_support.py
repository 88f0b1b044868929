"""A real SMTP server for the notification tests (aiosmtpd on 127.0.0.1), which records
every message it accepts, can be stopped and started again on the same port, and can be
told to answer 451 (try later) or 550 (refused)."""

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

# For tests that point this process's settings at the test's SMTP server and run delivery
# rounds here. In the pass against a separate 'serve' process, the app answering the requests
# has its own settings (no SMTP_URL: each notice goes to its outbox folder at the commit), so
# such a test cannot steer it; that pass's delivery is covered by the tests that start real
# servers and workers with SMTP_URL (test_notifications_jobs.py, the browser invitation).
steers_this_process = pytest.mark.skipif(
    bool(os.environ.get("TEST_SERVER_WORKERS")),
    reason="sets SMTP in this process; the separate server's settings decide delivery there",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """aiosmtpd handler: keeps each accepted message, or answers the code it is told."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_with: str | None = None  # e.g. "451 4.3.0 try later"
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_with is not None:
            return self.refuse_with
        message = cast(
            EmailMessage, BytesParser(policy=policy.default).parsebytes(envelope.content)
        )
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, email: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == email]

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.messages]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.recorder.messages)

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.recorder.messages) < count:
            assert time.monotonic() < deadline, (
                f"{len(self.recorder.messages)} of {count} message(s) arrived in {timeout} s"
            )
            time.sleep(0.05)
        return self.messages


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(cast(EmailMessage, part).get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no HTML part"
    return str(cast(EmailMessage, part).get_content())
