"""Deadline surge: every partner uploads its attachment and submits at once, on a real server.

    python bench/submission_surge.py [--partners 500] [--concurrency 100] [--size-mb 1]
                                     [--database-url postgresql://postgres@127.0.0.1:5432/lpp_bench]

Set-up is not what is measured, so it goes through the services and the models: a published
RFP asking for one PDF, and N partners, each with a bearer token and a proposal complete but
for that PDF. Then `python -m app serve` runs one uvicorn worker and the partners,
`--concurrency` at a time, each upload their PDF and submit (with an Idempotency-Key, retried
on a network error or a 5xx) through the HTTP API.

Checked in the database afterwards: lost (an acknowledged version is not stored), duplicated
(a second version of a proposal), receipts verified (the receipt a partner was given is the
one stored and the SHA-256 of the version's canonical content, as `app/proposals` computes it,
and that content names the bytes sent, which the stored file holds), and the audit chain.

The floor, `bench/floor_app.py` (parse the multipart, authenticate, check ownership and the
deadline, commit one row and one audit event), is then served by uvicorn with the same
settings and driven the same way, on the same database; the server's CPU time per submission
is printed for both, with their ratio.

Exits 1 if a submission was lost, duplicated or unverified; the p99 bar (5 s) and the ratio
are printed, not asserted. `--database-url` names a PostgreSQL database, which is dropped and
created again; the default is a SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# httpcore looks for sniffio on every lock it makes, and where sniffio is not installed each
# failed import searches sys.path again: milliseconds of this client's CPU per request, on
# the same two cores as the server. Record the absence once.
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

import httpx  # noqa: E402

from bench.harness import (  # noqa: E402
    Server,
    cpu_seconds,
    recreate_database,
    served,
    uvicorn_server,
)

SECRET_KEY = "submission-surge-bench-secret-key-not-for-production"
TEMPLATE = "state-preferred-provider"
ATTACHMENT_KEY = "financials"  # the RFP's one required attachment
SLOT = {"key": ATTACHMENT_KEY, "title": "Audited financials", "content_types": ["application/pdf"]}
BOUNDARY = "lpp-surge-7f3c1a9e4b2d"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
SUBMIT_TRIES = 3
P99_BAR_SECONDS = 5.0


# --- set-up --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    index: int
    proposal_id: str
    token: str


def environment(database_url: str | None, work: Path) -> dict[str, str]:
    """The settings of this process (which seeds and verifies) and of the servers."""
    url = database_url or f"sqlite:///{work / 'surge.db'}"
    env = {
        "ENVIRONMENT": "development",
        "DATA_DIR": str(work),
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,  # this process signs the partners' tokens
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
    }
    os.environ.update(env)
    return {**os.environ}


def seed(partners: int) -> list[Partner]:
    """The RFP through the services (its content comes from a template); the rest as rows in
    one transaction, as the services would hash a password and commit for each partner."""
    from sqlmodel import Session

    from app.accounts import policies as account_policies
    from app.accounts.models import Agency, Organization, User
    from app.core.db import get_engine
    from app.core.migrate import upgrade_to_head
    from app.core.security import create_access_token
    from app.proposals.models import Proposal
    from app.rfps import service as rfp_service
    from app.rfps.schemas import RfpCreate
    from app.self_audit.models import SelfAudit
    from app.self_audit.schemas import SelfAuditWrite
    from scoring.self_audit import ITEMS

    upgrade_to_head()
    with Session(get_engine(), expire_on_commit=False) as session:
        agency = Agency(name="Surge State Department of Education", kind="state", state="VA")
        staff = User(
            email="staff@surge.example",
            name="Surge Staff",
            role=account_policies.STAFF_ROLE,
            agency_id=agency.id,
        )
        session.add_all([agency, staff])
        session.commit()
        rfp = rfp_service.create_rfp(
            session=session,
            actor=staff,
            data=RfpCreate.model_validate(
                {
                    "template_key": TEMPLATE,
                    "title": "Surge Lead Partner RFP",
                    "submission_deadline": datetime.now(UTC) + timedelta(days=1),
                    "required_attachments": [SLOT],
                }
            ),
        )
        rfp = rfp_service.publish(session=session, actor=staff, rfp_id=rfp.id)
        audit_items = SelfAuditWrite.model_validate(
            {"items": [{"key": i.key, "rating": "met", "evidence": "Evidence."} for i in ITEMS]}
        ).model_dump()["items"]
        texts = {s["key"]: "Our plan for the cluster. " * 20 for s in rfp.sections}
        seeded = []
        for n in range(partners):
            email = f"partner{n:04d}@surge.example"
            organization = Organization(
                name=f"Surge Partner {n:04d}", kind="nonprofit", email=email, contact_name="C"
            )
            user = User(
                email=email,
                name="C",
                role=account_policies.PARTNER_ROLE,
                organization_id=organization.id,
            )
            proposal = Proposal(
                rfp_id=rfp.id, organization_id=organization.id, created_by=user.id, sections=texts
            )
            audit = SelfAudit(
                organization_id=organization.id, items=audit_items, updated_by=user.id
            )
            session.add_all([organization, user, proposal, audit])
            token = create_access_token(user.id, timedelta(hours=2))
            seeded.append(Partner(n, proposal.id, token))
        session.commit()
    get_engine().dispose()  # no idle connection of this process during the surge
    return seeded


def attachment(index: int, size: int) -> bytes:
    """A PDF of `size` bytes, different for every partner (no two share a stored blob)."""
    head = f"%PDF-1.4\n% surge partner {index}\n".encode()
    return head + random.Random(index).randbytes(max(0, size - len(head)))


def multipart(index: int, size: int, key: str = ATTACHMENT_KEY) -> bytes:
    return b"".join(
        [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n\r\n'.encode(),
            f"{key}\r\n--{BOUNDARY}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename="financials-{index}.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n".encode(),
            attachment(index, size),
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        ]
    )


# --- the surge -----------------------------------------------------------------------------


def warm_up(server: Server, partner: Partner, upload_path: str, submit_path: str = "") -> None:
    """A server's first requests pay for lazy imports and first statement compiles: before
    the clock starts, send a few that are refused and leave nothing behind (an attachment
    key the RFP does not ask for, a submit missing its attachment, an unknown proposal)."""
    bearer = {"Authorization": f"Bearer {partner.token}"}
    body = multipart(partner.index, 4096, key="warm-up")
    with httpx.Client(base_url=server.url, headers=bearer, timeout=60) as client:
        for _ in range(5):
            answers = [client.post(upload_path, content=body, headers={"Content-Type": MULTIPART})]
            if submit_path:
                answers.append(client.post(submit_path))
            for answered in answers:
                if answered.status_code not in (404, 422):
                    raise SystemExit(refusal(f"warm-up {answered.url.path}", answered))


# One partner's requests: the answer that acknowledges its submission, or why there is none.
Submission = Callable[[httpx.AsyncClient, Partner, bytes], Awaitable[dict[str, Any] | str]]


@dataclass
class Run:
    wall: float = 0.0
    server_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by proposal id
    failures: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    @property
    def done(self) -> int:
        return len(self.answers)


async def drive(
    server: Server,
    partners: list[Partner],
    concurrency: int,
    size: int,
    submission: Submission,
    run: Run,
) -> None:
    """Every partner's submission, `concurrency` at a time, timed from the first byte sent to
    the acknowledgement. Each slot is a client of its own with one connection, as each
    partner is: one shared pool of 100 costs this client CPU that grows with its size."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=server.url, limits=limits, timeout=300)
        for _ in range(min(concurrency, len(partners)))
    ]
    queue = iter(partners)

    async def slot(client: httpx.AsyncClient) -> None:
        for partner in queue:
            body = multipart(partner.index, size)
            began = time.perf_counter()
            try:
                outcome = await submission(client, partner, body)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if isinstance(outcome, str):
                run.failures[outcome] += 1
            else:
                run.latencies.append(time.perf_counter() - began)
                run.answers[partner.proposal_id] = outcome

    cpu_before, began = cpu_seconds(server.pid), time.perf_counter()
    try:
        await asyncio.gather(*(slot(client) for client in clients))
    finally:
        run.wall = time.perf_counter() - began
        run.server_cpu = cpu_seconds(server.pid) - cpu_before
        for client in clients:
            await client.aclose()


