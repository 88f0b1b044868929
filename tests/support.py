"""Helpers that drive the public HTTP API the way a client would."""

import itertools
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import get_engine
from app.core.security import create_access_token

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def start_server(
    workers: int, log_path: Path, port: int | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m app serve` in a child process on this test run's database and files (or
    on the settings `env` gives)."""
    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    log = log_path.open("ab")
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)],
        env=os.environ.copy() if env is None else env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"the server did not start; see {log_path}")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS` on this test run's database and files, as an operator runs it."""
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
        timeout=300,
    )


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


@dataclass
class Actor:
    """A signed-in user: its id, email and the Authorization header to send."""

    id: str
    email: str
    headers: dict[str, str]
    agency_id: str | None = None
    organization_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ADMIN_EMAIL = "test.admin@pipeline.example"


def platform_admin() -> Actor:
    """The run's one platform administrator: made again by the service (as the CLI's
    create-admin, the only way to make one) when a test's wipe removed it, with a token
    signed here, as the sign-in endpoint would, rather than asked of it."""
    with Session(get_engine()) as session:
        user = session.exec(select(User).where(User.email == ADMIN_EMAIL)).first()
        if user is None:
            user = accounts.create_admin(session=session, email=ADMIN_EMAIL, password=PASSWORD)
        token = create_access_token(user.id, credentials_version=user.credentials_version)
        return Actor(user.id, ADMIN_EMAIL, {"Authorization": f"Bearer {token}"})


