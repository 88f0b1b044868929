from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import col

from app.audit import policies
from app.audit.models import AuditEvent
from app.core.errors import Forbidden
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import api_router
from app.deps import CurrentUser, SessionDep

router = api_router(tags=["audit"])


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
    if not policies.may_read_audit(user):
        raise Forbidden("Only agency staff and administrators read the audit trail.")
    query = policies.visible_events(session, user).order_by(col(AuditEvent.seq))
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    rows, total = paginate(session, query, page)
    sealed = policies.sealed_events(session, rows)
    items = [
        AuditEventRead(
            seq=r.seq,
            at=r.at,
            actor_id=None if r.id in sealed else r.actor_id,
            action=r.action,
            entity=r.entity,
            entity_id="" if r.id in sealed else r.entity_id,
            data=policies.reduced(r) if r.id in sealed else r.data,
        )
        for r in rows
    ]
    return Page(items=items, total=total)