def refusal(what: str, response: httpx.Response) -> str:
    """What went wrong, without the request id, so that failures of one kind group."""
    try:
        detail = str(response.json().get("detail"))
    except (ValueError, AttributeError):
        detail = response.text
    return f"{what} answered {response.status_code}: {detail[:200]}"


def app_submission(run: Run) -> Submission:
    async def upload_and_submit(
        client: httpx.AsyncClient, partner: Partner, body: bytes
    ) -> dict[str, Any] | str:
        bearer = {"Authorization": f"Bearer {partner.token}"}
        uploaded = await client.post(
            f"/api/v1/proposals/{partner.proposal_id}/attachments",
            content=body,
            headers={**bearer, "Content-Type": MULTIPART},
        )
        if uploaded.status_code != 201:
            return refusal("upload", uploaded)
        headers = {**bearer, "Idempotency-Key": uuid.uuid4().hex}
        outcome = "submit failed on the network"
        for attempt in range(SUBMIT_TRIES):
            if attempt:
                run.retries += 1
                await asyncio.sleep(0.2 * attempt)
            try:
                submitted = await client.post(
                    f"/api/v1/proposals/{partner.proposal_id}/submit", headers=headers
                )
            except httpx.TransportError:
                continue
            if submitted.status_code == 200:
                return dict(submitted.json())
            outcome = refusal("submit", submitted)
            if submitted.status_code < 500:
                break
        return outcome

    return upload_and_submit


