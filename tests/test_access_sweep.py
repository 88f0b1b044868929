"""Who may read and write what, in every state of an RFP: the spec's table, swept.

Every object kind is read and written as every role in every lifecycle state of an RFP,
through the JSON API and through the web pages that show the same things, and each answer
is compared with the table below. The table is written from `shared/spec/product.md`
("Users and what they may do", "Lifecycles", "Procurement integrity") and the status codes
of `api.md` "Conventions": 401 without credentials, 403 for a role that may never do this,
404 for an object the caller may not see (a denied read of an existing object answers
exactly as a missing one), 409 for a wrong lifecycle state.

One world (tests/sweep_world.py) holds an RFP of the issuing agency in each state; each
test checks one state's column and reports every wrong cell at once.

Cells, one per state in the order of STATES (draft, published, cancelled before the
deadline, cancelled after it, closed, finalized):
- a status code, or several joined by "|" where the spec leaves the choice open (each such
  cell says why in a comment);
- "2xx": any success (an upload answers 201, a section save 200); a page's form that
  succeeds answers 303, a redirect;
- "in": the page asks the visitor to sign in (401, or a redirect to /sign-in);
- "-": the object does not exist in that state (no proposals in a draft, no assignments
  before the close).
A row names a role, or a group: "partners" (the four partner roles other than one named
on its own), "panel" (the three reviewers of this RFP's panel), "reviewers" (those and
the reviewer of another agency's panel), "*" (everyone not named otherwise).
"""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import _wipe
from tests.support import PDF_BYTES, Api
from tests.sweep_world import (
    ORGANIZATION_NAMES,
    PANEL_ROLES,
    PARTNER_ROLES,
    REVIEWER_ROLES,
    ROLES,
    STATES,
    Case,
    World,
    build_world,
)
from tests.web_support import Person

GROUPS = {
    "partners": PARTNER_ROLES,
    "panel": PANEL_ROLES,
    "reviewers": REVIEWER_ROLES,
    "*": ROLES,
}
SEALED = ("draft", "published", "cancelled_open", "cancelled_late")
OPENED = ("closed", "finalized")

# --- the table ---------------------------------------------------------------------------


def grid(text: str) -> dict[str, str]:
    """A table's rows, `role-or-group  cell cell ...`, as {role-or-group: cells}."""
    rows = {}
    for line in text.strip().splitlines():
        role, cells = line.split(None, 1)
        rows[role] = cells
    return rows