class Api:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self._admin: Actor | None = None

    def login(self, email: str, password: str = PASSWORD) -> Actor:
        response = self.client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        me = self.client.get("/api/v1/me", headers=headers).json()
        return Actor(me["id"], email, headers, me["agency_id"], me["organization_id"])

    @property
    def admin(self) -> Actor:
        if self._admin is None:
            self._admin = platform_admin()
        return self._admin

    def agency(
        self, kind: str = "state", state: str = "VA", parent_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {"name": unique(f"{kind.title()} Agency "), "kind": kind, "state": state, **extra}
        if kind == "district" and parent_id is None:
            parent_id = self.agency("state", state)["id"]
        if parent_id:
            body["parent_id"] = parent_id
        response = self.client.post("/api/v1/agencies", json=body, headers=self.admin.headers)
        assert response.status_code == 201, response.text
        return response.json()

    def staff(self, agency_id: str | None = None, kind: str = "state", state: str = "VA") -> Actor:
        if agency_id is None:
            agency_id = self.agency(kind, state)["id"]
        email = f"{unique('staff')}@agency.example"
        response = self.client.post(
            f"/api/v1/agencies/{agency_id}/staff",
            json={"email": email, "name": "Staff Member", "password": PASSWORD},
            headers=self.admin.headers,
        )
        assert response.status_code == 201, response.text
        return self.login(email)

    def unit(self, district_staff: Actor, **profile: Any) -> Actor:
        """A unit of the staff's district (an internal Lead Partner): created by the staff,
        its first user's invitation accepted, signed in."""
        email = f"{unique('unit')}@district.example"
        body = {"name": unique("Turnaround Unit "), "contact_name": "Uma Unit", "email": email}
        response = self.client.post(
            f"/api/v1/agencies/{district_staff.agency_id}/units",
            json={"grade_levels": ["06", "07", "08"], **body, **profile},
            headers=district_staff.headers,
        )
        assert response.status_code == 201, response.text
        accepted = self.client.post(
            "/api/v1/auth/accept-invite",
            json={"invite_token": response.json()["invite_token"], "password": PASSWORD},
        )
        assert accepted.status_code == 200, accepted.text
        return self.login(email)

    def partner(self, **profile: Any) -> Actor:
        email = f"{unique('partner')}@org.example"
        body = {
            "name": unique("Partner Org "),
            "kind": "nonprofit",
            "email": email,
            "contact_name": "Pat Partner",
            "password": PASSWORD,
            "states": ["VA"],
            "grade_levels": ["06", "07", "08"],
            "capacity_clusters": 2,
            **profile,
        }
        response = self.client.post("/api/v1/organizations", json=body)
        assert response.status_code == 201, response.text
        return self.login(email)


def invited_reviewer(
    api: Api,
    staff: Actor,
    rfp_id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    attested: bool = True,
) -> Actor:
    """Invite a reviewer to the RFP's panel, accept the invitation, sign in (and attest):
    the one copy of the flow for the tests that need a panel member."""
    email = email or f"{unique('reviewer')}@panel.example"
    name = name or unique("Quinn Reviewer ")
    invited = api.client.post(
        f"/api/v1/rfps/{rfp_id}/reviewers",
        json={"email": email, "name": name},
        headers=staff.headers,
    )
    assert invited.status_code == 201, invited.text
    accepted = api.client.post(
        "/api/v1/auth/accept-invite",
        json={"invite_token": invited.json()["invite_token"], "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    reviewer = api.login(email)
    assert reviewer.id == invited.json()["user_id"]
    reviewer.extra["name"] = name
    if attested:
        response = api.client.post(
            f"/api/v1/rfps/{rfp_id}/attestation",
            json={"no_conflict": True, "confidentiality": True},
            headers=reviewer.headers,
        )
        assert response.status_code == 201, response.text
    return reviewer


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.text
    return dict(body)


def future(days: float = 30) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def pass_deadline(rfp_id: str) -> None:
    """Let time pass: move an RFP's deadline into the past (the server clock decides)."""
    from sqlalchemy import text

    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE rfps SET submission_deadline = :t WHERE id = :id"),
            {"t": "2000-01-01 00:00:00+00:00", "id": rfp_id},
        )


def create_rfp(
    api: "Api", staff: Actor, template: str = "state-preferred-provider", **body: Any
) -> dict[str, Any]:
    payload = {
        "template_key": template,
        "title": unique("Lead Partner RFP "),
        "submission_deadline": future(),
        **body,
    }
    response = api.client.post("/api/v1/rfps", json=payload, headers=staff.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


_school_numbers = itertools.count(60_001)  # clear of the numbers tests spell out


def district_cluster(
    api: "Api",
    staff: Actor,
    name: str | None = None,
    schools: int = 3,
    grades: tuple[str, str] = ("06", "08"),
    needs: list[str] | None = None,
    enrollment: int = 400,
) -> dict[str, Any]:
    """A cluster of new schools in the staff's district, made over HTTP; the cluster read."""
    agency = api.client.get(f"/api/v1/agencies/{staff.agency_id}", headers=staff.headers).json()
    prefix = agency.get("nces_id") or "51"
    ids = []
    for _ in range(schools):
        response = api.client.post(
            f"/api/v1/agencies/{staff.agency_id}/schools",
            json={
                "nces_id": f"{prefix}{next(_school_numbers):0{12 - len(prefix)}d}",
                "name": unique("School "),
                "grade_low": grades[0],
                "grade_high": grades[1],
                "enrollment": enrollment,
                "needs": needs or [],
            },
            headers=staff.headers,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    response = api.client.post(
        f"/api/v1/agencies/{staff.agency_id}/clusters",
        json={"name": name or unique("Cluster "), "school_ids": ids},
        headers=staff.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


DISTRICT_TEMPLATES = ("district-cluster-partner", "internal-lead-partner")


def published_rfp(
    api: "Api", staff: Actor, template: str = "state-preferred-provider", **body: Any
) -> dict[str, Any]:
    """Published; a district's RFP offers a new cluster of its own unless `cluster_ids` says."""
    if template in DISTRICT_TEMPLATES and "cluster_ids" not in body:
        body["cluster_ids"] = [district_cluster(api, staff)["id"]]
    rfp = create_rfp(api, staff, template, **body)
    response = api.client.post(f"/api/v1/rfps/{rfp['id']}/publish", headers=staff.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def self_audit_items(rating: str = "met") -> list[dict[str, Any]]:
    from scoring.self_audit import ITEMS

    items = []
    for item in ITEMS:
        answer: dict[str, Any] = {
            "key": item.key,
            "rating": rating,
            "evidence": f"Evidence for {item.key}.",
        }
        if rating != "met":
            answer["gap_plan"] = {
                "strategy": "hire",
                "text": "We will hire an experienced director.",
            }
        items.append(answer)
    return items


def complete_self_audit(api: "Api", partner: Actor) -> None:
    response = api.client.put(
        f"/api/v1/organizations/{partner.organization_id}/self-audit",
        json={"items": self_audit_items()},
        headers=partner.headers,
    )
    assert response.status_code == 200, response.text


def upload(
    api: "Api",
    partner: Actor,
    proposal_id: str,
    key: str,
    content: bytes = PDF_BYTES,
    filename: str = "file.pdf",
) -> Any:
    return api.client.post(
        f"/api/v1/proposals/{proposal_id}/attachments",
        data={"key": key},
        files={"file": (filename, content, "application/pdf")},
        headers=partner.headers,
    )


def complete_proposal(api: "Api", partner: Actor, rfp: dict[str, Any]) -> dict[str, Any]:
    """A proposal with every section written, every attachment uploaded, a full self-audit."""
    created = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers)
    assert created.status_code == 201, created.text
    proposal = dict(created.json())
    for section in rfp["sections"]:
        text = " ".join(["word"] * min(50, section["word_limit"]))
        response = api.client.put(
            f"/api/v1/proposals/{proposal['id']}/sections/{section['key']}",
            json={"text": text},
            headers=partner.headers,
        )
        assert response.status_code == 200, response.text
    for slot in rfp["required_attachments"]:
        assert upload(api, partner, proposal["id"], slot["key"]).status_code == 201
    if rfp.get("selection") == "direct_award":
        response = api.client.put(
            f"/api/v1/proposals/{proposal['id']}/clusters",
            json={"cluster_ids": rfp["cluster_ids"]},
            headers=partner.headers,
        )
        assert response.status_code == 200, response.text
    complete_self_audit(api, partner)
    return proposal


def submitted_proposal(api: "Api", partner: Actor, rfp: dict[str, Any]) -> dict[str, Any]:
    proposal = complete_proposal(api, partner, rfp)
    response = api.client.post(
        f"/api/v1/proposals/{proposal['id']}/submit", headers=partner.headers
    )
    assert response.status_code == 200, response.text
    return {**proposal, **response.json()}


def finalized_list(
    api: "Api", state_staff: Actor, partners: list[Actor], scores: list[int] | None = None
) -> dict[str, Any]:
    """A whole selection run, finalized, the partners listed: `worlds.finalized_listing`
    (built by the services; kept under this name for its callers)."""
    from tests.worlds import finalized_listing  # worlds builds on this module

    return finalized_listing(state_staff, partners, scores)