async def floor_submission(
    client: httpx.AsyncClient, partner: Partner, body: bytes
) -> dict[str, Any] | str:
    answered = await client.post(
        f"/floor/proposals/{partner.proposal_id}/submissions",
        content=body,
        headers={"Authorization": f"Bearer {partner.token}", "Content-Type": MULTIPART},
    )
    if answered.status_code != 201:
        return refusal("floor", answered)
    return dict(answered.json())


# --- verification --------------------------------------------------------------------------


@dataclass
class Verdict:
    lost: int = 0
    duplicated: int = 0
    verified: int = 0
    problems: list[str] = field(default_factory=list)
    audit: str = ""
    audit_ok: bool = False


def canonical_receipt(content: dict[str, Any]) -> str:
    """The receipt as the service defines it: SHA-256 of the canonical JSON of the content."""
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def stored_sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def verify(partners: list[Partner], answers: dict[str, dict[str, Any]], size: int) -> Verdict:
    from sqlmodel import Session, select

    from app.audit import service as audit
    from app.core.db import get_engine
    from app.core.storage import get_storage
    from app.proposals.models import Attachment, ProposalVersion

    verdict = Verdict()
    with Session(get_engine()) as session:
        versions: dict[str, list[ProposalVersion]] = {}
        for version in session.exec(select(ProposalVersion)):
            versions.setdefault(version.proposal_id, []).append(version)
        stored_keys = dict(session.exec(select(Attachment.id, Attachment.storage_key)).all())
        chain = audit.verify(session)
    verdict.audit_ok = chain.ok
    verdict.audit = (
        f"intact, {chain.checked} events; {chain.anchored}"
        if chain.ok
        else "BROKEN: " + "; ".join(chain.problems[:3])
    )
    storage = get_storage()
    for partner in partners:
        rows = versions.get(partner.proposal_id, [])
        verdict.duplicated += max(0, len(rows) - 1)
        answer = answers.get(partner.proposal_id)
        told = [
            v
            for v in rows
            if answer and (v.number, v.receipt) == (answer["version"], answer["receipt"])
        ]
        if not told:
            verdict.lost += 1
            verdict.problems.append(
                f"partner {partner.index}: {len(rows)} version(s), told {answer}"
            )
            continue
        content = told[0].content
        sent = hashlib.sha256(attachment(partner.index, size)).hexdigest()
        named = [a for a in content["attachments"] if a["key"] == ATTACHMENT_KEY]
        if (
            canonical_receipt(content) == told[0].receipt
            and [a["sha256"] for a in named] == [sent]
            and stored_sha256(storage.read(stored_keys.get(named[0]["id"], "missing"))) == sent
        ):
            verdict.verified += 1
        else:
            verdict.problems.append(f"partner {partner.index}: receipt or file does not verify")
    return verdict


# --- the report ----------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank; NaN for none."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] if ordered else math.nan


def per_submission_ms(run: Run) -> float:
    return run.server_cpu / run.done * 1000 if run.done else math.nan


