"""Awards of a direct-award RFP: once the panel's decisions are made, the approved
applicants are assigned to the RFP's clusters by the exact solver (scoring/matching/awards),
stored as proposed matches that the district accepts or declines, each explained. A
declined award can be made again: the next best applicant for that cluster, never a pair
declined before."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import Organization, User
from app.audit import service as audit
from app.matching.models import Match, MatchingRun, MatchStatus
from app.matching.schemas import AwardRead, AwardsRead, UnmatchedCluster
from app.notifications import notices
from app.rfps.models import Rfp
from app.schools.models import Cluster
from scoring.matching import awards as awards_math

NO_OPEN_CLUSTER = "Every cluster of this RFP has a Lead Partner or an award waiting for a decision."


@dataclass(frozen=True)
class Applicant:
    organization_id: str
    total: float  # the proposal's weighted total, 0-100
    ranked: Sequence[str]  # the cluster ids of its submitted proposal, best first


def _matches_of(session: Session, rfp: Rfp) -> list[Match]:
    return list(
        session.exec(
            select(Match)
            .join(MatchingRun, col(MatchingRun.id) == col(Match.run_id))
            .where(MatchingRun.rfp_id == rfp.id)
            .order_by(col(Match.created_at), col(Match.id))
        )
    )


def open_clusters(session: Session, rfp: Rfp) -> list[Cluster]:
    """The RFP's clusters still to award: active, without a Lead Partner, and without an
    award of this RFP waiting for a decision."""
    clusters = {
        c.id: c
        for c in session.exec(select(Cluster).where(col(Cluster.id).in_(rfp.cluster_ids)))
        if c.dissolved_at is None
    }
    pending = {m.cluster_id for m in _matches_of(session, rfp) if m.status == MatchStatus.proposed}
    settled = set(
        session.exec(
            select(Match.cluster_id).where(
                col(Match.cluster_id).in_(list(clusters)), Match.status == MatchStatus.accepted
            )
        )
    )
    return [clusters[c] for c in rfp.cluster_ids if c in clusters and c not in pending | settled]


def _load(session: Session, organization_ids: list[str]) -> dict[str, int]:
    """Clusters each organization holds or has been offered: accepted matches of active
    clusters and awards waiting for a decision, which count against its capacity."""
    load: dict[str, int] = {}
    rows = session.exec(
        select(Match.organization_id, Match.status, MatchingRun.rfp_id)
        .join(MatchingRun, col(MatchingRun.id) == col(Match.run_id))
        .join(Cluster, col(Cluster.id) == col(Match.cluster_id))
        .where(
            col(Match.organization_id).in_(organization_ids),
            col(Match.status).in_([MatchStatus.accepted, MatchStatus.proposed]),
            col(Cluster.dissolved_at).is_(None),
        )
    )
    for organization_id, status, rfp_id in rows:
        if status == MatchStatus.accepted or rfp_id is not None:
            load[organization_id] = load.get(organization_id, 0) + 1
    return load


def _declined(session: Session, cluster_ids: list[str]) -> set[tuple[str, str]]:
    rows = session.exec(
        select(Match.cluster_id, Match.organization_id).where(
            col(Match.cluster_id).in_(cluster_ids), Match.status == MatchStatus.declined
        )
    )
    return {(c, o) for c, o in rows}


def _room(organization: Organization, load: dict[str, int]) -> int:
    return max(0, organization.capacity_clusters - load.get(organization.id, 0))


def award(
    session: Session, *, actor: User, rfp: Rfp, applicants: Sequence[Applicant]
) -> MatchingRun | None:
    """Award the RFP's open clusters to the approved `applicants`; no commit (the caller's
    transaction holds it). None when no cluster is open."""
    clusters = open_clusters(session, rfp)
    if not clusters:
        return None
    ids = [a.organization_id for a in applicants]
    organizations = {
        o.id: o for o in session.exec(select(Organization).where(col(Organization.id).in_(ids)))
    }
    load = _load(session, ids)
    cluster_ids = [c.id for c in clusters]
    declined = _declined(session, cluster_ids)
    inputs = [
        awards_math.Applicant(
            id=a.organization_id,
            name=organizations[a.organization_id].name,
            total=a.total,
            ranked=tuple(c for c in a.ranked if c in rfp.cluster_ids),
            capacity=_room(organizations[a.organization_id], load),
        )
        for a in applicants
    ]
    result = awards_math.award(cluster_ids, inputs, declined)
    pairs = result.assignment.pairs
    run = MatchingRun(
        agency_id=rfp.agency_id,
        rfp_id=rfp.id,
        weights=dict(awards_math.WEIGHTS),
        inputs={
            "clusters": cluster_ids,
            "applicants": [
                {"id": a.id, "total": a.total, "ranked": list(a.ranked), "capacity": a.capacity}
                for a in inputs
            ],
            "declined": sorted([list(p) for p in declined]),
        },
        objective=round(result.assignment.objective, 6),
        matched=result.assignment.matched,
        first_choice=sum(1 for i, j in pairs if inputs[j].ranked[0] == cluster_ids[i]),
        unmatched=[
            {"cluster_id": cluster_ids[i], "reason": reason}
            for i, reason in sorted(result.unawarded.items())
        ],
        created_by=actor.id,
    )
    session.add(run)
    session.flush()
    for i, j in pairs:
        breakdown = awards_math.award_breakdown(inputs[j], cluster_ids[i])
        session.add(
            Match(
                run_id=run.id,
                agency_id=rfp.agency_id,
                cluster_id=cluster_ids[i],
                organization_id=inputs[j].id,
                fit=round(breakdown["total"], 6),
                breakdown=breakdown,
                explanation=awards_math.explain(inputs[j], cluster_ids[i], breakdown),
            )
        )
    session.flush()
    audit.record(
        session=session,
        actor_id=actor.id,
        action="rfp.awarded",
        entity="matching_run",
        entity_id=run.id,
        agency_id=rfp.agency_id,
        data={"rfp_id": rfp.id, "awarded": run.matched, "unawarded": len(run.unmatched)},
    )
    notices.matches_proposed(session, run_id=run.id)
    return run


def awards_view(session: Session, rfp: Rfp) -> AwardsRead:
    """Every award of the RFP (each run's, newest decisions included) and the clusters
    still without one, each with why."""
    matches = _matches_of(session, rfp)
    runs = list(
        session.exec(
            select(MatchingRun)
            .where(MatchingRun.rfp_id == rfp.id)
            .order_by(col(MatchingRun.created_at).desc(), col(MatchingRun.id).desc())
        )
    )
    names = dict(
        session.exec(
            select(Organization.id, Organization.name).where(
                col(Organization.id).in_({m.organization_id for m in matches})
            )
        ).all()
    )
    clusters = {
        c.id: c.name
        for c in session.exec(select(Cluster).where(col(Cluster.id).in_(rfp.cluster_ids)))
    }
    covered = {m.cluster_id for m in matches if m.status != MatchStatus.declined}
    latest_reason: dict[str, str | None] = {}
    for run in reversed(runs):  # oldest first: the newest run that tried a cluster speaks
        left = {u["cluster_id"]: u["reason"] for u in run.unmatched}
        latest_reason.update({c: left.get(c) for c in run.inputs.get("clusters", [])})
    return AwardsRead(
        rfp_id=rfp.id,
        run_id=runs[0].id if runs else None,
        awards=[
            AwardRead(
                match_id=m.id,
                run_id=m.run_id,
                cluster_id=m.cluster_id,
                cluster_name=clusters.get(m.cluster_id, ""),
                organization_id=m.organization_id,
                organization_name=names.get(m.organization_id, ""),
                fit=m.fit,
                explanation=m.explanation,
                status=MatchStatus(m.status),
                decline_reason=m.decline_reason,
            )
            for m in matches
        ],
        unawarded=[
            UnmatchedCluster(
                cluster_id=c,
                cluster_name=clusters.get(c, ""),
                reason=latest_reason.get(c) or "Its award was declined; it can be awarded again.",
            )
            for c in rfp.cluster_ids
            if c not in covered
        ],
    )
