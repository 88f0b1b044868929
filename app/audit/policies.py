"""Who reads which audit events, and how much of a sealed bid's events.

- the platform admin: every event; a partner's proposal event shows only its RFP (not the
  organization, the partner user or the proposal) until it opens (`sealed_events`);
- agency staff: their agency's events, plus the partner proposal events of their agency's
  RFPs once each is closed or finalized;
- nobody else reads the trail.

A proposal withdrawn before the deadline is never opened, so its events stay reduced too.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.accounts.policies import is_admin, is_staff_of
from app.audit.models import AuditEvent
from app.proposals.models import Proposal, ProposalStatus
from app.rfps.models import Rfp, RfpStatus
from app.rfps.service import status_at

OPENED = (RfpStatus.closed, RfpStatus.finalized)
# What a sealed event still shows: that the RFP has some activity, not who or what.
SEALED_FIELDS = ("rfp_id",)


def may_read_audit(user: User) -> bool:
    return is_admin(user) or is_staff_of(user, user.agency_id)


def _opened_rfp_ids(session: Session, which: ColumnElement[bool]) -> set[str]:
    """The RFPs among `which` whose bids are open: closed or finalized, as of now."""
    rows = session.exec(select(Rfp.id, Rfp.status, Rfp.submission_deadline).where(which)).all()
    return {rfp_id for rfp_id, status, deadline in rows if status_at(status, deadline) in OPENED}


def visible_events(session: Session, user: User) -> SelectOfScalar[AuditEvent]:
    """The events this caller may list (their data still goes through `readable_data`)."""
    query = select(AuditEvent)
    if is_admin(user):
        return query
    if not is_staff_of(user, user.agency_id):
        return query.where(col(AuditEvent.id) == "")  # nobody else reads the trail
    opened = _opened_rfp_ids(session, col(Rfp.agency_id) == user.agency_id)
    own = and_(col(AuditEvent.agency_id) == user.agency_id, col(AuditEvent.rfp_id).is_(None))
    if not opened:
        return query.where(own)
    return query.where(or_(own, col(AuditEvent.rfp_id).in_(sorted(opened))))


def sealed_events(session: Session, events: Sequence[AuditEvent]) -> set[str]:
    """The ids of the partner proposal events among `events` that are still sealed.

    A proposal event opens only when its RFP is closed or finalized, its proposal was
    submitted and not withdrawn, and it happened by the proposal's last submission: the
    working copy of a proposal that was never submitted, and edits after the last
    submission, were never part of a bid."""
    partner_events = [e for e in events if e.rfp_id is not None]
    if not partner_events:
        return set()
    opened_rfps = _opened_rfp_ids(session, col(Rfp.id).in_({e.rfp_id for e in partner_events}))
    candidates = {e.entity_id for e in partner_events if e.rfp_id in opened_rfps}
    submitted_at = (
        dict(
            session.exec(
                select(Proposal.id, Proposal.submitted_at).where(
                    col(Proposal.id).in_(candidates),
                    col(Proposal.latest_version) > 0,
                    Proposal.status != ProposalStatus.withdrawn,
                )
            ).all()
        )
        if candidates
        else {}
    )
    sealed = set()
    for event in partner_events:
        last = submitted_at.get(event.entity_id)
        in_the_bid = last is not None and (event.at <= last or event.action == "proposal.submitted")
        if event.rfp_id not in opened_rfps or not in_the_bid:
            sealed.add(event.id)
    return sealed


def reduced(event: AuditEvent) -> dict[str, Any]:
    """What a sealed event still shows: the RFP it concerns, nothing of the bid or bidder."""
    return {k: event.data[k] for k in SEALED_FIELDS if k in event.data}
