from app.core.routing import api_router
from app.deps import CurrentUser, SessionDep
from app.self_audit import service
from app.self_audit.schemas import AuditItemDefinition, SelfAuditRead, SelfAuditWrite
from scoring.self_audit import ITEMS

router = api_router(tags=["self-audit"])


@router.get("/self-audit/items", response_model=dict[str, list[AuditItemDefinition]])
def list_items() -> dict[str, list[AuditItemDefinition]]:
    return {
        "items": [AuditItemDefinition(key=i.key, dimension=i.dimension, text=i.text) for i in ITEMS]
    }


@router.get("/organizations/{organization_id}/self-audit", response_model=SelfAuditRead)
def get_self_audit(session: SessionDep, user: CurrentUser, organization_id: str) -> SelfAuditRead:
    row = service.get_for_member(session=session, user=user, organization_id=organization_id)
    return service.read(organization_id, row)


@router.put("/organizations/{organization_id}/self-audit", response_model=SelfAuditRead)
def put_self_audit(
    session: SessionDep, user: CurrentUser, organization_id: str, body: SelfAuditWrite
) -> SelfAuditRead:
    row = service.save(session=session, actor=user, organization_id=organization_id, data=body)
    return service.read(organization_id, row)
