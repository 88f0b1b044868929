"""The world of the access sweep: two agencies, four applicant organizations, three panels'
worth of reviewers, and one RFP of the issuing agency in each lifecycle state.

Everything goes through the public API, as a client would; only the passing of time
(`pass_deadline`) touches the database. Built once for the whole sweep: each RFP and its
proposals, reviewers and assignments belong to one state, so the checks of one state never
disturb another's.
"""

from dataclasses import dataclass, field
from typing import Any

from tests.support import (
    PDF_BYTES,
    Actor,
    Api,
    complete_self_audit,
    create_rfp,
    future,
    invited_reviewer,
    pass_deadline,
    published_rfp,
)

STATES = ("draft", "published", "cancelled_open", "cancelled_late", "closed", "finalized")
PARTNER_ROLES = ("own_partner", "rival_partner", "unrelated_partner", "withdrawn_partner")
PANEL_ROLES = ("assigned_reviewer", "unassigned_reviewer", "conflicted_reviewer")
REVIEWER_ROLES = (*PANEL_ROLES, "other_panel_reviewer")
ROLES = (
    "anonymous",
    "admin",
    "staff",
    "other_staff",
    *PARTNER_ROLES,
    *REVIEWER_ROLES,
)
# Organization names that no other name contains, so a page's text can be searched for them.
ORGANIZATION_NAMES = {
    "own_partner": "Applicant Quokka Trust",
    "rival_partner": "Rival Wombat Partners",
    "unrelated_partner": "Bystander Numbat Group",
    "withdrawn_partner": "Retreating Bilby League",
}


@dataclass
class Case:
    """One RFP of the issuing agency in one lifecycle state, and what hangs off it."""

    state: str
    rfp: dict[str, Any]
    reviewers: dict[str, Actor] = field(default_factory=dict)
    # The own partner's proposal ("p1"), the rival's ("p2"), the one withdrawn before the
    # deadline ("w"), an attachment of p1 and of w, and the assignments of p1 and p2.
    ids: dict[str, str] = field(default_factory=dict)
    # Words written only into one proposal's section text and attachment file names.
    markers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    api: Api
    actors: dict[str, Actor]  # every signed-in role but the per-RFP panel reviewers
    other_agency: dict[str, Any]
    other_ids: dict[str, str]
    cases: dict[str, Case]

    def actor(self, case: Case, role: str) -> Actor | None:
        if role == "anonymous":
            return None
        return case.reviewers.get(role) or self.actors[role]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return dict(response.json()) if response.content else {}


def _reviewer(api: Api, staff: Actor, rfp_id: str, name: str) -> Actor:
    """A panel member who attested, with an email made from the name."""
    email = f"{name.lower().replace(' ', '.')}@panel.example"
    return invited_reviewer(api, staff, rfp_id, email=email, name=name)


def _submitted(
    api: Api, partner: Actor, rfp: dict[str, Any], marker: str
) -> tuple[dict[str, Any], str]:
    """A complete, submitted proposal whose first section and file names carry `marker`."""
    proposal = _ok(
        api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers), 201
    )
    for index, section in enumerate(rfp["sections"]):
        words = ["word"] * min(40, section["word_limit"] - 1)
        if index == 0:
            words[0] = marker
        _ok(
            api.client.put(
                f"/api/v1/proposals/{proposal['id']}/sections/{section['key']}",
                json={"text": " ".join(words)},
                headers=partner.headers,
            )
        )
    attachment_ids = []
    for slot in rfp["required_attachments"]:
        uploaded = _ok(
            api.client.post(
                f"/api/v1/proposals/{proposal['id']}/attachments",
                data={"key": slot["key"]},
                files={"file": (f"{marker}-{slot['key']}.pdf", PDF_BYTES, "application/pdf")},
                headers=partner.headers,
            ),
            201,
        )
        attachment_ids.append(uploaded["id"])
    complete_self_audit(api, partner)
    _ok(api.client.post(f"/api/v1/proposals/{proposal['id']}/submit", headers=partner.headers))
    return proposal, attachment_ids[0]


