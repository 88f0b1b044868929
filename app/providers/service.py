"""The public preferred-provider list: listings made when a state RFP is finalized, read by
anyone and by the matching of a state's districts."""

from datetime import date

from sqlmodel import Session, col, select

from app.accounts.models import Agency, Organization, User
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound
from app.notifications import notices
from app.providers import policies
from app.providers.models import PreferredProvider
from app.providers.schemas import ListingUpdate, PreferredProviderRead
from app.rfps.models import Rfp


def preferred_providers(
    *, session: Session, state: str | None, limit: int, offset: int, category: str | None = None
) -> tuple[list[PreferredProviderRead], int]:
    today = utcnow().date()
    query = (
        select(PreferredProvider, Organization, Rfp, Agency)
        .join(Organization, col(Organization.id) == col(PreferredProvider.organization_id))
        .join(Rfp, col(Rfp.id) == col(PreferredProvider.rfp_id))
        .join(Agency, col(Agency.id) == col(Rfp.agency_id))
        .where(col(PreferredProvider.valid_until) >= today)
    )
    if state:
        query = query.where(PreferredProvider.state == state.upper())
    rows = session.exec(
        query.order_by(
            col(PreferredProvider.state),
            col(Rfp.finalized_at).desc(),
            col(PreferredProvider.rank),
            col(Organization.name),
        )
    ).all()
    items = [
        _read(listing, org, rfp, agency)
        for listing, org, rfp, agency in rows
        if category is None or category in listing.categories
    ]
    return items[offset : offset + limit], len(items)


def _read(
    listing: PreferredProvider, org: Organization, rfp: Rfp, agency: Agency
) -> PreferredProviderRead:
    return PreferredProviderRead(
        id=listing.id,
        organization_id=org.id,
        organization_name=org.name,
        rfp_id=rfp.id,
        rfp_title=rfp.title,
        agency_name=agency.name,
        state=listing.state,
        rank=listing.rank,
        weighted_total=listing.weighted_total,
        grade_levels=org.grade_levels,
        states=org.states,
        capacity_clusters=org.capacity_clusters,
        categories=listing.categories,
        valid_until=listing.valid_until,
    )


def listed_providers(session: Session, agency: Agency) -> list[PreferredProvider]:
    """Current listings covering the district's state, best (latest, highest) first."""
    return list(
        session.exec(
            policies.current_listings(utcnow().date())
            .where(PreferredProvider.state == agency.state)
            .order_by(
                col(PreferredProvider.created_at).desc(),
                col(PreferredProvider.weighted_total).desc(),
            )
        )
    )


def list_approved(
    *,
    session: Session,
    rfp: Rfp,
    organization_id: str,
    state: str,
    rank: int | None,
    weighted_total: float | None,
    valid_until: date,
    categories: list[str],
) -> PreferredProvider:
    """List an approved partner for the needs areas it earned; no commit (the
    finalization's transaction holds it)."""
    listing = PreferredProvider(
        rfp_id=rfp.id,
        organization_id=organization_id,
        state=state,
        rank=rank,
        weighted_total=weighted_total,
        categories=categories,
        valid_until=valid_until,
    )
    session.add(listing)
    notices.listing_published(session, rfp=rfp, listing=listing)
    return listing


def update_categories(
    *, session: Session, actor: User, listing_id: str, data: ListingUpdate
) -> PreferredProviderRead:
    """Staff of the listing agency add or remove needs areas, with a reason (audited)."""
    if not policies.may_edit_listings(actor):
        raise Forbidden("Only staff of the listing agency correct a listing.")
    listing = session.exec(
        select(PreferredProvider).where(PreferredProvider.id == listing_id).with_for_update()
    ).first()
    rfp = session.get(Rfp, listing.rfp_id) if listing else None
    if listing is None or rfp is None or not policies.can_edit_listing(actor, rfp):
        raise NotFound("Listing")
    before = list(listing.categories)
    listing.categories = list(data.categories)
    session.add(listing)
    audit.record(
        session=session,
        actor_id=actor.id,
        action="listing.categories_changed",
        entity="preferred_provider",
        entity_id=listing.id,
        agency_id=rfp.agency_id,
        data={
            "organization_id": listing.organization_id,
            "added": sorted(set(data.categories) - set(before)),
            "removed": sorted(set(before) - set(data.categories)),
            "reason": data.reason,
        },
    )
    session.commit()
    organization = session.get(Organization, listing.organization_id)
    agency = session.get(Agency, rfp.agency_id)
    assert organization is not None and agency is not None
    return _read(listing, organization, rfp, agency)
