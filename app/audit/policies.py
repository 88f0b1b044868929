"""Who reads which audit events, and how much of a sealed bid's events.

- the platform admin: every event; a partner's proposal event shows only its RFP and
  organization until that RFP is closed or finalized (a cancelled RFP never opens);
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
# What a sealed event still shows: that a proposal exists, not a word of what is in it.
SEALED_FIELDS = ("rfp_id", "organization_id")


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


def readable_data(session: Session, events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    """Each event's data as callers may read it: sealed proposal events reduced."""
    rfp_ids = {e.rfp_id for e in events if e.rfp_id is not None}
    if not rfp_ids:
        return [e.data for e in events]
    opened = _opened_rfp_ids(session, col(Rfp.id).in_(rfp_ids))
    proposal_ids = {e.entity_id for e in events if e.rfp_id in opened}
    never_opened = set(
        session.exec(
            select(Proposal.id).where(
                col(Proposal.id).in_(proposal_ids), Proposal.status == ProposalStatus.withdrawn
            )
        ).all()
        if proposal_ids
        else ()
    )
    return [
        e.data
        if e.rfp_id is None or (e.rfp_id in opened and e.entity_id not in never_opened)
        else {k: e.data[k] for k in SEALED_FIELDS if k in e.data}
        for e in events
    ]
