"""Notifications: time from the causing commit to the message at the SMTP server (p50/p99
over 500 notices, the worker running as in production), and one worker's delivery
throughput against a bare smtplib loop sending the same 500 messages to the same server in
the same run, as a ratio (target at least 0.5).

The SMTP server (aiosmtpd) runs in its own process, so it takes no CPU from the worker.
SQLite by default (the in-process worker `serve` starts); `--postgres URL` (a throw-away
database: its schema is dropped) runs `python -m app worker` processes instead.

    .venv/bin/python bench/notifications.py [--count 500] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def smtp_server_main(port: int, log: str) -> None:
    """The SMTP server process: writes 'message-id arrival-time' per accepted message."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    out = open(log, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            arrived = time.time()
            headers = envelope.content.split(b"\r\n\r\n", 1)[0]
            message_id = message_from_bytes(headers)["Message-ID"]
            out.write(f"{message_id} {arrived}\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def _arrivals(log: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            message_id, at = line.rsplit(" ", 1)
            found.setdefault(message_id, float(at))
    return found


def _wait_for(log: Path, ids: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        arrived = _arrivals(log)
        if ids <= arrived.keys() or time.monotonic() > deadline:
            return arrived
        time.sleep(0.05)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--postgres", default="")
    parser.add_argument("--smtp-server", nargs=2, metavar=("PORT", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_server:
        smtp_server_main(int(args.smtp_server[0]), args.smtp_server[1])
        return

    from bench.harness import free_port

    work = Path(tempfile.mkdtemp(prefix="lpp-bench-notify-"))
    port = free_port()
    os.environ.update(
        DATA_DIR=str(work),
        DATABASE_URL=args.postgres or f"sqlite:///{work / 'bench.db'}",
        ENVIRONMENT="test",
        LOG_LEVEL="WARNING",
        SMTP_URL=f"smtp://127.0.0.1:{port}",
        DELIVERY_TICK_SECONDS="1",
    )
    from sqlalchemy import text

    from app.core.db import get_engine
    from app.core.migrate import upgrade_to_head

    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_to_head()

    smtp_log = work / "arrivals.log"
    server = subprocess.Popen(
        [sys.executable, __file__, "--smtp-server", str(port), str(smtp_log)],
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    try:
        _measure(args.count, engine, smtp_log, port, work)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _measure(count: int, engine: Any, smtp_log: Path, port: int, work: Path) -> None:
    from sqlmodel import Session, select

    from app.accounts.models import User
    from app.jobs.local import LocalWorker
    from app.notifications import delivery, service
    from app.notifications.models import Notice

    with Session(engine, expire_on_commit=False) as session:
        user = User(email="bench@partner.example", name="Bench Partner", role="partner")
        session.add(user)
        session.commit()

    def notify(session: Session, key: str) -> None:
        service.notify(
            session,
            kind="answer_published",
            recipients=[user],
            event_key=key,
            path="/rfps/bench",
            context={
                "rfp_title": "Bench RFP",
                "agency_name": "Bench State",
                "question": "How long does a notice take?",
                "answer": "This long.",
            },
        )

    dialect = engine.dialect.name
    print(f"notifications bench: {count} notices, {dialect}, SMTP server in its own process")

    # 1. Latency: each notice committed on its own, as a request would, with the worker
    #    running as deployed (in-process on SQLite, a `worker` process on PostgreSQL).
    workers: list[subprocess.Popen[bytes]] = []
    local = None
    if dialect == "sqlite":
        local = LocalWorker(engine)
        local.start()
    else:
        worker_log = (work / "worker.log").open("ab")
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "app", "worker"],
                env=os.environ.copy(),
                stdout=worker_log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        )
        time.sleep(4)  # the worker's start-up is not the notices' latency
    committed: dict[str, float] = {}
    for number in range(count):
        with Session(engine) as session:
            notify(session, f"latency-{number}")
            session.commit()
            stamp = time.time()
        with Session(engine) as session:
            message_id = session.exec(
                select(Notice.message_id).where(
                    Notice.dedup_key == f"answer_published:latency-{number}:{user.id}"
                )
            ).one()
        committed[message_id] = stamp
        time.sleep(0.02)  # about 50 causing requests a second
    arrived = _wait_for(smtp_log, set(committed), timeout=120)
    if local is not None:
        local.stop()
    for process in workers:
        process.terminate()
        process.wait(timeout=30)
    latencies = [(arrived[m] - committed[m]) * 1000 for m in committed if m in arrived]
    lost = len(committed) - len(latencies)
    print(
        f"  commit -> SMTP server: p50 {statistics.median(latencies):.0f} ms, "
        f"p99 {_percentile(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms "
        f"({len(latencies)} arrived, {lost} missing)"
    )

    # 2. Throughput: the same number queued at once, drained by one worker (this process,
    #    the task function the workers run), against a bare smtplib loop.
    with Session(engine) as session:
        for number in range(count):
            notify(session, f"throughput-{number}")
        session.commit()
    before = len(_arrivals(smtp_log))
    started = time.perf_counter()
    report = delivery.deliver_due(engine=engine)
    worker_seconds = time.perf_counter() - started
    assert report.sent == count, report
    worker_rate = count / worker_seconds

    with Session(engine) as session:
        sample = session.exec(select(Notice).where(Notice.user_id == user.id)).first()
        assert sample is not None
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for number in range(count):
            message = MIMEMultipart("alternative")
            message["From"] = "Lead Partner Pipeline <no-reply@localhost>"
            message["To"] = sample.email
            message["Subject"] = sample.subject
            message["Message-ID"] = f"<bare-{number}@bench>"
            message.attach(MIMEText(sample.text_body, "plain", "utf-8"))
            message.attach(MIMEText(sample.html_body, "html", "utf-8"))
            smtp.send_message(message)
    bare_seconds = time.perf_counter() - started
    bare_rate = count / bare_seconds
    _wait_for(smtp_log, set(), 0)
    total = len(_arrivals(smtp_log)) - before
    print(
        f"  one worker: {worker_rate:.0f} notices/s ({worker_seconds:.2f} s); bare smtplib "
        f"loop: {bare_rate:.0f} messages/s ({bare_seconds:.2f} s); ratio {worker_rate / bare_rate:.2f}"
        f" (target >= 0.5); {total} arrived"
    )


if __name__ == "__main__":
    main()
