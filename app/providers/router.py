from typing import Annotated

from fastapi import Query

from app.core.pagination import Page, PageDep
from app.core.routing import api_router
from app.deps import SessionDep
from app.providers import service as provider_service
from app.providers.schemas import PreferredProviderRead

router = api_router(tags=["preferred providers"])


@router.get("/preferred-providers", response_model=Page[PreferredProviderRead])
def preferred_providers(
    session: SessionDep,
    page: PageDep,
    state: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2,3}$")] = None,
) -> Page[PreferredProviderRead]:
    items, total = provider_service.preferred_providers(
        session=session, state=state, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total)
