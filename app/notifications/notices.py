"""One function per event that tells people something, called by the domain's service in
its own transaction (no commit here). Recipients come from `policies.py`; nothing sealed
goes into a notice: a receipt carries the hash, never the content; a decision names no
reviewer."""

from datetime import datetime

from sqlmodel import Session, select

from app.accounts.models import Agency, Organization, User
from app.core.config import get_settings
from app.core.security import token_digest
from app.matching.models import Match, MatchingRun
from app.mous.models import Mou
from app.notifications import policies
from app.notifications.service import notify
from app.proposals.models import Proposal
from app.providers.models import PreferredProvider
from app.rfps.models import Addendum, Question, Rfp
from app.schools.models import Cluster


def _agency_name(session: Session, agency_id: str) -> str:
    agency = session.get(Agency, agency_id)
    return agency.name if agency is not None else ""


def _organization_name(session: Session, organization_id: str) -> str:
    organization = session.get(Organization, organization_id)
    return organization.name if organization is not None else ""


def _when(at: datetime) -> str:
    return at.strftime("%A %d %B %Y, %H:%M UTC")


# --- accounts ------------------------------------------------------------------------------


def password_reset(session: Session, *, user: User, token: str) -> None:
    notify(
        session,
        kind="password_reset",
        recipients=[user],
        event_key=token_digest(token),
        path=f"/reset-password?token={token}",
        context={"minutes": get_settings().password_reset_minutes},
    )


def email_proof(session: Session, *, user: User, token: str, subject: str, reason: str) -> None:
    """A reset link that proves the mailbox; `reason` says why the person gets it."""
    notify(
        session,
        kind="email_proof",
        recipients=[user],
        event_key=token_digest(token),
        path=f"/reset-password?token={token}",
        context={
            "minutes": get_settings().password_reset_minutes,
            "subject": subject,
            "reason": reason,
        },
    )


def reviewer_invited(session: Session, *, rfp: Rfp, user: User, token: str) -> None:
    """A new reviewer's invitation, with the link that sets their first password."""
    notify(
        session,
        kind="reviewer_invitation",
        recipients=[user],
        event_key=token_digest(token),
        path=f"/accept-invite?token={token}",
        context={
            "rfp_title": rfp.title,
            "agency_name": _agency_name(session, rfp.agency_id),
            "hours": get_settings().invite_token_hours,
        },
    )


def unit_invited(
    session: Session, *, organization: Organization, agency: Agency, user: User, token: str
) -> None:
    """The first user of a district's own unit: the link that sets their password."""
    notify(
        session,
        kind="unit_invitation",
        recipients=[user],
        event_key=token_digest(token),
        path=f"/accept-invite?token={token}",
        context={
            "organization_name": organization.name,
            "agency_name": agency.name,
            "hours": get_settings().invite_token_hours,
        },
    )


def panel_added(session: Session, *, rfp: Rfp, user: User) -> None:
    """An existing reviewer added to a panel: no token, they sign in as before."""
    notify(
        session,
        kind="panel_added",
        recipients=[user],
        event_key=rfp.id,
        path="/sign-in",
        context={"rfp_title": rfp.title},
    )


# --- proposals and RFPs --------------------------------------------------------------------


def submission_receipt(
    session: Session,
    *,
    rfp: Rfp,
    proposal: Proposal,
    version: int,
    receipt: str,
    submitted_at: datetime,
) -> None:
    """To the submitting organization only: the receipt hash, never the content."""
    notify(
        session,
        kind="submission_receipt",
        recipients=policies.proposal_owners(session, proposal),
        event_key=f"{proposal.id}:{version}",
        path=f"/proposals/{proposal.id}",
        context={
            "rfp_title": rfp.title,
            "version": version,
            "organization_name": _organization_name(session, proposal.organization_id),
        },
        facts=[
            ("Receipt (SHA-256)", receipt),
            ("Version", str(version)),
            ("Submitted", _when(submitted_at)),
        ],
        sealed_rfp_id=rfp.id,
    )


def addendum_published(session: Session, *, rfp: Rfp, addendum: Addendum) -> None:
    facts = (
        [("New deadline", _when(rfp.submission_deadline))] if addendum.submission_deadline else []
    )
    notify(
        session,
        kind="addendum_published",
        recipients=policies.rfp_audience(session, rfp),
        event_key=addendum.id,
        path=f"/rfps/{rfp.id}",
        context={
            "rfp_title": rfp.title,
            "agency_name": _agency_name(session, rfp.agency_id),
            "number": addendum.number,
            "text": addendum.text,
        },
        facts=facts,
        sealed_rfp_id=rfp.id,  # its applicants are among those told
    )


