"""Property-based fuzzing of the whole HTTP API with Schemathesis.

Every operation in the OpenAPI document the app serves at `/api/v1/openapi.json` gets
generated requests (valid and invalid data), and each request is sent once as every role:
anonymous, reviewer, partner, agency_staff of a district, agency_staff of a state and
platform_admin. No response may be a 5xx, and every response must match what the document
says about it: a documented status code, a documented media type, the documented schema
(and documented headers).

The requests go to the in-process ASGI app; no server is needed. A realistic world (agencies,
RFPs in every state, proposals, a finalized preferred-provider list, a review in progress,
schools, clusters, a matching run, an MOU) is built once through the API, snapshotted, and
restored before every operation's test. Generated path parameters, query values and body
fields are often replaced by that world's ids and keys, and, where random data would hardly
ever satisfy the rules, a valid body (with some generated fields mixed in) is often sent
instead, so requests get past the 404s and 422s and reach the real code paths.

An operation's test records each distinct failure (kind, status code, media type), which
roles met it, how often, and the first reproduction with its curl command, and goes on
generating, so one failure neither hides the others nor cuts the request count short. The
failures are reported when the test ends (as an error at its teardown). `test_request_count`
then checks that the run sent at least MIN_REQUESTS requests.

`make test` runs the bounded run: the coverage phase's positive cases (boundary values of valid
input) and FUZZ_EXAMPLES=8 fuzzing-phase examples (valid and invalid) per operation, about
8,000 requests. `make fuzz` is the long run: FUZZ_EXAMPLES=100 and FUZZ_COVERAGE=all (every
malformed variant of every parameter and body field too), about 65,000 requests.
"""

import copy
import json
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup
from sqlalchemy import text

from app.all_models import metadata
from app.core.config import get_settings
from app.core.db import get_engine
from app.core.security import create_access_token
from app.main import app
from tests import worlds
from tests.support import (
    PASSWORD,
    Actor,
    Api,
    complete_proposal,
    create_rfp,
    future,
    pass_deadline,
    published_rfp,
    self_audit_items,
    submitted_proposal,
    unique,
)

# Under pytest-xdist Schemathesis runs every operation inside one test (one restore of the
# world for all), so `make test` runs this module in a process of its own, by this marker.
pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# Which of the coverage phase's deterministic cases to send: "positive" (boundary values of
# valid input) or "all" (also every malformed variant of every parameter and body field).
COVERAGE = os.environ.get("FUZZ_COVERAGE", "positive")
MIN_REQUESTS = 5000
ROLES = ["anonymous", "reviewer", "partner", "district_staff", "state_staff", "platform_admin"]

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "phases": {
            "coverage": {"generation": {"mode": "all" if COVERAGE == "all" else "positive"}},
            "stateful": {"enabled": False},
        },
        "suppress-health-check": ["all"],
    }
)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=CONFIG)

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


# --- the world every test starts from -------------------------------------------------------


@dataclass
class World:
    """Who acts (user ids by role) and which ids generated requests should often use."""

    users: dict[str, str]
    pools: dict[str, list[Any]]
    emails: list[str]
    template_keys: list[str]
    section_keys: list[str]
    attachment_keys: list[str]
    bodies: dict[str, dict[str, Any]]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audit_head: tuple[int, str] = (0, "0" * 64)
    files: Path | None = None
    seconds: float = 0.0  # how long building it took


# Not snapshotted: attempt counters (every test starts without them) and the audit chain's
# head (a single row the wipe resets; restored by its own UPDATE).
_VOLATILE = {"rate_limit_buckets", "login_throttles", "audit_head"}


