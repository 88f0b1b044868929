"""Review panels: inviting reviewers, listing a panel, and the attestation each reviewer
makes before any assignment opens."""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import policies as accounts_policies
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core.errors import Conflict, Forbidden
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


def invite_reviewer(
    *, session: Session, actor: User, rfp_id: str, data: ReviewerInvite
) -> tuple[User, str | None]:
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
    if not policies.is_panel_member(session, user, rfp.id):
        session.add(PanelMember(rfp_id=rfp.id, user_id=user.id, invited_by=actor.id))
    record(
        session,
        actor,
        rfp,
        "panel.reviewer_invited",
        "user",
        user.id,
        email=user.email,
        existing_account=token is None,
    )
    session.commit()
    if token is None:
        accounts_service.notify(
            user=user,
            subject=f"You are on the review panel of {rfp.title}",
            body=(
                f"Hello {user.name},\n\nYou have been added to the review panel of "
                f'"{rfp.title}". Sign in with your existing account to see it:\n'
                f"{accounts_service.page_link('/sign-in')}\n"
            ),
        )
    return user, token


def list_panel(*, session: Session, actor: User, rfp_id: str) -> list[tuple[User, bool]]:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    rows = session.exec(
        select(User)
        .join(PanelMember, col(PanelMember.user_id) == col(User.id))
        .where(PanelMember.rfp_id == rfp.id)
    ).all()
    return [(user, policies.has_attested(session, user, rfp.id)) for user in rows]


def my_panels(*, session: Session, actor: User) -> list[tuple[Rfp, bool]]:
    """The RFPs whose panel the reviewer sits on, and whether they have attested."""
    if not policies.may_review_at_all(actor):
        return []
    rfps = session.exec(
        select(Rfp)
        .join(PanelMember, col(PanelMember.rfp_id) == col(Rfp.id))
        .where(PanelMember.user_id == actor.id)
        .order_by(col(Rfp.submission_deadline).desc())
    ).all()
    return [(rfp, policies.has_attested(session, actor, rfp.id)) for rfp in rfps]


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
