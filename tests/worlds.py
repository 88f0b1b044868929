"""Starting worlds for the tests that begin after a stage of the pipeline: a finalized
preferred-provider list, an accepted match, a drafted MOU.

Built by the same service functions the routes call, in one session, instead of replaying
the stage's requests (a finalized list alone was about 60 over HTTP). The tests then use
real HTTP for the behaviour they are about. As Polar's `save_fixture`: no shortcuts past
the rules (every step is checked and audited as in a request), only past the transport.
Each service commits its own step, as it does for a request, so its after-commit work (the
audit anchor, the notices) runs as usual and a live server sees every row.

The people (staff, partners) are made over HTTP by `tests.support.Api` and passed in.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core.db import get_engine
from app.core.storage import get_storage
from app.core.uploads import UploadedFile
from app.matching import service as matching_service
from app.mous import service as mou_service
from app.proposals import attachments as attachment_service
from app.proposals import service as proposal_service
from app.proposals import submission as submission_service
from app.reviews import assignments as assignment_service
from app.reviews import finalization as finalization_service
from app.reviews import panel as panel_service
from app.reviews import scores as score_service
from app.reviews.schemas import AttestationCreate, ReviewerInvite, ScoreItem, ScoresWrite
from app.rfps import service as rfp_service
from app.rfps.models import Rfp
from app.rfps.schemas import RfpCreate
from app.schools import service as school_service
from app.schools.schemas import ClusterCreate, SchoolCreate, SchoolRead
from app.self_audit import service as self_audit_service
from app.self_audit.schemas import SelfAuditWrite
from tests.support import PASSWORD, PDF_BYTES, Actor, Api, self_audit_items, unique


def _session() -> Session:
    # Objects stay readable after each service's commit, as the world goes on using them.
    return Session(get_engine(), expire_on_commit=False)


def _user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.id)
    assert user is not None, actor.email
    return user


def _pdf_upload(key: str) -> UploadedFile:
    """A small PDF as the upload parser leaves it: a temporary file, hashed."""
    path = get_storage().temp_path()
    path.write_bytes(PDF_BYTES)
    return UploadedFile(
        path=path,
        filename="file.pdf",
        size=len(PDF_BYTES),
        sha256=hashlib.sha256(PDF_BYTES).hexdigest(),
        declared_type="application/pdf",
        fields={"key": key},
    )


def _submit_complete_proposal(
    session: Session, partner: User, rfp: Rfp, clusters: list[str] | None = None
) -> None:
    """What `tests.support.submitted_proposal` does over HTTP: every section written,
    every attachment uploaded, the self-audit complete, the `clusters` ranked, submitted."""
    proposal = proposal_service.create_proposal(session=session, actor=partner, rfp_id=rfp.id)
    if clusters is not None:
        proposal_service.set_clusters(
            session=session,
            actor=partner,
            proposal_id=proposal.id,
            cluster_ids=clusters,
            if_match=None,
        )
    content = rfp_service.content_of(rfp)
    for section in content.sections:
        proposal_service.save_section(
            session=session,
            actor=partner,
            proposal_id=proposal.id,
            key=section.key,
            text=" ".join(["word"] * min(50, section.word_limit)),
            if_match=None,
        )
    for slot in content.required_attachments:
        upload = _pdf_upload(slot.key)
        try:
            attachment_service.add(
                session=session, actor=partner, proposal_id=proposal.id, upload=upload
            )
        finally:
            upload.path.unlink(missing_ok=True)
    assert partner.organization_id is not None
    self_audit_service.save(
        session=session,
        actor=partner,
        organization_id=partner.organization_id,
        data=SelfAuditWrite.model_validate({"items": self_audit_items()}),
    )
    submission_service.submit(
        session=session, actor=partner, proposal_id=proposal.id, idempotency_key=None
    )


def _pass_deadline(session: Session, rfp: Rfp) -> None:
    """Let time pass, as `tests.support.pass_deadline` does: the deadline moves into the past."""
    rfp.submission_deadline = datetime(2000, 1, 1, tzinfo=UTC)
    session.add(rfp)
    session.commit()


def reviewed_rfp(
    staff_actor: Actor,
    partners: list[Actor],
    levels: Sequence[int | list[int]],
    *,
    template: str = "state-preferred-provider",
    clusters: list[list[str]] | None = None,
    **settings: Any,
) -> Rfp:
    """An RFP published from `template` (with `settings` over it), every partner's complete
    proposal submitted (for a direct award, ranking its `clusters`), the deadline passed, and
    one reviewer (signs in with PASSWORD) scoring each, ready to finalize.

    `levels` gives each partner's level on every criterion, or a list per criterion."""
    with _session() as session:
        staff = _user(session, staff_actor)
        rfp = rfp_service.create_rfp(
            session=session,
            actor=staff,
            data=RfpCreate.model_validate(
                {
                    "template_key": template,
                    "title": unique("Lead Partner RFP "),
                    "submission_deadline": datetime.now(UTC) + timedelta(days=30),
                    "reviewers_per_proposal": 1,
                    **settings,
                }
            ),
        )
        rfp = rfp_service.publish(session=session, actor=staff, rfp_id=rfp.id)
        criteria = rfp_service.content_of(rfp).criteria
        by_organization: dict[str | None, list[int]] = {}
        for n, (partner, level) in enumerate(zip(partners, levels, strict=True)):
            ranked = clusters[n] if clusters else None
            _submit_complete_proposal(session, _user(session, partner), rfp, ranked)
            row = level if isinstance(level, list) else [level] * len(criteria)
            by_organization[partner.organization_id] = row
        _pass_deadline(session, rfp)
        _one_reviewer_scores(session, staff, rfp, by_organization)
        return rfp