def _must(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    is_json = "json" in response.headers.get("content-type", "")
    return response.json() if is_json else response.content


def _build_world(client: Any) -> World:
    api = Api(client)
    admin = api.admin
    state = api.agency("state", "VA")
    state_staff = api.staff(state["id"])
    district = api.agency("district", "VA", parent_id=state["id"], nces_id="5100777")
    district_staff = api.staff(district["id"])
    profile = {"states": ["VA"], "grade_levels": ["06", "07", "08"], "capacity_clusters": 2}
    first = api.partner(**profile)
    second = api.partner(**profile)

    # A finished selection: both partners approved and on the preferred-provider list.
    finalized = worlds.finalized_listing(state_staff, [first, second])
    panel = _must(
        client.get(f"/api/v1/rfps/{finalized['id']}/reviewers", headers=state_staff.headers)
    )
    reviewer = api.login(panel["items"][0]["email"])

    # Schools, two clusters and spare schools; a matching run; one match accepted, one proposed.
    schools = []
    for n in range(1, 10):
        body = {
            "nces_id": f"510077700{n:03d}",
            "name": unique("Middle School "),
            "grade_low": "06",
            "grade_high": "08",
            "enrollment": 400 + n,
            "poverty_rate": 0.5,
        }
        schools.append(
            _must(
                client.post(
                    f"/api/v1/agencies/{district['id']}/schools",
                    json=body,
                    headers=district_staff.headers,
                ),
                201,
            )
        )
    clusters = [
        _must(
            client.post(
                f"/api/v1/agencies/{district['id']}/clusters",
                json={"name": name, "school_ids": [s["id"] for s in group]},
                headers=district_staff.headers,
            ),
            201,
        )
        for name, group in (("East", schools[0:3]), ("West", schools[3:6]))
    ]
    _must(
        client.post(
            f"/api/v1/clusters/{clusters[0]['id']}/preferences",
            json={"organization_ids": [first.organization_id, second.organization_id]},
            headers=district_staff.headers,
        )
    )
    run = _must(
        client.post(
            f"/api/v1/agencies/{district['id']}/matching-runs",
            json={},
            headers=district_staff.headers,
        ),
        201,
    )
    assert len(run["matches"]) == 2, run
    accepted, proposed = run["matches"]
    _must(client.post(f"/api/v1/matches/{accepted['id']}/accept", headers=district_staff.headers))
    partner = first if first.organization_id == accepted["organization_id"] else second
    rival = second if partner is first else first

    # The MOU for the accepted match, revised once; both versions' PDFs rendered (cached).
    mou = _must(
        client.post(f"/api/v1/matches/{accepted['id']}/mou", headers=district_staff.headers), 201
    )
    mou_url = f"/api/v1/mous/{mou['id']}"
    current = client.get(mou_url, headers=district_staff.headers)
    terms_keys = (
        "title parties schools term_years start_date lead_partner_responsibilities autonomies "
        "responsibilities benchmarks funding reporting_cadence renewal_terms termination_terms "
        "signatories notes"
    ).split()
    terms = {k: current.json()[k] for k in terms_keys}
    terms["term_years"] = 4
    _must(
        client.put(
            mou_url,
            json=terms,
            headers={**district_staff.headers, "If-Match": current.headers["ETag"]},
        )
    )
    for version in (1, 2):
        pdf = f"{mou_url}/document.pdf?version={version}"
        _must(client.get(pdf, headers=district_staff.headers))

    # A review in progress: closed, assigned, the reviewer attested and scored in part.
    review = published_rfp(api, state_staff, reviewers_per_proposal=1)
    under_review = [submitted_proposal(api, rival, review)]
    invited = {"email": reviewer.email, "name": "Reviewer"}
    _must(
        client.post(
            f"/api/v1/rfps/{review['id']}/reviewers", json=invited, headers=state_staff.headers
        ),
        201,
    )
    pass_deadline(review["id"])
    _must(client.post(f"/api/v1/rfps/{review['id']}/assignments/auto", headers=state_staff.headers))
    _must(
        client.post(
            f"/api/v1/rfps/{review['id']}/attestation",
            json={"no_conflict": True, "confidentiality": True},
            headers=reviewer.headers,
        ),
        201,
    )
    assignments = _must(client.get("/api/v1/me/assignments", headers=reviewer.headers))["items"]
    for assignment in assignments:
        if assignment["status"] != "submitted":
            criterion = review["criteria"][0]["key"]
            score = {"criterion_key": criterion, "value": 2, "comment": "Partly there."}
            _must(
                client.put(
                    f"/api/v1/assignments/{assignment['id']}/scores",
                    json={"scores": [score]},
                    headers=reviewer.headers,
                )
            )
    # A second reviewer, invited but not yet signed up: its invitation token stays usable.
    newcomer = {"email": f"{unique('reviewer')}@panel.example", "name": "New Reviewer"}
    pending = _must(
        client.post(
            f"/api/v1/rfps/{review['id']}/reviewers", json=newcomer, headers=state_staff.headers
        ),
        201,
    )

    # An open RFP: the partner's draft proposal (complete, unsubmitted), questions, an addendum.
    open_rfp = published_rfp(api, state_staff)
    draft_proposal = complete_proposal(api, partner, open_rfp)
    draft_proposal = _must(
        client.get(f"/api/v1/proposals/{draft_proposal['id']}", headers=partner.headers)
    )
    asked = _must(
        client.post(
            f"/api/v1/rfps/{open_rfp['id']}/questions",
            json={"text": "May a consortium apply?"},
            headers=partner.headers,
        ),
        201,
    )
    _must(
        client.post(
            f"/api/v1/questions/{asked['id']}/answer",
            json={"text": "Yes, with one lead organization."},
            headers=state_staff.headers,
        )
    )
    unanswered = _must(
        client.post(
            f"/api/v1/rfps/{open_rfp['id']}/questions",
            json={"text": "Is the budget template mandatory?"},
            headers=rival.headers,
        ),
        201,
    )
    _must(
        client.post(
            f"/api/v1/rfps/{open_rfp['id']}/addenda",
            json={"text": "The pre-proposal conference moves online."},
            headers=state_staff.headers,
        ),
        201,
    )

    # Another open RFP with the partner's proposal submitted (it may be withdrawn), one the
    # partner has not answered yet, and drafts: a state RFP and a district RFP.
    submitted_rfp = published_rfp(api, state_staff)
    submitted = submitted_proposal(api, partner, submitted_rfp)
    fresh_rfp = published_rfp(api, state_staff)
    state_draft = create_rfp(api, state_staff)
    district_draft = create_rfp(api, district_staff)
    # Every RFP's PDF rendered now (they are cached by version), not during the fuzzing.
    for rfp in (open_rfp, finalized, review, submitted_rfp, fresh_rfp, state_draft):
        _must(client.get(f"/api/v1/rfps/{rfp['id']}/document.pdf", headers=state_staff.headers))
    district_pdf = f"/api/v1/rfps/{district_draft['id']}/document.pdf"
    _must(client.get(district_pdf, headers=district_staff.headers))

    finalized_proposals = _must(
        client.get(f"/api/v1/rfps/{finalized['id']}/proposals", headers=state_staff.headers)
    )["items"]
    partner_final = next(
        p for p in finalized_proposals if p["organization_id"] == partner.organization_id
    )
    final_detail = _must(
        client.get(f"/api/v1/proposals/{partner_final['id']}", headers=partner.headers)
    )
    reviewer_assignments = _must(client.get("/api/v1/me/assignments", headers=reviewer.headers))
    templates = _must(client.get("/api/v1/rfp-templates"))["items"]

    actors: dict[str, Actor] = {
        "platform_admin": admin,
        "state_staff": state_staff,
        "district_staff": district_staff,
        "partner": partner,
        "reviewer": reviewer,
    }
    rfps = [open_rfp, finalized, review, submitted_rfp, fresh_rfp, state_draft, district_draft]
    proposals = [draft_proposal["id"], submitted["id"], partner_final["id"], under_review[0]["id"]]
    criteria = [c["key"] for c in open_rfp["criteria"]]
    attachments = [a["id"] for a in draft_proposal["attachments"] + final_detail["attachments"]]
    pools: dict[str, list[Any]] = {
        "agency_id": [state["id"], district["id"]],
        "organization_id": [partner.organization_id, rival.organization_id],
        "rfp_id": [r["id"] for r in rfps],
        "question_id": [asked["id"], unanswered["id"]],
        "proposal_id": proposals,
        "attachment_id": attachments[:1] + attachments[-1:],
        "assignment_id": [a["id"] for a in reviewer_assignments["items"]],
        "cluster_id": [c["id"] for c in clusters],
        "run_id": [run["id"]],
        "match_id": [accepted["id"], proposed["id"]],
        "mou_id": [mou["id"]],
        "reviewer_id": [reviewer.id, pending["user_id"]],
        "user_id": [reviewer.id, pending["user_id"]],
        "parent_id": [state["id"]],
        "school_ids": [s["id"] for s in schools[6:]],
        "organization_ids": [partner.organization_id, rival.organization_id],
        "cluster_ids": [c["id"] for c in clusters],
        "criterion_key": criteria,
        "invite_token": [pending["invite_token"]],
        "version": [1, 2],
        "from": [1, 2],
        "to": [1, 2],
        "status": ["draft", "published", "closed", "finalized"],
        "state": ["VA"],
    }
    pools["entity_id"] = sorted({v for k, vs in pools.items() if k.endswith("_id") for v in vs})
    # Valid bodies for the operations whose rules random data almost never satisfies.
    text = {"text": "A short, reasoned answer."}
    bodies: dict[str, dict[str, Any]] = {
        "POST /api/v1/auth/accept-invite": {
            "invite_token": pending["invite_token"],
            "password": PASSWORD,
        },
        "POST /api/v1/agencies": {
            "name": "Northern District",
            "kind": "district",
            "state": "VA",
            "parent_id": state["id"],
        },
        "POST /api/v1/agencies/{agency_id}/staff": {
            "email": "new.staff@agency.example",
            "name": "New Staff",
            "password": PASSWORD,
        },
        "POST /api/v1/organizations": {
            "name": "Fresh Partner",
            "kind": "nonprofit",
            "email": "fresh@org.example",
            "contact_name": "Fran Fresh",
            "password": PASSWORD,
            **profile,
        },
        "PATCH /api/v1/organizations/{organization_id}": {"website": "https://partner.example"},
        "POST /api/v1/rfps": {
            "template_key": "state-preferred-provider",
            "title": "Another Lead Partner RFP",
            "submission_deadline": future(),
        },
        "PATCH /api/v1/rfps/{rfp_id}": {"title": "Renamed RFP", "summary": "Shorter."},
        "POST /api/v1/rfps/{rfp_id}/addenda": text,
        "POST /api/v1/rfps/{rfp_id}/questions": text,
        "POST /api/v1/questions/{question_id}/answer": text,
        "PUT /api/v1/organizations/{organization_id}/self-audit": {"items": self_audit_items()},
        "PUT /api/v1/proposals/{proposal_id}/sections/{key}": text,
        "POST /api/v1/rfps/{rfp_id}/reviewers": {"email": reviewer.email, "name": "Reviewer"},
        "POST /api/v1/rfps/{rfp_id}/attestation": {"no_conflict": True, "confidentiality": True},
        "POST /api/v1/rfps/{rfp_id}/conflicts": {
            "organization_id": rival.organization_id,
            "reason": "I advised them last year.",
        },
        "POST /api/v1/rfps/{rfp_id}/assignments": {
            "proposal_id": under_review[0]["id"],
            "reviewer_id": pending["user_id"],
        },
        "PUT /api/v1/assignments/{assignment_id}/scores": {
            "scores": [{"criterion_key": k, "value": 3, "comment": "Solid."} for k in criteria]
        },
        "PUT /api/v1/proposals/{proposal_id}/consensus": {
            "criterion_key": criteria[0],
            "value": 3,
            "rationale": "The panel agreed.",
        },
        "POST /api/v1/rfps/{rfp_id}/finalize": {},
        "POST /api/v1/agencies/{agency_id}/schools": {
            "nces_id": "510077700099",
            "name": "New Middle School",
            "grade_low": "06",
            "grade_high": "08",
        },
        "POST /api/v1/agencies/{agency_id}/clusters": {
            "name": "North",
            "school_ids": [s["id"] for s in schools[6:]],
        },
        "POST /api/v1/clusters/{cluster_id}/preferences": {
            "organization_ids": [rival.organization_id, partner.organization_id]
        },
        "POST /api/v1/agencies/{agency_id}/matching-runs": {},
        "POST /api/v1/matches/{match_id}/decline": {"reason": "Not the right fit."},
        "PUT /api/v1/mous/{mou_id}": terms,
        "POST /api/v1/mous/{mou_id}/terminate": {"reason": "The schools closed."},
    }
    return World(
        users={role: actor.id for role, actor in actors.items()},
        pools=pools,
        emails=[a.email for a in actors.values()],
        template_keys=[t["key"] for t in templates],
        section_keys=[s["key"] for s in open_rfp["sections"]],
        attachment_keys=[a["key"] for a in open_rfp["required_attachments"]],
        bodies=bodies,
    )


def _snapshot(world: World) -> None:
    with get_engine().connect() as conn:
        for table in metadata.sorted_tables:
            if table.name not in _VOLATILE:
                world.tables[table.name] = [
                    dict(r) for r in conn.execute(table.select()).mappings()
                ]
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
        world.audit_head = (head[0], head[1])
    # Under the test run's data directory, which the session fixture removes at the end.
    world.files = Path(tempfile.mkdtemp(prefix="fuzz-files-", dir=get_settings().data_dir))
    files = get_settings().files_dir
    if files.exists():
        shutil.copytree(files, world.files, dirs_exist_ok=True)


def _restore(world: World) -> None:
    with get_engine().begin() as conn:
        for table in metadata.sorted_tables:
            rows = world.tables.get(table.name)
            if rows:
                conn.execute(table.insert(), rows)
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h"),
            {"s": world.audit_head[0], "h": world.audit_head[1]},
        )
    assert world.files is not None
    shutil.copytree(world.files, get_settings().files_dir, dirs_exist_ok=True)


