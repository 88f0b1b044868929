"""What a direct-award RFP offers: which selection an agency's RFPs make, and the district's
own clusters, each in one open RFP at a time."""

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.accounts.models import Agency, AgencyKind
from app.core.errors import Conflict, Unprocessable
from app.matching.models import Match, MatchingRun, MatchStatus
from app.rfps.models import Rfp, RfpStatus, Selection
from app.rfps.schemas import RfpContent
from app.schools import service as school_service


def selection_for(agency: Agency) -> Selection:
    """How an agency's RFPs select: a state builds the preferred-provider list its districts
    match from; a district awards its own clusters (a district-run list would put its
    winners on the state's list, where any district could match them)."""
    return (
        Selection.direct_award if agency.kind == AgencyKind.district else Selection.preferred_list
    )


def check_offer(session: Session, agency: Agency, content: RfpContent) -> None:
    """The selection suits the agency and every cluster offered is one of its own."""
    if content.selection != selection_for(agency):
        message = (
            "A district's RFP awards its own clusters directly (direct_award)."
            if agency.kind == AgencyKind.district
            else "A state's RFP builds the preferred-provider list (preferred_list); districts "
            "award their own clusters."
        )
        raise Unprocessable.at(["body", "selection"], message)
    if content.cluster_ids:
        school_service.clusters_to_offer(session, agency, content.cluster_ids)


def check_clusters_free(session: Session, rfp: Rfp) -> None:
    """A cluster is offered in at most one published, unfinalized RFP, and not once it has
    a Lead Partner or an award waiting for a decision. The clusters' rows are locked first,
    so two publications naming one cluster follow each other."""
    agency = session.get(Agency, rfp.agency_id)
    assert agency is not None
    clusters = school_service.clusters_to_offer(session, agency, rfp.cluster_ids, lock=True)
    names = {c.id: c.name for c in clusters}
    others = session.exec(
        select(Rfp).where(
            Rfp.agency_id == rfp.agency_id,
            Rfp.selection == Selection.direct_award,
            col(Rfp.status).in_([RfpStatus.published, RfpStatus.closed]),
            Rfp.id != rfp.id,
        )
    )
    for other in others:
        shared = [names[c] for c in rfp.cluster_ids if c in other.cluster_ids]
        if shared:
            raise Conflict(
                f"Already offered in the open RFP '{other.title}': {', '.join(shared)}.",
                slug="cluster-offered",
            )
    taken = session.exec(
        select(Match.cluster_id)
        .join(MatchingRun, col(MatchingRun.id) == col(Match.run_id))
        .where(
            col(Match.cluster_id).in_(rfp.cluster_ids),
            or_(
                col(Match.status) == MatchStatus.accepted,
                and_(
                    col(Match.status) == MatchStatus.proposed, col(MatchingRun.rfp_id).is_not(None)
                ),
            ),
        )
    ).all()
    if taken:
        raise Conflict(
            "Already matched or awarded (waiting for a decision): "
            + ", ".join(sorted({names[c] for c in taken}))
            + ".",
            slug="cluster-matched",
        )