# Columns:                draft    open     cancel   cancel+  closed   finalized
READS: dict[str, dict[str, str]] = {
    # Anyone reads a published RFP, cancelled ones included; drafts only their agency.
    "GET /api/v1/rfps/{rfp}": grid(
        """
        staff                 200      200      200      200      200      200
        *                     404      200      200      200      200      200
        """
    ),
    # The RFP list: everyone may ask; a draft is listed to its agency only (checked below).
    "GET /api/v1/rfps?limit=200": grid(
        """
        *                     200      200      200      200      200      200
        """
    ),
    # Staff list their RFP's proposals: rows only until the close (content checked below).
    "GET /api/v1/rfps/{rfp}/proposals": grid(
        """
        anonymous             401      401      401      401      401      401
        staff                 200      200      200      200      200      200
        other_staff           404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    # Sealed bids: the own organization always; staff and the assigned reviewer from the
    # close on; cancelling never opens them. The platform admin may never read a proposal,
    # so 403 ("a role that may never do this"), where staff, partners and reviewers, who
    # may read some, get 404 for this one. The sweep also asks every such read with an id
    # that does not exist: the answer must be the same, so neither code tells anything.
    "GET /api/v1/proposals/{p1}": grid(
        """
        anonymous             -        401      401      401      401      401
        admin                 -        403      403      403      403      403
        staff                 -        404      404      404      200      200
        own_partner           -        200      200      200      200      200
        assigned_reviewer     -        404      404      404      200      200
        *                     -        404      404      404      404      404
        """
    ),
    # The numbered versions and receipts are the partner's; the spec does not say whether
    # staff or the assigned reviewer may list them once the bids are open (200 or 404).
    "GET /api/v1/proposals/{p1}/versions": grid(
        """
        anonymous             -        401      401      401      401      401
        admin                 -        403      403      403      403      403
        staff                 -        404      404      404      200|404  200|404
        own_partner           -        200      200      200      200      200
        assigned_reviewer     -        404      404      404      200|404  200|404
        *                     -        404      404      404      404      404
        """
    ),
    "GET /api/v1/attachments/{p1_attachment}": grid(
        """
        anonymous             -        401      401      401      401      401
        admin                 -        403      403      403      403      403
        staff                 -        404      404      404      200      200
        own_partner           -        200      200      200      200      200
        assigned_reviewer     -        404      404      404      200      200
        *                     -        404      404      404      404      404
        """
    ),
    # Withdrawn before the deadline: never opened, to anyone but its organization.
    "GET /api/v1/proposals/{w}": grid(
        """
        anonymous             -        401      401      401      401      401
        admin                 -        403      403      403      403      403
        withdrawn_partner     -        200      200      200      200      200
        *                     -        404      404      404      404      404
        """
    ),
    "GET /api/v1/proposals/{w}/versions": grid(
        """
        anonymous             -        401      401      401      401      401
        admin                 -        403      403      403      403      403
        withdrawn_partner     -        200      200      200      200      200
        *                     -        404      404      404      404      404
        """
    ),
    "GET /api/v1/attachments/{w_attachment}": grid(
        """
        anonymous             -        401      401      401      401      401
        admin                 -        403      403      403      403      403
        withdrawn_partner     -        200      200      200      200      200
        *                     -        404      404      404      404      404
        """
    ),
    # Partners never see reviewer identities; the panel is the agency's.
    "GET /api/v1/rfps/{rfp}/reviewers": grid(
        """
        anonymous             401      401      401      401      401      401
        staff                 200      200      200      200      200      200
        other_staff           404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    # Staff see the whole history; a panel member their own declarations.
    "GET /api/v1/rfps/{rfp}/conflicts": grid(
        """
        anonymous             401      401      401      401      401      401
        staff                 200      200      200      200      200      200
        other_staff           404      404      404      404      404      404
        panel                 200      200      200      200      200      200
        other_panel_reviewer  404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    "GET /api/v1/me/assignments": grid(
        """
        anonymous             401      401      401      401      401      401
        reviewers             200      200      200      200      200      200
        staff                 200      200      200      200      200      200
        other_staff           200      200      200      200      200      200
        *                     403      403      403      403      403      403
        """
    ),
    # An assignment's detail is the assigned reviewer's workspace. Staff score only the
    # finalist interviews of their own direct-award RFPs, so a reviewer's is 404 to them.
    "GET /api/v1/assignments/{p1_assignment}": grid(
        """
        anonymous             -        -        -        -        401      401
        assigned_reviewer     -        -        -        -        200      200
        reviewers             -        -        -        -        404      404
        staff                 -        -        -        -        404      404
        other_staff           -        -        -        -        404      404
        *                     -        -        -        -        403      403
        """
    ),
    # Results exist from the close on. A cancelled RFP is never reviewed; the spec names no
    # code for asking its results, and 409 (wrong lifecycle state) is the convention's.
    "GET /api/v1/rfps/{rfp}/results": grid(
        """
        anonymous             401      401      401      401      401      401
        staff                 409      409      409      409      200      200
        other_staff           404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    # Audit views: staff (their agency, so another agency's staff see no event) and the
    # platform admin; what the events show before the close is checked below.
    "GET /api/v1/audit?entity_id={rfp}": grid(
        """
        anonymous             401      401      401      401      401      401
        staff                 200      200      200      200      200      200
        other_staff           200      200      200      200      200      200
        admin                 200      200      200      200      200      200
        *                     403      403      403      403      403      403
        """
    ),
    "GET /api/v1/audit?entity_id={p1}": grid(
        """
        anonymous             -        401      401      401      401      401
        staff                 -        200      200      200      200      200
        other_staff           -        200      200      200      200      200
        admin                 -        200      200      200      200      200
        *                     -        403      403      403      403      403
        """
    ),
    # The debrief exists once the RFP is finalized. Before that the spec does not say
    # whether asking for it is a missing object (404) or a wrong state (409).
    "GET /api/v1/proposals/{p1}/debrief": grid(
        """
        anonymous             -        401      401      401      401      401
        own_partner           -        404|409  404|409  404|409  404|409  200
        partners              -        404      404      404      404      404
        *                     -        403      403      403      403      403
        """
    ),
    # --- the pages showing the same things ---
    "PAGE /rfps/{rfp}": grid(
        """
        staff                 200      200      200      200      200      200
        *                     404      200      200      200      200      200
        """
    ),
    "PAGE /manage/rfps/{rfp}": grid(
        """
        anonymous             in       in       in       in       in       in
        staff                 200      200      200      200      200      200
        other_staff           404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    "PAGE /manage/rfps/{rfp}/submissions": grid(
        """
        anonymous             in       in       in       in       in       in
        staff                 200      200      200      200      200      200
        other_staff           404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    "PAGE /manage/rfps/{rfp}/panel": grid(
        """
        anonymous             in       in       in       in       in       in
        staff                 200      200      200      200      200      200
        other_staff           404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    "PAGE /manage/proposals/{p1}": grid(
        """
        anonymous             -        in       in       in       in       in
        staff                 -        404      404      404      200      200
        other_staff           -        404      404      404      404      404
        *                     -        403      403      403      403      403
        """
    ),
    "PAGE /manage/proposals/{w}": grid(
        """
        anonymous             -        in       in       in       in       in
        staff                 -        404      404      404      404      404
        other_staff           -        404      404      404      404      404
        *                     -        403      403      403      403      403
        """
    ),
    # A panel member's page of the RFP. For a draft the spec says only "drafts only to
    # their agency" about RFPs, not about the panel that is being formed (200 or 404).
    "PAGE /review/rfps/{rfp}": grid(
        """
        anonymous             in       in       in       in       in       in
        panel                 200|404  200      200      200      200      200
        other_panel_reviewer  404      404      404      404      404      404
        *                     403      403      403      403      403      403
        """
    ),
    "PAGE /review/assignments/{p1_assignment}": grid(
        """
        anonymous             -        -        -        -        in       in
        assigned_reviewer     -        -        -        -        200      200
        reviewers             -        -        -        -        404      404
        staff                 -        -        -        -        404      404
        other_staff           -        -        -        -        404      404
        *                     -        -        -        -        403      403
        """
    ),
    # The partner's own proposal editor. Staff, reviewers and the admin read proposals
    # elsewhere (/manage/proposals, /review/assignments); whether this partner page
    # answers them 403 (not their kind of page) or 404 the spec does not decide.
    "PAGE /proposals/{p1}": grid(
        """
        anonymous             -        in       in       in       in       in
        own_partner           -        200      200      200      200      200
        partners              -        404      404      404      404      404
        *                     -        403|404  403|404  403|404  403|404  403|404
        """
    ),
    "PAGE /proposals/{w}": grid(
        """
        anonymous             -        in       in       in       in       in
        withdrawn_partner     -        200      200      200      200      200
        partners              -        404      404      404      404      404
        *                     -        403|404  403|404  403|404  403|404  403|404
        """
    ),
    "PAGE /attachments/{p1_attachment}": grid(
        """
        anonymous             -        in       in       in       in       in
        admin                 -        403      403      403      403      403
        staff                 -        404      404      404      200      200
        own_partner           -        200      200      200      200      200
        assigned_reviewer     -        404      404      404      200      200
        *                     -        404      404      404      404      404
        """
    ),
    "PAGE /attachments/{w_attachment}": grid(
        """
        anonymous             -        in       in       in       in       in
        admin                 -        403      403      403      403      403
        withdrawn_partner     -        200      200      200      200      200
        *                     -        404      404      404      404      404
        """
    ),
    "PAGE /proposals/{p1}/debrief": grid(
        """
        anonymous             -        in       in       in       in       in
        own_partner           -        404|409  404|409  404|409  404|409  200
        partners              -        404      404      404      404      404
        *                     -        403      403      403      403      403
        """
    ),
}

# --- the table: writes -------------------------------------------------------------------
# Run in this order; within a row the roles expected to succeed go last, so a refused
# attempt always meets the object as the world built it.
#
# Partners write only their own proposal, and only while the RFP is open for submissions
# (published, before the deadline): a cancelled RFP takes no changes. Every other role
# (staff, reviewers, the admin) may never write a proposal: 403, not 404.
OWN_WRITE = grid(
    """
    anonymous             -        401      401      401      401      401
    own_partner           -        2xx      409      409      409      409
    partners              -        404      404      404      404      404
    *                     -        403      403      403      403      403
    """
)
# The same on the partner's pages; a success redirects back to the editor.
OWN_PAGE_WRITE = grid(
    """
    anonymous             -        in       in       in       in       in
    own_partner           -        303      409      409      409      409
    partners              -        404      404      404      404      404
    *                     -        403      403      403      403      403
    """
)
WRITES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (
        "PATCH /api/v1/rfps/{rfp}",
        {"json": {"summary": "An amended summary."}},
        grid(
            """
            anonymous             401      401      401      401      401      401
            staff                 200      409      409      409      409      409
            other_staff           404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    ("PUT /api/v1/proposals/{p1}/sections/{section}", {"json": {"text": "Edited."}}, OWN_WRITE),
    ("POST /api/v1/proposals/{p1}/submit", {}, OWN_WRITE),
    (
        "POST /api/v1/proposals/{p1}/attachments",
        {
            "data": {"key": "{slot}"},
            "files": {"file": ("extra.pdf", PDF_BYTES, "application/pdf")},
        },
        OWN_WRITE,
    ),
    # The attachment just uploaded while open; the submitted one in the other states.
    ("DELETE /api/v1/attachments/{deletable}", {}, OWN_WRITE),
    # A file in its slot again (the upload replaced the submitted one), so submitting works.
    (
        "POST /api/v1/proposals/{p1}/attachments",
        {
            "data": {"key": "{slot}"},
            "files": {"file": ("again.pdf", PDF_BYTES, "application/pdf")},
        },
        OWN_WRITE,
    ),
    # Conflict declarations: the spec gives them no lifecycle rule. Declaring during the
    # draft, the open period and the review is plainly needed; after a cancellation or the
    # finalization it is either accepted or refused as a wrong state (201 or 409).
    #
    # A panel member declares their own conflict with an organization that did not apply
    # (staff name the reviewer: the next row).
    (
        "POST /api/v1/rfps/{rfp}/conflicts",
        {"json": {"organization_id": "{org_unrelated}", "reason": "A former employer."}},
        grid(
            """
            anonymous             401      401      401      401      401      401
            unassigned_reviewer   201      201      201|409  201|409  201      201|409
            other_panel_reviewer  404      404      404      404      404      404
            staff                 -        -        -        -        -        -
            other_staff           -        -        -        -        -        -
            panel                 -        -        -        -        -        -
            *                     403      403      403      403      403      403
            """
        ),
    ),
    # Staff record a conflict for the unassigned reviewer; another reviewer may not.
    (
        "POST /api/v1/rfps/{rfp}/conflicts",
        {
            "json": {
                "organization_id": "{org_withdrawn}",
                "reviewer_id": "{unassigned_reviewer}",
                "reason": "Staff know of a family tie.",
            }
        },
        grid(
            """
            anonymous             401      401      401      401      401      401
            staff                 201      201      201|409  201|409  201      201|409
            other_staff           404      404      404      404      404      404
            unassigned_reviewer   -        -        -        -        -        -
            panel                 403      403      403      403      403      403
            other_panel_reviewer  404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    # The same refusal on the reviewer's page: the named reviewer cannot withdraw it there.
    (
        "FORM /review/rfps/{rfp}/conflicts",
        {"data": {"organization_id": "{org_withdrawn}", "reason": "", "withdraw": "yes"}},
        grid(
            """
            anonymous             in       in       in       in       in       in
            unassigned_reviewer   403      403      403      403      403      403
            panel                 -        -        -        -        -        -
            other_panel_reviewer  404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    # A declaration made by staff is withdrawn only by staff: not by the reviewer it names.
    (
        "POST /api/v1/rfps/{rfp}/conflicts",
        {
            "json": {
                "organization_id": "{org_withdrawn}",
                "reviewer_id": "{unassigned_reviewer}",
                "withdraw": True,
            }
        },
        grid(
            """
            anonymous             401      401      401      401      401      401
            staff                 201      201      201|409  201|409  201      201|409
            other_staff           404      404      404      404      404      404
            panel                 403      403      403      403      403      403
            other_panel_reviewer  404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    # A reviewer's own declaration is withdrawn only by that reviewer. The spec lets staff
    # withdraw staff declarations; it gives them no power over a reviewer's own (403).
    (
        "POST /api/v1/rfps/{rfp}/conflicts",
        {
            "json": {
                "organization_id": "{org_unrelated}",
                "reviewer_id": "{unassigned_reviewer}",
                "withdraw": True,
            }
        },
        grid(
            """
            anonymous             401      401      401      401      401      401
            unassigned_reviewer   201      201      201|409  201|409  201      201|409
            staff                 403      403      403      403      403      403
            other_staff           404      404      404      404      404      404
            panel                 403      403      403      403      403      403
            other_panel_reviewer  404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    # Nor may staff undo the conflict the conflicted reviewer declared themselves.
    (
        "POST /api/v1/rfps/{rfp}/conflicts",
        {
            "json": {
                "organization_id": "{org_own}",
                "reviewer_id": "{conflicted_reviewer}",
                "withdraw": True,
            }
        },
        grid(
            """
            staff                 403      403      403      403      403      403
            """
        ),
    ),
    # A reviewer declares on their page (the bystander organization again).
    (
        "FORM /review/rfps/{rfp}/conflicts",
        {
            "data": {
                "organization_id": "{org_unrelated}",
                "reason": "Advised them.",
                "withdraw": "no",
            }
        },
        grid(
            """
            anonymous             in       in       in       in       in       in
            unassigned_reviewer   303      303      303|409  303|409  303      303|409
            panel                 -        -        -        -        -        -
            other_panel_reviewer  404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    (
        "PUT /api/v1/assignments/{p1_assignment}/scores",
        {"json": {"scores": [{"criterion_key": "{criterion}", "value": 3, "comment": "Fine."}]}},
        grid(
            """
            anonymous             -        -        -        -        401      401
            assigned_reviewer     -        -        -        -        200      409
            reviewers             -        -        -        -        404      404
        staff                 -        -        -        -        404      404
        other_staff           -        -        -        -        404      404
            staff                 -        -        -        -        404      404
            other_staff           -        -        -        -        404      404
            *                     -        -        -        -        403      403
            """
        ),
    ),
    (
        "PUT /api/v1/proposals/{p1}/consensus",
        {"json": {"criterion_key": "{criterion}", "value": 3, "rationale": "The panel agreed."}},
        grid(
            """
            anonymous             -        401      401      401      401      401
            staff                 -        409      409      409      200      409
            other_staff           -        404      404      404      404      404
            *                     -        403      403      403      403      403
            """
        ),
    ),
    # A proposal withdrawn before the deadline is never reviewed.
    (
        "PUT /api/v1/proposals/{w}/consensus",
        {"json": {"criterion_key": "{criterion}", "value": 3, "rationale": "The panel agreed."}},
        grid(
            """
            anonymous             -        401      401      401      401      401
            staff                 -        404      404      404      404      404
            other_staff           -        404      404      404      404      404
            *                     -        403      403      403      403      403
            """
        ),
    ),
    # The same writes through the pages (a success answers with a redirect).
    (
        "FORM /review/assignments/{p1_assignment}",
        {"data": {"score.{criterion}": "3", "comment.{criterion}": "Fine on the page."}},
        grid(
            """
            anonymous             -        -        -        -        in       in
            assigned_reviewer     -        -        -        -        303      409
            reviewers             -        -        -        -        404      404
        staff                 -        -        -        -        404      404
        other_staff           -        -        -        -        404      404
            staff                 -        -        -        -        404      404
            other_staff           -        -        -        -        404      404
            *                     -        -        -        -        403      403
            """
        ),
    ),
    (
        "FORM /manage/rfps/{rfp}/consensus",
        {
            "data": {
                "proposal_id": "{p1}",
                "criterion_key": "{criterion}",
                "value": "3",
                "rationale": "Agreed on the page.",
            }
        },
        grid(
            """
            anonymous             -        in       in       in       in       in
            staff                 -        409      409      409      303      409
            other_staff           -        404      404      404      404      404
            *                     -        403      403      403      403      403
            """
        ),
    ),
    (
        "FORM /manage/rfps/{rfp}/finalize",
        {"data": {"valid_until": ""}},
        grid(
            """
            anonymous             in       in       in       in       in       in
            staff                 409      409      409      409      409      409
            other_staff           404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    (
        "FORM /proposals/{p1}/sections",
        # The editor posts every section's text at once, as the page's form does.
        {"data": {"every_section": "Edited on the page."}},
        OWN_PAGE_WRITE,
    ),
    ("FORM /proposals/{p1}/submit", {"data": {}}, OWN_PAGE_WRITE),
    # Finalizing needs a closed RFP whose reviews are all submitted: the closed world's are
    # not (409); the finalized world was finalized by its staff while building it.
    (
        "POST /api/v1/rfps/{rfp}/finalize",
        {},
        grid(
            """
            anonymous             401      401      401      401      401      401
            staff                 409      409      409      409      409      409
            other_staff           404      404      404      404      404      404
            *                     403      403      403      403      403      403
            """
        ),
    ),
    # Last: the own partner's withdrawal ends the open world's proposal; the page's first,
    # then (refused, the proposal being withdrawn already) the API's.
    ("FORM /proposals/{p1}/withdraw", {"data": {}}, OWN_PAGE_WRITE),
    (
        "POST /api/v1/proposals/{p1}/withdraw",
        {},
        grid(
            """
            anonymous             -        401      401      401      401      401
            own_partner           -        409      409      409      409      409
            partners              -        404      404      404      404      404
            *                     -        403      403      403      403      403
            """
        ),
    ),
]

# Objects of the other agency (a district): its schools and clusters are its staff's alone.
AGENCY_READS: dict[str, dict[str, str]] = {
    path: grid(
        """
        anonymous             401
        other_staff           200
        staff                 404
        *                     403
        """
    )
    for path in (
        "GET /api/v1/agencies/{agency_b}/schools",
        "GET /api/v1/agencies/{agency_b}/clusters",
        "GET /api/v1/clusters/{cluster_b}",
    )
}
MISSING_ID = "00000000000000000000000000000000"


# --- reading the table -------------------------------------------------------------------


def expected_cells(row: dict[str, str], role: str) -> list[str]:
    """The role's cells of a row: its own line, else its smallest group's, else '*'."""
    for key in (role, *(g for g, members in GROUPS.items() if role in members)):
        if key in row:
            return row[key].split()
    raise KeyError(f"no cell for {role}")


def matches(cell: str, response: httpx.Response) -> bool:
    if cell == "in":
        location = response.headers.get("location", "")
        return response.status_code == 401 or (
            response.status_code in (302, 303) and "/sign-in" in location
        )
    return any(
        200 <= response.status_code < 300 if code == "2xx" else response.status_code == int(code)
        for code in cell.split("|")
    )


def test_every_line_of_the_table_has_a_cell_per_state() -> None:
    rows = [*READS.items(), *((name, row) for name, _, row in WRITES)]
    for name, row in rows:
        assert "*" in row or len(row) == 1, f"{name}: say what everyone else gets"
        for who, cells in row.items():
            assert who in ROLES or who in GROUPS, f"{name}: unknown role {who}"
            assert len(cells.split()) == len(STATES), f"{name}, {who}: {cells}"


# --- the world, built once ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_database() -> Iterator[None]:
    # The sweep's world is built once for the module (wiped first, below), not per test.
    yield


@pytest.fixture(scope="module")
def world(session_client: httpx.Client) -> World:
    _wipe()
    session_client.cookies.clear()
    return build_world(Api(session_client))


class Visitors:
    """One browser per role, signed in on first use."""

    def __init__(self, world: World, case: Case) -> None:
        self.world = world
        self.case = case
        self.people: dict[str, Person] = {}

    def __call__(self, role: str) -> Person:
        if role not in self.people:
            person = Person(self.world.api.client)
            actor = self.world.actor(self.case, role)
            if actor is not None:
                person.sign_in(actor.email)
            # The token of the visitor's own session, from a page they may see.
            page = person.client.get("/sign-in" if actor is None else "/dashboard")
            person.token = re.findall(r'name="csrf_token" value="([^"]*)"', page.text)[0]
            self.people[role] = person
        return self.people[role]


def placeholders(world: World, case: Case) -> dict[str, str]:
    actors = world.actors
    values = {
        "rfp": case.rfp["id"],
        "section": case.rfp["sections"][0]["key"],
        "slot": case.rfp["required_attachments"][0]["key"],
        "criterion": case.rfp["criteria"][0]["key"],
        "org_own": actors["own_partner"].organization_id or "",
        "org_unrelated": actors["unrelated_partner"].organization_id or "",
        "org_withdrawn": actors["withdrawn_partner"].organization_id or "",
        **{role: reviewer.id for role, reviewer in case.reviewers.items()},
        **world.other_ids,
        **case.ids,
    }
    values["deletable"] = case.ids.get("p1_extra") or case.ids.get("p1_attachment", "")
    return values


def fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {fill(k, values): fill(v, values) for k, v in template.items()}
    if isinstance(template, tuple) and len(template) == 3 and isinstance(template[1], bytes):
        return template  # a file to upload
    if isinstance(template, list | tuple):
        return type(template)(fill(v, values) for v in template)
    return template


def needed(template: str, values: dict[str, str]) -> bool:
    return all(name in values for name in re.findall(r"\{(\w+)\}", template))


# --- what a 200 may contain --------------------------------------------------------------


def content_readers(case: Case) -> dict[str, set[str]]:
    """Which roles may see each proposal's words (its section text and file names)."""
    readers = {"p1": {"own_partner"}, "p2": {"rival_partner"}, "w": {"withdrawn_partner"}}
    if case.state in OPENED:
        readers["p1"] |= {"staff", "assigned_reviewer"}
        readers["p2"] |= {"staff", "unassigned_reviewer"}
    return readers


def applicants_known_to(case: Case, role: str) -> set[str]:
    """Applicants a reviewer may learn of: the organizations of their own assignments after
    the close, and those they declared a conflict with themselves."""
    known = {"own_partner"} if role == "conflicted_reviewer" else set()
    if case.state in OPENED:
        known |= {
            "assigned_reviewer": {"own_partner"},
            "unassigned_reviewer": {"rival_partner"},
        }.get(role, set())
    return known


def leaks(world: World, case: Case, role: str, path: str, body: str) -> list[str]:
    """What a successful answer shows that the role may not see."""
    found = []
    readers = content_readers(case)
    for key, marker in case.markers.items():
        if marker in body and role not in readers[key]:
            found.append(f"the words of proposal {key}")
    if role == "anonymous" or role in PARTNER_ROLES:
        for reviewer in [*case.reviewers.values(), world.actors["other_panel_reviewer"]]:
            if reviewer.email in body or reviewer.id in body or reviewer.extra["name"] in body:
                found.append(f"the identity of reviewer {reviewer.extra['name']}")
    # Reviewers learn who applied only through their own assignments and declarations. The
    # preferred-provider list of a finalized RFP is public, its members' names with it.
    if role in REVIEWER_ROLES and case.state != "draft":
        known = applicants_known_to(case, role)
        applicants = ("own_partner", "rival_partner", "withdrawn_partner")
        if case.state == "finalized":
            applicants = ("withdrawn_partner",)
        for partner in applicants:
            organization_id = world.actors[partner].organization_id or ""
            if partner not in known and (
                ORGANIZATION_NAMES[partner] in body or organization_id in body
            ):
                found.append(f"that {ORGANIZATION_NAMES[partner]} applied")
    return sorted(set(found))


# api.md: before the close "only {organization_id, organization_name, status, submitted_at}
# rows"; the proposal's and its RFP's own ids and other times add nothing.
SEALED_ROW_KEYS = {"id", "rfp_id", "organization_id", "organization_name", "status"}
SENSITIVE_DATA = re.compile(r"word|length|size|sha|hash|receipt|file|text|section|attach", re.I)


def content_problems(
    world: World, case: Case, role: str, name: str, response: httpx.Response
) -> list[str]:
    """Rules about what an allowed answer contains, beyond its status."""
    problems: list[str] = []
    if name == "GET /api/v1/rfps/{rfp}/proposals" and role == "staff":
        for item in response.json()["items"]:
            allowed = SEALED_ROW_KEYS | {k for k in item if k.endswith("_at")}
            sealed = case.state in SEALED or item["id"] == case.ids.get("w")
            # An empty field shows nothing; a filled one beyond the row's own does.
            extra = {k for k in set(item) - allowed if item[k] not in (None, "", [], {})}
            if sealed and extra:
                problems.append(f"row of {item['organization_name']} shows {sorted(extra)}")
        if case.state in OPENED:
            opened = {i["id"] for i in response.json()["items"] if i.get("sections")}
            if case.ids["p1"] not in opened:
                problems.append("the bids are still sealed after the close")
    if name.startswith("GET /api/v1/audit") and role in ("staff", "admin", "other_staff"):
        events = response.json()["items"]
        if role == "other_staff" and events:
            problems.append(f"{len(events)} event(s) of another agency")
        partner_ids = {world.actors[r].id for r in PARTNER_ROLES}
        for event in events:
            if event["actor_id"] in partner_ids and case.state in SEALED:
                shown = sorted(k for k in event["data"] if SENSITIVE_DATA.search(k))
                if shown:
                    problems.append(f"{event['action']} shows {shown} before the close")
        after_close = role == "staff" and case.state in OPENED and name.endswith("{p1}")
        if after_close and not any(e["actor_id"] in partner_ids for e in events):
            problems.append("no partner event of the RFP after the close")
    if name == "GET /api/v1/me/assignments" and role in REVIEWER_ROLES:
        got = {a["id"] for a in response.json()["items"] if a["rfp_id"] == case.rfp["id"]}
        want = set()
        if case.state in OPENED and role == "assigned_reviewer":
            want = {case.ids["p1_assignment"]}
        if case.state in OPENED and role == "unassigned_reviewer":
            want = {case.ids["p2_assignment"]}
        if got != want:
            problems.append(f"assignments {sorted(got)}, expected {sorted(want)}")
    if name == "GET /api/v1/rfps/{rfp}/conflicts" and role in PANEL_ROLES:
        me = case.reviewers[role].id
        others = [c for c in response.json()["items"] if c["reviewer_id"] != me]
        if others:
            problems.append(f"{len(others)} declaration(s) of other reviewers")
    if name.startswith("GET /api/v1/rfps?"):
        listed = case.rfp["id"] in {r["id"] for r in response.json()["items"]}
        if listed != (case.state != "draft" or role == "staff"):
            problems.append("the RFP is listed" if listed else "the RFP is not listed")
    if name == "GET /api/v1/rfps/{rfp}/results" and case.ids.get("w", "-") in response.text:
        problems.append("the withdrawn proposal is among the results")
    return problems


# --- the sweep ---------------------------------------------------------------------------


def send(
    world: World,
    case: Case,
    visit: Visitors,
    role: str,
    name: str,
    values: dict[str, str],
    request: dict[str, Any] | None = None,
) -> httpx.Response:
    method, template = name.split(" ", 1)
    path = fill(template, values)
    if method == "PAGE":
        return visit(role).client.get(path, follow_redirects=False)
    if method == "FORM":
        person = visit(role)
        data = {**fill(request or {}, values).get("data", {}), "csrf_token": person.token}
        if "every_section" in data:
            text = data.pop("every_section")
            data.update({f"section.{s['key']}": text for s in case.rfp["sections"]})
        return person.client.post(path, data=data, follow_redirects=False)
    actor = world.actor(case, role)
    headers = actor.headers if actor else {}
    return world.api.client.request(method, path, headers=headers, **fill(request or {}, values))


def problem(response: httpx.Response) -> dict[str, Any]:
    """A problem answer without its request id: what tells one refusal from another."""
    body = response.json()
    return {k: v for k, v in body.items() if k != "request_id"}


def describe(response: httpx.Response) -> str:
    text = response.text if "html" not in response.headers.get("content-type", "") else ""
    return f"{response.status_code} {text[:160]}".strip()


def sweep(world: World, case: Case) -> list[str]:
    column = STATES.index(case.state)
    values = placeholders(world, case)
    visit = Visitors(world, case)
    mismatches: list[str] = []

    def check(role: str, name: str, cell: str, response: httpx.Response) -> None:
        verb = "reading" if name.startswith(("GET", "PAGE")) else "doing"
        where = f"{role} {verb} {name} in state {case.state}"
        if not matches(cell, response):
            mismatches.append(f"{where}: expected {cell}, got {describe(response)}")
            return
        if response.status_code == 200 and name.startswith(("GET", "PAGE")):
            body = response.text
            for leak in leaks(world, case, role, name, body):
                mismatches.append(f"{where}: the answer shows {leak}")
            if name.startswith("GET") and "json" in response.headers.get("content-type", ""):
                for issue in content_problems(world, case, role, name, response):
                    mismatches.append(f"{where}: {issue}")

    for name, row in READS.items():
        for role in ROLES:
            try:
                cell = expected_cells(row, role)[column]
            except KeyError:
                continue
            if cell == "-" or not needed(name, values):
                continue
            response = send(world, case, visit, role, name, values)
            check(role, name, cell, response)
            # A denied read of an object that exists answers as one that does not exist.
            method, template = name.split(" ", 1)
            ids = re.findall(r"/\{(\w+)\}", template)
            denied = response.status_code in (401, 403) or matches("in", response)
            if method in ("GET", "PAGE") and ids and not denied:
                missing = dict(values, **{ids[-1]: MISSING_ID})
                again = send(world, case, visit, role, name, missing)
                if again.status_code != 404:
                    mismatches.append(
                        f"{role} reading {name} in state {case.state} with an id that does not "
                        f"exist: expected 404, got {describe(again)}"
                    )
                elif (
                    method == "GET"
                    and cell == "404"
                    and response.status_code == 404
                    and problem(again) != problem(response)
                ):
                    mismatches.append(
                        f"{role} reading {name} in state {case.state}: the 404 differs from a "
                        f"missing one's: {problem(response)} / {problem(again)}"
                    )

    for name, request, row in WRITES:
        roles = sorted(
            ROLES,
            key=lambda r: (
                matches_success(expected_cells(row, r)[column]) if has_cell(row, r) else False
            ),
        )
        for role in roles:
            if not has_cell(row, role):
                continue
            cell = expected_cells(row, role)[column]
            if cell == "-" or not needed(name, values) or not needed(str(request), values):
                continue
            response = send(world, case, visit, role, name, values, request)
            check(role, name, cell, response)
            if name.endswith("/attachments") and response.status_code == 201:
                values["deletable"] = values["p1_extra"] = response.json()["id"]
    for person in visit.people.values():
        person.client.close()
    return mismatches


def has_cell(row: dict[str, str], role: str) -> bool:
    try:
        expected_cells(row, role)
    except KeyError:
        return False
    return True


def matches_success(cell: str) -> bool:
    """Does the cell expect the write to succeed (a page's form answers with a redirect)?"""
    return any(code.startswith("2") or code == "303" for code in cell.split("|"))


@pytest.mark.parametrize("state", STATES)
def test_every_role_reads_and_writes_as_the_spec_says(world: World, state: str) -> None:
    mismatches = sweep(world, world.cases[state])
    assert not mismatches, f"{len(mismatches)} cell(s) differ from the spec:\n" + "\n".join(
        mismatches
    )


def test_another_agencys_schools_and_clusters(world: World) -> None:
    case = world.cases["published"]
    values = placeholders(world, case)
    visit = Visitors(world, case)
    mismatches = []
    for name, row in AGENCY_READS.items():
        for role in ROLES:
            cell = expected_cells(row, role)[0]
            response = send(world, case, visit, role, name, values)
            if not matches(cell, response):
                mismatches.append(
                    f"{role} reading {name}: expected {cell}, got {describe(response)}"
                )
    assert not mismatches, "\n".join(mismatches)