_WORLD: World | None = None
_WORLD_ERROR: str | None = None


# --- steering generated requests towards the world ------------------------------------------


def _swap(rnd: random.Random, name: str, value: Any, operation_path: str) -> Any:
    world = _WORLD
    if world is None:
        return value
    if name == "key" and "rfp-templates" in operation_path:
        pool = world.template_keys
    elif name == "key":
        pool = world.attachment_keys if "attachments" in operation_path else world.section_keys
    elif name in ("username", "email"):
        pool = world.emails
    elif name == "password":
        pool = [PASSWORD]
    else:
        pool = world.pools.get(name, [])
    if not pool or rnd.random() < 0.25:
        return value
    if isinstance(value, list) and name.endswith("s"):
        return rnd.sample(pool, k=min(len(pool), rnd.randint(1, 3)))
    return rnd.choice(pool)


def _steer(case: Any, rnd: random.Random) -> Any:
    path = case.operation.path
    template = _WORLD.bodies.get(case.operation.label) if _WORLD else None
    keep: set[str] = set()
    if template is not None and isinstance(case.body, dict) and rnd.random() < 0.4:
        # A valid body, with a few of the generated fields mixed in.
        mixed = {k: v for k, v in case.body.items() if rnd.random() < 0.2}
        case.body = {**copy.deepcopy(template), **mixed}
        keep = set(template) - set(mixed)
    if case.path_parameters:
        for name, value in list(case.path_parameters.items()):
            case.path_parameters[name] = _swap(rnd, name, value, path)
    if isinstance(case.query, dict):
        for name, value in list(case.query.items()):
            case.query[name] = _swap(rnd, name, value, path)
    if isinstance(case.body, dict):
        for name, value in list(case.body.items()):
            if name not in keep:
                case.body[name] = _swap(rnd, name, value, path)
    if case.headers and "If-Match" in case.headers:
        # A generated tag never matches (412); without one, or with "*", the update goes on.
        choice = rnd.randrange(3)
        if choice == 0:
            del case.headers["If-Match"]
        elif choice == 1:
            case.headers["If-Match"] = "*"
    return case