def report(args: argparse.Namespace, setup: float, app: Run, floor: Run, verdict: Verdict) -> None:
    database = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"
    print(
        f"\nDeadline surge: {args.partners} partners, {args.size_mb:g} MB PDF each, concurrency "
        f"{args.concurrency}, one uvicorn worker, {database}, {os.cpu_count()} CPU(s), files in "
        + os.environ.get("STORAGE_URL", "the local folder")
    )
    print(f"  set-up through services and models: {setup:.1f} s")
    print(f"  {'':<32}{'app (upload + submit)':>24}{'floor (one request)':>24}")
    for label, show in (
        ("acknowledged", lambda r: f"{r.done}/{args.partners}"),
        ("wall time", lambda r: f"{r.wall:.1f} s"),
        ("throughput", lambda r: f"{r.done / r.wall:.1f} /s" if r.wall else "n/a"),
        ("latency p50", lambda r: f"{percentile(r.latencies, 50) * 1000:,.0f} ms"),
        ("latency p99", lambda r: f"{percentile(r.latencies, 99) * 1000:,.0f} ms"),
        ("server CPU per submission", lambda r: f"{per_submission_ms(r):.1f} ms"),
    ):
        print(f"  {label:<32}{show(app):>24}{show(floor):>24}")
    if floor.done:
        ratio = per_submission_ms(app) / per_submission_ms(floor)
        print(f"  server CPU per submission: app / floor = {ratio:.2f} (for the record)")
    p99 = percentile(app.latencies, 99)
    bar = "meets" if p99 <= P99_BAR_SECONDS else "ABOVE"
    print(f"  p99 of upload + submit {p99:.2f} s: {bar} the bar of {P99_BAR_SECONDS:g} s")
    print(
        f"  lost {verdict.lost}, duplicated {verdict.duplicated}, "
        f"receipts verified {verdict.verified}/{args.partners}, submit retries {app.retries}"
    )
    print(f"  audit chain: {verdict.audit}")
    for kind, count in (app.failures + floor.failures).most_common(5):
        print(f"  failed {count} x {kind}")
    for line in verdict.problems[:5]:
        print(f"  problem: {line}")


def write_summary(path: Path, app: Run, verdict: Verdict) -> None:
    figures = {
        "acknowledged": app.done,
        "wall_seconds": app.wall,
        "throughput": app.done / app.wall if app.wall else 0.0,
        "p50_seconds": percentile(app.latencies, 50),
        "p99_seconds": percentile(app.latencies, 99),
        "lost": verdict.lost,
        "duplicated": verdict.duplicated,
        "verified": verdict.verified,
    }
    path.write_text(json.dumps(figures))


def server_errors(log: Path) -> int:
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum("Traceback" in line or "ERROR" in line for line in text.splitlines())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL bench database, dropped and created again (default: a SQLite file)",
    )
    parser.add_argument(
        "--skip-floor", action="store_true", help="measure the app only (bench/storage_surge.py)"
    )
    parser.add_argument("--summary", type=Path, help="also write the app's figures here, as JSON")
    args = parser.parse_args()
    if min(args.partners, args.concurrency) < 1 or args.size_mb <= 0:
        parser.error("--partners, --concurrency and --size-mb must be positive")
    return args


def main() -> int:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="lpp-surge-"))
    env = environment(args.database_url, work)
    if env["DATABASE_URL"].startswith("postgres"):
        recreate_database(env["DATABASE_URL"])
    size = int(args.size_mb * 1024 * 1024)
    keep = False
    try:
        began = time.perf_counter()
        partners = seed(args.partners)
        setup = time.perf_counter() - began
        print(f"Seeded {args.partners} partners in {setup:.1f} s; the surge begins")
        app_log, floor_log = work / "app.log", work / "floor.log"
        serve = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--workers", "1"]
        with served(serve, env, app_log, "/readyz") as server:
            proposal = f"/api/v1/proposals/{partners[0].proposal_id}"
            warm_up(server, partners[0], f"{proposal}/attachments", f"{proposal}/submit")
            app = Run()
            asyncio.run(drive(server, partners, args.concurrency, size, app_submission(app), app))
        verdict = verify(partners, app.answers, size)
        floor = Run()
        if not args.skip_floor:
            print("The floor, on the same database")
            with uvicorn_server("bench.floor_app:app", env, floor_log) as server:
                warm_up(server, partners[0], "/floor/proposals/unknown/submissions")
                asyncio.run(
                    drive(server, partners, args.concurrency, size, floor_submission, floor)
                )
        report(args, setup, app, floor, verdict)
        if args.summary:
            write_summary(args.summary, app, verdict)
        for log in (app_log, floor_log):
            if errors := server_errors(log):
                keep = True
                print(f"  {log.name} holds {errors} error line(s): {log}")
        failed = verdict.lost or verdict.duplicated or verdict.verified < args.partners
        return 1 if failed or not verdict.audit_ok else 0
    except BaseException:
        keep = True
        print(f"Kept the database, files and server logs in {work}", file=sys.stderr)
        raise
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
