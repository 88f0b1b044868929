"""Scheduled work the clock causes: an RFP's close at its deadline, deadline reminders,
and reviews-due, listing-expiry and MOU-term-expiry reminders.

Each piece of work that must happen once inserts its key into `job_done` in the same
transaction as the work; a second run (another worker, a retried job) finds the key and
does nothing, and the notices' own dedup keys guard each recipient as well."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.accounts.models import Agency, Organization
from app.audit import service as audit
from app.core.db import get_engine, utcnow
from app.jobs.models import JobDone
from app.mous.models import Mou, MouStatus, MouVersion
from app.notifications import policies
from app.notifications.service import Recipient, notify
from app.proposals.models import Proposal
from app.providers.models import PreferredProvider
from app.rfps.models import Rfp, RfpStatus

REMINDER_DAYS = (7, 1)
REVIEWS_DUE_EVERY = timedelta(days=3)
LISTING_NOTICE = timedelta(days=30)
# A renewal is decided on the final years' benchmarks and needs a board's time: a term's
# end is told a school term ahead, not a month.
MOU_TERM_NOTICE = timedelta(days=90)


@dataclass
class ScheduleReport:
    closed: int = 0
    reminders: int = 0
    reviews_due: int = 0
    listings: int = 0
    mou_terms: int = 0


def _once(session: Session, key: str) -> bool:
    """Claim a piece of once-only work in this transaction; False if it was done already."""
    if session.get(JobDone, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(JobDone(key=key))
    except IntegrityError:  # another worker's transaction took it first
        return False
    return True


def _when(at: datetime) -> str:
    return at.strftime("%A %d %B %Y, %H:%M UTC")


def _agency_name(session: Session, agency_id: str) -> str:
    agency = session.get(Agency, agency_id)
    return agency.name if agency is not None else ""


def close_due(session: Session, now: datetime) -> int:
    """RFPs whose deadline passed: their effective close, recorded once with a notice to
    the issuing agency's staff. Reads never wait for this (status is derived from the
    clock); this makes the close a recorded fact, so a later manual close is refused."""
    due = session.exec(
        select(Rfp.id).where(Rfp.status == RfpStatus.published, col(Rfp.submission_deadline) <= now)
    ).all()
    closed = 0
    for rfp_id in due:
        rfp = session.exec(select(Rfp).where(Rfp.id == rfp_id).with_for_update()).one()
        if rfp.status != RfpStatus.published or not _once(session, f"rfp.closed:{rfp.id}"):
            session.rollback()
            continue
        rfp.status = RfpStatus.closed
        rfp.closed_at = rfp.submission_deadline
        rfp.version += 1
        rfp.updated_at = now
        session.add(rfp)
        audit.record(
            session=session,
            actor_id=None,
            action="rfp.closed",
            entity="rfp",
            entity_id=rfp.id,
            agency_id=rfp.agency_id,
            data={"at_deadline": rfp.submission_deadline.isoformat()},
        )
        submitted = session.exec(
            select(func.count())
            .select_from(Proposal)
            .where(Proposal.rfp_id == rfp.id, col(Proposal.latest_version) > 0)
        ).one()
        notify(
            session,
            kind="rfp_closed",
            recipients=policies.rfp_staff(session, rfp),
            event_key=rfp.id,
            path=f"/manage/rfps/{rfp.id}",
            context={
                "rfp_title": rfp.title,
                "deadline": _when(rfp.submission_deadline),
                "submitted": int(submitted),
                "agency_name": _agency_name(session, rfp.agency_id),
            },
        )
        session.commit()
        closed += 1
    return closed


def deadline_reminders(session: Session, now: datetime) -> int:
    """7 and 1 days before the deadline: organizations with an unsubmitted draft and the
    RFP's followers. Only the nearest reminder is sent (an RFP published 3 days before its
    deadline gets the 1-day one, not both at once at the end)."""
    soon = session.exec(
        select(Rfp).where(
            Rfp.status == RfpStatus.published,
            col(Rfp.submission_deadline) > now,
            col(Rfp.submission_deadline) <= now + timedelta(days=max(REMINDER_DAYS)),
        )
    ).all()
    sent = 0
    for rfp in soon:
        left = rfp.submission_deadline - now
        days = min(d for d in REMINDER_DAYS if left <= timedelta(days=d))
        key = f"deadline_reminder:{rfp.id}:{days}:{rfp.submission_deadline.isoformat()}"
        if not _once(session, key):
            session.rollback()
            continue
        drafts = {u.id: u for u in policies.applicants(session, rfp, drafts_only=True)}
        recipients = [Recipient(u, {"has_draft": True}) for u in drafts.values()] + [
            Recipient(u, {"has_draft": False})
            for u in policies.followers(session, rfp)
            if u.id not in drafts
        ]
        notify(
            session,
            kind="deadline_reminder",
            recipients=recipients,
            event_key=key,
            path=f"/rfps/{rfp.id}",
            context={
                "rfp_title": rfp.title,
                "days": days,
                "deadline": _when(rfp.submission_deadline),
            },
            sealed_rfp_id=rfp.id,  # who holds a draft is a bid's secret
        )
        session.commit()
        sent += len(recipients)
    return sent


def reviews_due(session: Session, now: datetime) -> int:
    """Reviewers with assignments still to submit on a closed RFP, every three days."""
    closed = session.exec(
        select(Rfp).where(
            col(Rfp.status).in_((RfpStatus.published, RfpStatus.closed)),
            col(Rfp.submission_deadline) <= now - REVIEWS_DUE_EVERY,
        )
    ).all()
    sent = 0
    for rfp in closed:
        period = (now - rfp.submission_deadline) // REVIEWS_DUE_EVERY
        key = f"reviews_due:{rfp.id}:{period}"
        pending = policies.reviewers_with_pending(session, rfp)
        if not pending or not _once(session, key):
            session.rollback()
            continue
        notify(
            session,
            kind="reviews_due",
            recipients=[Recipient(user, {"pending": count}) for user, count in pending.values()],
            event_key=key,
            path="/dashboard",
            context={"rfp_title": rfp.title},
        )
        session.commit()
        sent += len(pending)
    return sent


def listing_expiry(session: Session, now: datetime) -> int:
    """Listings that end within 30 days: their organization hears once per listing."""
    today = now.date()
    listings = session.exec(
        select(PreferredProvider).where(
            col(PreferredProvider.valid_until) >= today,
            col(PreferredProvider.valid_until) <= (now + LISTING_NOTICE).date(),
        )
    ).all()
    sent = 0
    for listing in listings:
        key = f"listing_expiring:{listing.id}:{listing.valid_until.isoformat()}"
        if not _once(session, key):
            session.rollback()
            continue
        organization = session.get(Organization, listing.organization_id)
        rfp = session.get(Rfp, listing.rfp_id)
        members = policies.organization_members(session, listing.organization_id)
        notify(
            session,
            kind="listing_expiring",
            recipients=members,
            event_key=key,
            path="/preferred-providers",
            context={
                "organization_name": organization.name if organization else "",
                "rfp_title": rfp.title if rfp else "",
                "valid_until": listing.valid_until.isoformat(),
            },
        )
        session.commit()
        sent += len(members)
    return sent


def term_end(start: date, years: int) -> date:
    """The day an MOU's term ends: its start date, `years` later (29 February: the 28th)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def mou_term_expiry(session: Session, now: datetime) -> int:
    """MOUs in force (executed, or executed and being amended) whose executed term ends
    within 90 days: both parties hear once per MOU and end date."""
    in_force = session.exec(
        select(Mou, MouVersion)
        .join(
            MouVersion,
            (col(MouVersion.mou_id) == col(Mou.id))
            & (col(MouVersion.number) == col(Mou.executed_version)),
        )
        .where(col(Mou.status).in_((MouStatus.executed, MouStatus.amended)))
    ).all()
    today, horizon = now.date(), (now + MOU_TERM_NOTICE).date()
    sent = 0
    for mou, version in in_force:
        ends = term_end(
            date.fromisoformat(str(version.terms["start_date"])), int(version.terms["term_years"])
        )
        if not today <= ends <= horizon:
            continue
        key = f"mou_term_expiring:{mou.id}:{ends.isoformat()}"
        if not _once(session, key):
            session.rollback()
            continue
        parties = policies.mou_parties(session, mou)
        organization = session.get(Organization, mou.organization_id)
        notify(
            session,
            kind="mou_term_expiring",
            recipients=parties,
            event_key=key,
            path=f"/mous/{mou.id}",
            context={
                "title": str(version.terms.get("title", "")),
                "agency_name": _agency_name(session, mou.agency_id),
                "organization_name": organization.name if organization else "",
                "term_end": ends.isoformat(),
            },
        )
        session.commit()
        sent += len(parties)
    return sent


STEPS: tuple[tuple[str, Callable[[Session, datetime], int]], ...] = (
    ("closed", close_due),
    ("reminders", deadline_reminders),
    ("reviews_due", reviews_due),
    ("listings", listing_expiry),
    ("mou_terms", mou_term_expiry),
)


def run(engine: Engine | None = None, now: datetime | None = None) -> ScheduleReport:
    """Every scheduled check once; each RFP or listing in its own transaction."""
    report = ScheduleReport()
    for name, step in STEPS:
        with Session(engine or get_engine(), expire_on_commit=False) as session:
            setattr(report, name, step(session, now or utcnow()))
    return report