# The coverage phase's cases are fixed at collection, out of reach of Schemathesis's hooks, so
# every case is steered here, in the test; the reports show the request as it was sent.
_RANDOM = random.Random()


# --- the fuzz tests -------------------------------------------------------------------------

_BY_ROLE: dict[str, int] = dict.fromkeys(ROLES, 0)
_BY_PHASE: dict[str, int] = {}
_BY_OPERATION: dict[str, tuple[int, float]] = {}  # label -> (requests, seconds)
_STATUSES: dict[str, Counter[int]] = {}  # label -> how often each status code came back


@dataclass
class Finding:
    """One distinct failure: who met it, how often, and the first reproduction."""

    roles: list[str]
    report: str
    count: int = 0


@dataclass
class Recorder:
    """What one operation's test sent, and each distinct failure it met."""

    label: str
    requests: int = 0
    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)

    def record(self, role: str, response: Any, group: FailureGroup) -> None:
        media_type = (response.headers.get("content-type") or [""])[0].split(";")[0]
        for failure in group.exceptions:
            key = (failure.code, failure.title, str(response.status_code), media_type)
            finding = self.findings.setdefault(key, Finding([], f"as {role}: {group.message}"))
            finding.count += 1
            if role not in finding.roles:
                finding.roles.append(role)

    def summary(self) -> str:
        parts = [f"{self.label}: {len(self.findings)} distinct failure(s)"]
        for (code, title, status, media_type), finding in self.findings.items():
            parts.append(
                f"=== {code} {title}: {status} {media_type}, {finding.count} time(s), "
                f"as {', '.join(finding.roles)}; the first:\n{finding.report}"
            )
        return "\n\n".join(parts)