def _case(api: Api, actors: dict[str, Actor], state: str) -> Case:
    staff = actors["staff"]
    if state == "draft":
        rfp = create_rfp(api, staff, reviewers_per_proposal=1, submission_deadline=future())
    else:
        rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    case = Case(state=state, rfp=rfp)
    tag = state.replace("_", "")
    for role in PANEL_ROLES:
        name = f"Judge {role.split('_')[0].title()} {tag.title()}"
        case.reviewers[role] = _reviewer(api, staff, rfp["id"], name)
    # The conflicted reviewer declares the conflict themselves, before anyone applies.
    _ok(
        api.client.post(
            f"/api/v1/rfps/{rfp['id']}/conflicts",
            json={
                "organization_id": actors["own_partner"].organization_id,
                "reason": "I sit on its board.",
            },
            headers=case.reviewers["conflicted_reviewer"].headers,
        ),
        201,
    )
    if state == "draft":
        return case
    for key, role in (("p1", "own_partner"), ("p2", "rival_partner"), ("w", "withdrawn_partner")):
        case.markers[key] = f"zq{key}{tag}marker"
        proposal, attachment_id = _submitted(api, actors[role], rfp, case.markers[key])
        case.ids[key] = proposal["id"]
        case.ids[f"{key}_attachment"] = attachment_id
    _ok(
        api.client.post(
            f"/api/v1/proposals/{case.ids['w']}/withdraw",
            headers=actors["withdrawn_partner"].headers,
        )
    )
    if state.startswith("cancelled"):
        _ok(api.client.post(f"/api/v1/rfps/{rfp['id']}/cancel", headers=staff.headers))
        if state == "cancelled_late":
            pass_deadline(rfp["id"])
        return case
    if state == "published":
        return case
    pass_deadline(rfp["id"])
    for key, role in (("p1", "assigned_reviewer"), ("p2", "unassigned_reviewer")):
        assignment = _ok(
            api.client.post(
                f"/api/v1/rfps/{rfp['id']}/assignments",
                json={"proposal_id": case.ids[key], "reviewer_id": case.reviewers[role].id},
                headers=staff.headers,
            ),
            201,
        )
        case.ids[f"{key}_assignment"] = assignment["id"]
    if state == "closed":
        return case
    for key, role in (("p1", "assigned_reviewer"), ("p2", "unassigned_reviewer")):
        reviewer = case.reviewers[role]
        assignment_id = case.ids[f"{key}_assignment"]
        scores = [
            {"criterion_key": c["key"], "value": 3, "comment": "Reasoned comment."}
            for c in rfp["criteria"]
        ]
        _ok(
            api.client.put(
                f"/api/v1/assignments/{assignment_id}/scores",
                json={"scores": scores},
                headers=reviewer.headers,
            )
        )
        _ok(
            api.client.post(f"/api/v1/assignments/{assignment_id}/submit", headers=reviewer.headers)
        )
    _ok(api.client.post(f"/api/v1/rfps/{rfp['id']}/finalize", headers=staff.headers))
    return case


def build_world(api: Api) -> World:
    actors: dict[str, Actor] = {"admin": api.admin}
    issuing = api.agency("state", "VA")
    actors["staff"] = api.staff(issuing["id"])
    # The other agency is a district of another state, so it has schools and clusters.
    other_state = api.agency("state", "MD")
    other = api.agency("district", "MD", parent_id=other_state["id"], nces_id="2400001")
    actors["other_staff"] = api.staff(other["id"])
    for role, name in ORGANIZATION_NAMES.items():
        actors[role] = api.partner(name=name)
    other_rfp = published_rfp(api, actors["other_staff"], template="district-cluster-partner")
    actors["other_panel_reviewer"] = _reviewer(
        api, actors["other_staff"], other_rfp["id"], "Judge Elsewhere"
    )
    school_ids = []
    for n in range(1, 4):
        school = _ok(
            api.client.post(
                f"/api/v1/agencies/{other['id']}/schools",
                json={
                    "nces_id": f"2400001{n:05d}",
                    "name": f"Sweep Middle School {n}",
                    "grade_low": "06",
                    "grade_high": "08",
                    "enrollment": 400,
                    "poverty_rate": 0.8,
                    "needs": ["human_capital"],
                },
                headers=actors["other_staff"].headers,
            ),
            201,
        )
        school_ids.append(school["id"])
    cluster = _ok(
        api.client.post(
            f"/api/v1/agencies/{other['id']}/clusters",
            json={"name": "Sweep Cluster", "school_ids": school_ids},
            headers=actors["other_staff"].headers,
        ),
        201,
    )
    cases = {state: _case(api, actors, state) for state in STATES}
    return World(
        api=api,
        actors=actors,
        other_agency=other,
        other_ids={"agency_b": other["id"], "cluster_b": cluster["id"], "rfp_b": other_rfp["id"]},
        cases=cases,
    )
