from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import col, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.errors import Forbidden
from app.core.pagination import Page, PageDep, paginate
from app.deps import CurrentUser, SessionClosingRoute, SessionDep

router = APIRouter(route_class=SessionClosingRoute, prefix="/api/v1", tags=["audit"])


class AuditEventRead(BaseModel):
    seq: int
    at: datetime
    actor_id: str | None
    action: str
    entity: str
    entity_id: str
    data: dict[str, Any]


@router.get("/audit", response_model=Page[AuditEventRead])
def list_audit_events(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    entity: str | None = None,
    entity_id: str | None = None,
) -> Page[AuditEventRead]:
    query = select(AuditEvent).order_by(col(AuditEvent.seq))
    if user.role == Role.agency_staff:
        query = query.where(AuditEvent.agency_id == user.agency_id)
    elif user.role != Role.platform_admin:
        raise Forbidden("Only agency staff and administrators read the audit trail.")
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    rows, total = paginate(session, query, page)
    return Page(
        items=[AuditEventRead.model_validate(r, from_attributes=True) for r in rows], total=total
    )