@pytest.fixture
def world(clean_database: None, session_client: Any) -> World:
    global _WORLD, _WORLD_ERROR
    if _WORLD_ERROR is not None:
        pytest.fail(f"building the world failed earlier: {_WORLD_ERROR}", pytrace=False)
    if _WORLD is None:
        started = time.monotonic()
        try:
            session_client.cookies.clear()
            built = _build_world(session_client)
        except Exception as exc:  # every other test would try again, and fail the same way
            _WORLD_ERROR = f"{type(exc).__name__}: {exc}"
            raise
        _snapshot(built)
        built.seconds = time.monotonic() - started
        _WORLD = built
    else:
        # `clean_database` has just emptied everything; put the world back exactly as built.
        _restore(_WORLD)
    return _WORLD


@pytest.fixture
def recorder(request: pytest.FixtureRequest, world: World) -> Iterator[Recorder]:
    record = Recorder(getattr(request.node, "operation_label", request.node.name))
    started = time.monotonic()
    yield record
    _BY_OPERATION[record.label] = (record.requests, time.monotonic() - started)
    if record.findings:
        pytest.fail(record.summary(), pytrace=False)


def _forget_attempts() -> None:
    with get_engine().begin() as conn:
        for name in sorted(_VOLATILE - {"audit_head"}):
            conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names


