import hashlib
from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import Response

from app.core.caching import none_match, not_modified, public_headers
from app.core.pagination import Page, PageDep
from app.core.routing import api_router
from app.deps import CurrentUser, SessionDep
from app.providers import service as provider_service
from app.providers.schemas import ListingUpdate, PreferredProviderRead
from app.rfps.schemas import NeedsArea

router = api_router(tags=["preferred providers"])


# The public list is the same for everyone: shared caches may keep it. It has no version of
# its own (a finalization, an expiry or a renamed organization changes it), so its ETag is
# the hash of the body, and a conditional GET saves sending the list, not building it.
@router.get(
    "/preferred-providers",
    response_model=Page[PreferredProviderRead],
    responses={304: {"description": "The copy whose ETag If-None-Match names is current"}},
)
def preferred_providers(
    session: SessionDep,
    page: PageDep,
    state: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2,3}$")] = None,
    category: Annotated[
        NeedsArea | None, Query(description="a needs area the listing covers")
    ] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Any:
    items, total = provider_service.preferred_providers(
        session=session, state=state, limit=page.limit, offset=page.offset, category=category
    )
    body = Page[PreferredProviderRead](items=items, total=total).model_dump_json()
    headers = public_headers(f'"{hashlib.sha256(body.encode()).hexdigest()}"')
    if none_match(if_none_match, headers["ETag"]):
        return not_modified(headers)
    return Response(body, media_type="application/json", headers=headers)


@router.patch("/preferred-providers/{listing_id}", response_model=PreferredProviderRead)
def update_listing(
    session: SessionDep, user: CurrentUser, listing_id: str, body: ListingUpdate
) -> PreferredProviderRead:
    """Correct the needs areas a listing covers, with a reason (staff of the listing agency)."""
    return provider_service.update_categories(
        session=session, actor=user, listing_id=listing_id, data=body
    )
