"""The review stage of an RFP: when it runs, which proposals it covers, who sits on its
panel, and how its events enter the audit trail."""

from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.audit import service as audit
from app.core.errors import Conflict, NotFound
from app.proposals.models import ProposalStatus
from app.reviews import policies
from app.rfps import service as rfp_service
from app.rfps.models import Rfp, RfpStatus
from app.rfps.schemas import Criterion
from scoring import rubric as rubric_math

REVIEWABLE = (ProposalStatus.submitted, ProposalStatus.approved, ProposalStatus.not_approved)


def record(
    session: Session, actor: User, rfp: Rfp, action: str, entity: str, entity_id: str, **data: Any
) -> None:
    audit.record(
        session=session,
        actor_id=actor.id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        agency_id=rfp.agency_id,
        data={"rfp_id": rfp.id, **data},
    )


def require_review_phase(rfp: Rfp) -> None:
    status = rfp_service.effective_status(rfp)
    if status in (RfpStatus.draft, RfpStatus.published):
        raise Conflict("Review starts after the submission deadline.", slug="rfp-still-open")
    if status != RfpStatus.closed:
        raise Conflict(f"The RFP is {status}; its review is over.", slug="review-over")


def panel_rfp(*, session: Session, actor: User, rfp_id: str) -> Rfp:
    """The RFP whose panel the caller sits on (404 for everyone else)."""
    rfp = session.get(Rfp, rfp_id)
    if rfp is None or not policies.is_panel_member(session, actor, rfp_id):
        raise NotFound("RFP")
    return rfp


def rubric_of(rfp: Rfp, stage: str = "written") -> list[rubric_math.Criterion]:
    """The RFP's published rubric of a stage (written, or the finalists' interview) as the
    scoring core's criteria."""
    content = rfp_service.content_of(rfp)
    return content.interview_rubric() if stage == "interview" else content.rubric()


def criteria_of(rfp: Rfp, stage: str = "written") -> list[Criterion]:
    """The stage's criteria as the RFP states them (titles, descriptors)."""
    content = rfp_service.content_of(rfp)
    if stage == "interview":
        return list(content.stages.interview.criteria) if content.stages.interview else []
    return list(content.criteria)