def _headers(world: World, role: str) -> dict[str, str]:
    user_id = world.users.get(role)
    if user_id is None:
        return {}
    return {"Authorization": f"Bearer {create_access_token(user_id)}"}


@schema.parametrize()
def test_api(case: Any, recorder: Recorder, world: World) -> None:
    """Each generated request is sent once as every role; every response must pass the checks."""
    # The operation's label from the case: under pytest-xdist the items are all "test_api".
    recorder.label = case.operation.label
    meta = case.meta
    phase = f"{meta.phase.name.value}/{meta.generation.mode.value}" if meta else "explicit"
    _BY_PHASE[phase] = _BY_PHASE.get(phase, 0) + len(ROLES)
    statuses = _STATUSES.setdefault(recorder.label, Counter())
    _steer(case, _RANDOM)
    if "429" in case.operation.responses.status_codes:
        # Rate-limited (sign-in, sign-up): without this, the first few cases would use up the
        # allowance and every later one would only meet the 429.
        _forget_attempts()
    for role in ROLES:
        headers = _headers(world, role)
        response = case.call(headers=headers)
        recorder.requests += 1
        _BY_ROLE[role] += 1
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            recorder.record(role, response, group)


def test_request_count(capsys: pytest.CaptureFixture[str]) -> None:
    """The fuzzing above sent at least MIN_REQUESTS requests, spread over every operation."""
    expected = len(list(schema.get_all_operations()))
    total = sum(n for n, _ in _BY_OPERATION.values())
    seconds = sum(s for _, s in _BY_OPERATION.values())
    slowest = sorted(_BY_OPERATION.items(), key=lambda item: -item[1][1])[:5]
    never = sorted(label for label, c in _STATUSES.items() if not any(s < 300 for s in c))
    summary = (
        f"schemathesis: {total} requests to {len(_BY_OPERATION)} operations in {seconds:.1f}s "
        f"(the world built in {_WORLD.seconds if _WORLD else 0:.1f}s) "
        f"({EXAMPLES} fuzzing examples per operation, {COVERAGE} coverage cases); "
        f"by role: {_BY_ROLE}; "
        f"by phase: {_BY_PHASE}; slowest: "
        + ", ".join(f"{label} ({n} in {s:.1f}s)" for label, (n, s) in slowest)
        + f"; never answered 2xx: {never}"
    )
    with capsys.disabled():
        print(f"\n{summary}")  # noqa: T201
    if stats := os.environ.get("FUZZ_STATS"):  # status codes per operation, for a closer look
        Path(stats).write_text(json.dumps({k: dict(v) for k, v in _STATUSES.items()}, indent=1))
    if len(_BY_OPERATION) < expected:
        pytest.fail(
            f"only {len(_BY_OPERATION)} of {expected} operations were fuzzed; run the whole module"
        )
    assert total >= MIN_REQUESTS, summary