def _one_reviewer_scores(
    session: Session, staff: User, rfp: Rfp, by_organization: dict[str | None, list[int]]
) -> None:
    """One reviewer (signs in with PASSWORD) joins the panel, attests and scores every
    proposal at its organization's levels, after the deadline."""
    criteria = rfp_service.content_of(rfp).criteria
    invited = panel_service.invite_reviewer(
        session=session,
        actor=staff,
        rfp_id=rfp.id,
        data=ReviewerInvite(email=f"{unique('reviewer')}@panel.example", name="Reviewer"),
    )
    assert invited.token is not None
    reviewer = accounts_service.accept_invitation(
        session=session, token=invited.token, password=PASSWORD
    )
    assignment_service.auto_assign(session=session, actor=staff, rfp_id=rfp.id)
    panel_service.attest(
        session=session,
        actor=reviewer,
        rfp_id=rfp.id,
        data=AttestationCreate(no_conflict=True, confidentiality=True),
    )
    for assignment in assignment_service.my_assignments(session=session, actor=reviewer):
        proposal, _ = proposal_service.load(session, assignment.proposal_id)
        values = by_organization[proposal.organization_id]
        score_service.save_scores(
            session=session,
            actor=reviewer,
            assignment_id=assignment.id,
            data=ScoresWrite(
                scores=[
                    ScoreItem(criterion_key=c.key, value=v, comment="Reasoned comment.")
                    for c, v in zip(criteria, values, strict=True)
                ]
            ),
        )
        score_service.submit_assignment(
            session=session, actor=reviewer, assignment_id=assignment.id
        )


def reviews_submitted(staff_actor: Actor, rfp_id: str, levels: dict[str, list[int]]) -> None:
    """An RFP published through the pages, its deadline passed: one reviewer scores each
    organization's proposal at `levels` (by organization id)."""
    with _session() as session:
        staff = _user(session, staff_actor)
        rfp = rfp_service.get_managed(session=session, user=staff, rfp_id=rfp_id)
        session.commit()
        _one_reviewer_scores(session, staff, rfp, dict(levels))


def finalized_listing(
    state_staff: Actor, partners: list[Actor], scores: list[int] | None = None
) -> dict[str, Any]:
    """A whole selection run (`reviewed_rfp`), finalized; the RFP as the API shows it.

    `scores` gives each partner's level on every criterion (default 3 of 4: approved, listed).
    """
    rfp = reviewed_rfp(state_staff, partners, scores or [3] * len(partners))
    with _session() as session:
        staff = _user(session, state_staff)
        finalization_service.finalize(session=session, actor=staff, rfp_id=rfp.id, valid_until=None)
        return rfp_service.read_one(session, rfp).model_dump(mode="json")


def accepted_match(api: Api) -> tuple[Actor, Actor, dict[str, Any], list[dict[str, Any]]]:
    """A district with a cluster of three middle schools matched to one listed partner (of
    capacity one), the match accepted: the district's staff, the partner, the match and the
    schools, as the API shows them."""
    state = api.agency("state", "VA")
    state_staff = api.staff(state["id"])
    district = api.agency("district", "VA", parent_id=state["id"], nces_id="5100777")
    district_staff = api.staff(district["id"])
    partner = api.partner(states=["VA"], grade_levels=["06", "07", "08"], capacity_clusters=1)
    finalized_listing(state_staff, [partner])
    with _session() as session:
        staff = _user(session, district_staff)
        schools = [
            school_service.create_school(
                session=session,
                actor=staff,
                agency_id=district["id"],
                data=SchoolCreate(
                    nces_id=f"510077700{n:03d}",
                    name=unique("Middle School "),
                    grade_low="06",
                    grade_high="08",
                ),
            )
            for n in range(1, 4)
        ]
        school_service.create_cluster(
            session=session,
            actor=staff,
            agency_id=district["id"],
            data=ClusterCreate(name="Eastside cluster", school_ids=[s.id for s in schools]),
        )
        run = matching_service.create_run(
            session=session, actor=staff, agency_id=district["id"], cluster_ids=None, weights=None
        )
        match_id = matching_service.run_view(session, run).matches[0].id
        match = matching_service.decide(
            session=session, actor=staff, match_id=match_id, accept=True
        )
        return (
            district_staff,
            partner,
            matching_service.match_view(session, match).model_dump(mode="json"),
            [
                SchoolRead.model_validate(s, from_attributes=True).model_dump(mode="json")
                for s in schools
            ],
        )


def drafted_mou(api: Api) -> tuple[Actor, Actor, dict[str, Any], list[dict[str, Any]]]:
    """The MOU the district drafted for an accepted match (version 1): the district's staff,
    the partner, the MOU and the schools, as the API shows them."""
    district_staff, partner, match, schools = accepted_match(api)
    with _session() as session:
        staff = _user(session, district_staff)
        mou = mou_service.create(session=session, actor=staff, match_id=match["id"])
        return (
            district_staff,
            partner,
            mou_service.read(session, mou).model_dump(mode="json"),
            schools,
        )
