"""The Lead Partner self-audit: save, validate, and compute the profile (in scoring/)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.accounts.models import Organization, User
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import NotFound, Unprocessable
from app.self_audit import policies
from app.self_audit.models import SelfAudit
from app.self_audit.schemas import AuditItemAnswer, SelfAuditRead, SelfAuditWrite
from scoring import self_audit as audit_math


def answers_of(items: Sequence[dict[str, Any]]) -> list[audit_math.AuditAnswer]:
    return [
        audit_math.AuditAnswer(
            key=item["key"],
            rating=item["rating"],
            evidence=item.get("evidence") or "",
            gap_strategy=(item.get("gap_plan") or {}).get("strategy"),
            gap_text=(item.get("gap_plan") or {}).get("text"),
        )
        for item in items
    ]


def problems(items: Sequence[dict[str, Any]]) -> list[str]:
    """Why this self-audit is not complete (for the proposal completeness check)."""
    answers = answers_of(items)
    found = [f"Self-audit: {message}" for _, message in audit_math.validate_answers(answers)]
    missing = audit_math.missing_items(answers)
    if missing:
        found.append(f"Self-audit: {len(missing)} item(s) not answered yet")
    return found


def read(organization_id: str, audit_row: SelfAudit | None) -> SelfAuditRead:
    return read_items(
        organization_id,
        audit_row.items if audit_row else [],
        audit_row.updated_at if audit_row else None,
    )


def read_items(
    organization_id: str, items: Sequence[dict[str, Any]], updated_at: datetime | None
) -> SelfAuditRead:
    answers = answers_of(items)
    missing = audit_math.missing_items(answers)
    return SelfAuditRead(
        organization_id=organization_id,
        items=[AuditItemAnswer.model_validate(i) for i in items],
        profile=audit_math.profile(answers),
        missing_responsibilities=audit_math.missing_responsibilities(answers),
        missing_items=missing,
        complete=not missing and not audit_math.validate_answers(answers),
        updated_at=updated_at,
    )


def get_for_member(*, session: Session, user: User, organization_id: str) -> SelfAudit | None:
    if (
        not policies.can_edit(user, organization_id)
        or session.get(Organization, organization_id) is None
    ):
        raise NotFound("Organization")
    return session.get(SelfAudit, organization_id)


def save(*, session: Session, actor: User, organization_id: str, data: SelfAuditWrite) -> SelfAudit:
    if not policies.can_edit(actor, organization_id):
        raise NotFound("Organization")
    items = [item.model_dump() for item in data.items]
    errors = [
        {"loc": ["body", "items", key], "msg": msg}
        for key, msg in audit_math.validate_answers(answers_of(items))
    ]
    if errors:
        raise Unprocessable(f"The self-audit has {len(errors)} problem(s).", errors=errors)
    row = session.get(SelfAudit, organization_id, with_for_update=True)
    if row is None:
        row = SelfAudit(organization_id=organization_id, items=items, updated_by=actor.id)
    else:
        row.items, row.updated_by, row.updated_at = items, actor.id, utcnow()
    session.add(row)
    audit.record(
        session=session,
        actor_id=actor.id,
        action="self_audit.saved",
        entity="organization",
        entity_id=organization_id,
        data={"answered": len(items)},
    )
    session.commit()
    return row