def answer_published(session: Session, *, rfp: Rfp, question: Question) -> None:
    """Answers are published to everyone without the asker: the notice says no more."""
    notify(
        session,
        kind="answer_published",
        recipients=policies.rfp_audience(session, rfp),
        event_key=question.id,
        path=f"/rfps/{rfp.id}",
        context={
            "rfp_title": rfp.title,
            "agency_name": _agency_name(session, rfp.agency_id),
            "question": question.text,
            "answer": question.answer or "",
        },
        sealed_rfp_id=rfp.id,
    )


def listing_published(session: Session, *, rfp: Rfp, listing: PreferredProvider) -> None:
    """At finalization, to the listed organization: its place on the public list."""
    notify(
        session,
        kind="listing_published",
        recipients=policies.listing_holders(session, listing),
        event_key=listing.id,
        path="/preferred-providers",
        context={
            "rfp_title": rfp.title,
            "agency_name": _agency_name(session, rfp.agency_id),
            "organization_name": _organization_name(session, listing.organization_id),
            "valid_until": listing.valid_until.isoformat(),
        },
        facts=[("Categories", ", ".join(listing.categories))] if listing.categories else [],
    )


def decision_available(session: Session, *, rfp: Rfp, proposal: Proposal, approved: bool) -> None:
    """At finalization, to each applicant about its own proposal: the decision and a link to
    the debrief; reviewers are never named."""
    notify(
        session,
        kind="decision_available",
        recipients=policies.proposal_owners(session, proposal),
        event_key=proposal.id,
        path=f"/proposals/{proposal.id}/debrief",
        context={
            "rfp_title": rfp.title,
            "approved": approved,
            "agency_name": _agency_name(session, rfp.agency_id),
            "organization_name": _organization_name(session, proposal.organization_id),
        },
    )


# --- matching and MOUs ---------------------------------------------------------------------


def _cluster_name(session: Session, cluster_id: str) -> str:
    cluster = session.get(Cluster, cluster_id)
    return cluster.name if cluster is not None else ""


def _match_context(session: Session, match: Match) -> dict[str, str]:
    return {
        "cluster_name": _cluster_name(session, match.cluster_id),
        "agency_name": _agency_name(session, match.agency_id),
        "organization_name": _organization_name(session, match.organization_id),
    }


def matches_proposed(session: Session, *, run_id: str) -> None:
    """A matching run's proposals, or a direct-award RFP's awards, to each partner matched
    (the district ran it, or finalized its RFP)."""
    run = session.get(MatchingRun, run_id)
    rfp = session.get(Rfp, run.rfp_id) if run is not None and run.rfp_id else None
    for match in session.exec(select(Match).where(Match.run_id == run_id)):
        notify(
            session,
            kind="match_proposed",
            recipients=policies.match_parties(session, match, partner_side=True),
            event_key=match.id,
            path="/matches",
            context={**_match_context(session, match), "rfp_title": rfp.title if rfp else ""},
        )


def match_decided(session: Session, *, match: Match, by_partner: bool) -> None:
    """To the other side of the match: the partner when the district decided, and the
    district when the partner declined."""
    notify(
        session,
        kind="match_decided",
        recipients=policies.match_parties(session, match, partner_side=not by_partner),
        event_key=f"{match.id}:{match.status}",
        path="/district/matching" if by_partner else "/matches",
        context={**_match_context(session, match), "decision": str(match.status)},
    )


def mou_version_shared(session: Session, *, mou: Mou, version: int, title: str) -> None:
    """A new version of a draft MOU, to the partner's members (the district revised it)."""
    notify(
        session,
        kind="mou_version_shared",
        recipients=policies.mou_partner(session, mou),
        event_key=f"{mou.id}:{version}",
        path=f"/mous/{mou.id}",
        context={
            "title": title,
            "version": version,
            "agency_name": _agency_name(session, mou.agency_id),
            "organization_name": _organization_name(session, mou.organization_id),
        },
    )


def mou_executed(session: Session, *, mou: Mou, version: int, title: str) -> None:
    """To the partner's members (the district executed it)."""
    notify(
        session,
        kind="mou_executed",
        recipients=policies.mou_partner(session, mou),
        event_key=f"{mou.id}:{version}",
        path=f"/mous/{mou.id}",
        context={
            "title": title,
            "version": version,
            "agency_name": _agency_name(session, mou.agency_id),
            "organization_name": _organization_name(session, mou.organization_id),
        },
    )
