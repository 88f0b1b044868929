"""Who is told what. Every recipient list is built from the people a domain already lets see
the object (its policies decide), so a notice never tells anyone about something they may
not see; and who reads inboxes, follows RFPs and works the outbox."""

from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.accounts.policies import is_admin, is_member_of, is_partner, is_staff_of
from app.matching import policies as matching_policies
from app.matching.models import Match
from app.mous import policies as mous_policies
from app.mous.models import Mou
from app.notifications.models import Notice, RfpFollow
from app.proposals.models import Proposal, ProposalStatus
from app.providers.models import PreferredProvider
from app.reviews import policies as review_policies
from app.reviews.models import Assignment, AssignmentStatus
from app.rfps import policies as rfp_policies
from app.rfps.models import Rfp, RfpStatus


def inbox_of(user: User) -> SelectOfScalar[Notice]:
    """A person's own notices, and nobody else's."""
    return select(Notice).where(Notice.user_id == user.id)


def may_follow(user: User | None) -> bool:
    """Partners follow RFPs (to hear of addenda and answers before they apply)."""
    return is_partner(user)


def may_work_outbox(user: User | None) -> bool:
    """Only platform admins list the outbox and resend: it names every recipient."""
    return is_admin(user)


def outbox_for(user: User, now: datetime) -> SelectOfScalar[Notice]:
    """The outbox rows the admin may see: a notice that reveals who bids on an RFP (sealed)
    only once that RFP's bids are opened (closed at its deadline, or finalized; a cancelled
    RFP's never are), as every other view of a bid."""
    if not may_work_outbox(user):
        return select(Notice).where(col(Notice.id).is_(None))
    opened = select(Rfp.id).where(
        or_(
            col(Rfp.status).in_((RfpStatus.closed, RfpStatus.finalized)),
            and_(col(Rfp.status) == RfpStatus.published, col(Rfp.submission_deadline) <= now),
        )
    )
    return select(Notice).where(
        or_(col(Notice.sealed_rfp_id).is_(None), col(Notice.sealed_rfp_id).in_(opened))
    )


def _active(session: Session, query: SelectOfScalar[User]) -> list[User]:
    return list(session.exec(query.where(col(User.is_active).is_(True)).order_by(col(User.id))))


def _members(session: Session, organization_ids: set[str]) -> list[User]:
    if not organization_ids:
        return []
    users = _active(session, select(User).where(col(User.organization_id).in_(organization_ids)))
    return [u for u in users if u.organization_id and is_member_of(u, u.organization_id)]


def rfp_staff(session: Session, rfp: Rfp) -> list[User]:
    """The issuing agency's staff: they manage the RFP."""
    users = _active(session, select(User).where(User.agency_id == rfp.agency_id))
    return [u for u in users if rfp_policies.can_manage(u, rfp)]


def applicants(session: Session, rfp: Rfp, *, drafts_only: bool = False) -> list[User]:
    """Members of organizations with a proposal on the RFP (only an unsubmitted draft, for
    the deadline reminders), each of whom may read the RFP and their own proposal."""
    query = select(Proposal.organization_id).where(Proposal.rfp_id == rfp.id)
    if drafts_only:
        query = query.where(Proposal.status == ProposalStatus.draft)
    organizations = set(session.exec(query).all())
    return [u for u in _members(session, organizations) if rfp_policies.can_view(u, rfp)]


def followers(session: Session, rfp: Rfp) -> list[User]:
    users = _active(
        session,
        select(User)
        .join(RfpFollow, col(RfpFollow.user_id) == col(User.id))
        .where(RfpFollow.rfp_id == rfp.id),
    )
    return [u for u in users if may_follow(u) and rfp_policies.can_view(u, rfp)]


def rfp_audience(session: Session, rfp: Rfp) -> list[User]:
    """Addenda and answers: applicants and followers, once each."""
    seen: dict[str, User] = {}
    for user in [*applicants(session, rfp), *followers(session, rfp)]:
        seen.setdefault(user.id, user)
    return list(seen.values())


def organization_members(session: Session, organization_id: str) -> list[User]:
    return _members(session, {organization_id})


def proposal_owners(session: Session, proposal: Proposal) -> list[User]:
    """A receipt or a decision goes to the proposal's own organization, nobody else."""
    return [
        u
        for u in _members(session, {proposal.organization_id})
        if is_member_of(u, proposal.organization_id)
    ]


def reviewers_with_pending(session: Session, rfp: Rfp) -> dict[str, tuple[User, int]]:
    """Panel members with assignments still to submit, and how many."""
    rows = session.exec(
        select(User, Assignment.id)
        .join(Assignment, col(Assignment.reviewer_id) == col(User.id))
        .where(
            Assignment.rfp_id == rfp.id,
            Assignment.status == AssignmentStatus.assigned,
            col(Assignment.removed_at).is_(None),
            col(User.is_active).is_(True),
        )
    ).all()
    pending: dict[str, tuple[User, int]] = {}
    for user, _assignment in rows:
        if not review_policies.is_panel_member(session, user, rfp.id):
            continue
        count = pending.get(user.id, (user, 0))[1]
        pending[user.id] = (user, count + 1)
    return pending


def match_parties(session: Session, match: Match, *, partner_side: bool) -> list[User]:
    """One side of a match: the partner organization's members, or the district's staff."""
    if partner_side:
        query = select(User).where(User.organization_id == match.organization_id)
    else:
        query = select(User).where(User.agency_id == match.agency_id)
    return [u for u in _active(session, query) if matching_policies.is_party_to(u, match)]


def mou_parties(session: Session, mou: Mou) -> list[User]:
    query = select(User).where(
        (col(User.agency_id) == mou.agency_id) | (col(User.organization_id) == mou.organization_id)
    )
    return [u for u in _active(session, query) if mous_policies.is_party_to(u, mou)]


def mou_partner(session: Session, mou: Mou) -> list[User]:
    """The partner's side of an MOU: the district drafts and revises, the partner reads."""
    return [u for u in mou_parties(session, mou) if is_member_of(u, mou.organization_id)]


def listing_holders(session: Session, listing: PreferredProvider) -> list[User]:
    """The listed organization's members (the list itself is public; the notice is theirs)."""
    return _members(session, {listing.organization_id})


def agency_staff(session: Session, agency_id: str) -> list[User]:
    users = _active(session, select(User).where(User.agency_id == agency_id))
    return [u for u in users if is_staff_of(u, agency_id)]
