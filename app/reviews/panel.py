"""Review panels: inviting reviewers, listing a panel, and the attestation each reviewer
makes before any assignment opens."""

from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import credentials
from app.accounts import policies as accounts_policies
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core.errors import Conflict, Forbidden
from app.notifications import notices
from app.reviews import policies
from app.reviews.models import (
    Attestation,
    PanelMember,
)
from app.reviews.schemas import (
    AttestationCreate,
    ReviewerInvite,
)
from app.reviews.stage import panel_rfp, record
from app.rfps import service as rfp_service
from app.rfps.models import Rfp, RfpStatus


class Invited(NamedTuple):
    reviewer: User
    token: str | None  # None for an existing account
    awaiting_email_proof: bool  # counted on the panel once its owner proves the mailbox


def invite_reviewer(*, session: Session, actor: User, rfp_id: str, data: ReviewerInvite) -> Invited:
    """Add a reviewer to the panel: a new account and its invitation token, or, for an
    email that already has a reviewer account, the membership alone (token None) and a
    message to its owner; never a way to set someone else's password."""
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    if rfp.status in (RfpStatus.cancelled, RfpStatus.finalized):
        raise Conflict(f"The RFP is {rfp.status}; its panel is closed.")
    user, token = accounts_service.invite_user(
        session=session,
        actor=actor,
        email=str(data.email),
        name=data.name,
        role=accounts_policies.REVIEWER_ROLE,
        purpose="reviewer",
        context={"rfp_id": rfp.id},
    )
    must_prove = token is None and accounts_policies.must_prove_email_to_join(user, actor)
    membership = session.exec(
        select(PanelMember).where(PanelMember.rfp_id == rfp.id, PanelMember.user_id == user.id)
    ).first()
    if membership is None:
        session.add(
            PanelMember(
                rfp_id=rfp.id,
                user_id=user.id,
                invited_by=actor.id,
                needs_verified_email=must_prove,
            )
        )
    record(
        session,
        actor,
        rfp,
        "panel.reviewer_invited",
        "user",
        user.id,
        email=user.email,
        existing_account=token is None,
        awaiting_email_proof=must_prove,
    )
    if token is not None:
        notices.reviewer_invited(session, rfp=rfp, user=user, token=token)
    elif not must_prove:
        notices.panel_added(session, rfp=rfp, user=user)
    session.commit()
    if must_prove:
        # Someone else's staff held the token that set this account's password, so whoever
        # uses it now may not be the person this email belongs to: the panel counts it
        # once the mailbox's owner sets a new password through the mailed link (which also
        # ends every session of anyone else).
        credentials.send_email_proof(
            session=session,
            user=user,
            subject=f"Confirm your email to join the review panel of {rfp.title}",
            reason=f'You have been invited to the review panel of "{rfp.title}".',
        )
    return Invited(user, token, must_prove)


class Seat(NamedTuple):
    reviewer: User
    attested: bool
    awaiting_email_proof: bool


def list_panel(*, session: Session, actor: User, rfp_id: str) -> list[Seat]:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    rows = session.exec(
        select(User, PanelMember.needs_verified_email)
        .join(PanelMember, col(PanelMember.user_id) == col(User.id))
        .where(PanelMember.rfp_id == rfp.id)
    ).all()
    return [
        Seat(
            user,
            policies.has_attested(session, user, rfp.id),
            not accounts_policies.membership_counts(user, needs),
        )
        for user, needs in rows
    ]


def my_panels(*, session: Session, actor: User) -> list[tuple[Rfp, bool]]:
    """The RFPs whose panel the reviewer sits on, and whether they have attested."""
    if not policies.may_review_at_all(actor):
        return []
    rows = session.exec(
        select(Rfp, PanelMember.needs_verified_email)
        .join(PanelMember, col(PanelMember.rfp_id) == col(Rfp.id))
        .where(PanelMember.user_id == actor.id)
        .order_by(col(Rfp.submission_deadline).desc())
    ).all()
    return [
        (rfp, policies.has_attested(session, actor, rfp.id))
        for rfp, needs in rows
        if accounts_policies.membership_counts(actor, needs)
    ]


def attest(*, session: Session, actor: User, rfp_id: str, data: AttestationCreate) -> Attestation:
    if not policies.may_review_at_all(actor):
        raise Forbidden("Only reviewers attest.")
    rfp = panel_rfp(session=session, actor=actor, rfp_id=rfp_id)
    existing = session.exec(
        select(Attestation).where(Attestation.rfp_id == rfp.id, Attestation.user_id == actor.id)
    ).first()
    if existing is not None:
        return existing
    attestation = Attestation(
        rfp_id=rfp.id,
        user_id=actor.id,
        no_conflict=data.no_conflict,
        confidentiality=data.confidentiality,
    )
    session.add(attestation)
    record(session, actor, rfp, "panel.attested", "user", actor.id)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        again = session.exec(
            select(Attestation).where(Attestation.rfp_id == rfp.id, Attestation.user_id == actor.id)
        ).one()
        return again
    return attestation
