"""Matching preferred providers to a district's clusters (the arithmetic is scoring/matching)."""

from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from app.accounts.models import Agency, Organization, User
from app.accounts.policies import role_name
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.matching import policies
from app.matching.models import Match, MatchingRun, MatchStatus
from app.matching.schemas import MatchingRunRead, MatchRead, UnmatchedCluster
from app.notifications import notices
from app.providers import service as provider_service
from app.providers.models import PreferredProvider
from app.rfps.models import Rfp, RfpStatus, Selection
from app.schools import service as school_service
from app.schools.models import Cluster, ClusterPreference, School
from app.self_audit import service as self_audit_service
from app.self_audit.models import SelfAudit
from scoring import matching as matching_math

HIGH_SCHOOL_ITEM = "experience.high_schools"
NO_PROVIDERS = "No provider is on the preferred-provider list for this state yet."
_RATING_VALUE = {"met": 1.0, "partial": 0.5, "not_met": 0.0}


def _accepted_load(session: Session, organization_ids: list[str]) -> dict[str, int]:
    load: dict[str, int] = {}
    rows = session.exec(
        select(Match.organization_id)
        .join(Cluster, col(Cluster.id) == col(Match.cluster_id))
        .where(
            Match.status == MatchStatus.accepted,
            col(Match.organization_id).in_(organization_ids),
            col(Cluster.dissolved_at).is_(None),
        )
    )
    for organization_id in rows:
        load[organization_id] = load.get(organization_id, 0) + 1
    return load


def _provider_inputs(session: Session, agency: Agency) -> list[matching_math.ProviderInput]:
    listings: dict[str, PreferredProvider] = {}
    categories: dict[str, set[str]] = {}
    for listing in provider_service.listed_providers(session, agency):
        listings.setdefault(listing.organization_id, listing)  # the newest listing's score counts
        categories.setdefault(listing.organization_id, set()).update(listing.categories)
    ids = list(listings)
    organizations = {
        o.id: o for o in session.exec(select(Organization).where(col(Organization.id).in_(ids)))
    }
    audits = {
        a.organization_id: a
        for a in session.exec(select(SelfAudit).where(col(SelfAudit.organization_id).in_(ids)))
    }
    load = _accepted_load(session, ids)
    providers = []
    for organization_id in ids:
        organization = organizations[organization_id]
        answers = self_audit_service.answers_of(
            audits[organization_id].items if organization_id in audits else []
        )
        ratings = {answer.key: answer.rating for answer in answers}
        providers.append(
            matching_math.ProviderInput(
                id=organization_id,
                grades=frozenset(organization.grade_levels),
                states=frozenset(organization.states),
                categories=frozenset(categories[organization_id]),
                capacity=max(0, organization.capacity_clusters - load.get(organization_id, 0)),
                rfp_score=listings[organization_id].weighted_total,
                high_school_experience=_RATING_VALUE.get(
                    ratings.get(HIGH_SCHOOL_ITEM, "not_met"), 0.0
                ),
            )
        )
    return providers


def _cluster_inputs(
    session: Session, agency: Agency, clusters: list[Cluster]
) -> list[matching_math.ClusterInput]:
    inputs = []
    for cluster in clusters:
        schools = list(session.exec(select(School).where(School.cluster_id == cluster.id)))
        rates = [(s.poverty_rate, s.enrollment or 0) for s in schools if s.poverty_rate is not None]
        weight = sum(e for _, e in rates)
        poverty = (
            (sum(r * e for r, e in rates) / weight)
            if weight
            else (sum(r for r, _ in rates) / len(rates) if rates else None)
        )
        preferences = tuple(
            session.exec(
                select(ClusterPreference.organization_id)
                .where(ClusterPreference.cluster_id == cluster.id)
                .order_by(col(ClusterPreference.rank))
            )
        )
        inputs.append(
            matching_math.ClusterInput(
                id=cluster.id,
                grades=frozenset(school_service.grades_served(schools)),
                needs=frozenset(n for s in schools for n in s.needs),
                state=agency.state,
                enrollment=sum(s.enrollment or 0 for s in schools),
                poverty_rate=poverty,
                preferences=preferences,
            )
        )
    return inputs


def _in_direct_award(session: Session, agency: Agency) -> set[str]:
    """Clusters offered in the district's published, unfinalized RFPs, or with an award of
    a finalized one waiting for a decision."""
    offered: set[str] = set()
    for cluster_ids in session.exec(
        select(Rfp.cluster_ids).where(
            Rfp.agency_id == agency.id,
            Rfp.selection == Selection.direct_award,
            col(Rfp.status).in_([RfpStatus.published, RfpStatus.closed]),
        )
    ):
        offered.update(cluster_ids)
    pending = session.exec(
        select(Match.cluster_id)
        .join(MatchingRun, col(MatchingRun.id) == col(Match.run_id))
        .where(
            MatchingRun.agency_id == agency.id,
            col(MatchingRun.rfp_id).is_not(None),
            Match.status == MatchStatus.proposed,
        )
    )
    return offered | set(pending)


def _declined_pairs(session: Session, agency: Agency) -> set[tuple[str, str]]:
    rows = session.exec(
        select(Match.cluster_id, Match.organization_id).where(
            Match.agency_id == agency.id, Match.status == MatchStatus.declined
        )
    )
    return {(c, o) for c, o in rows}


def create_run(
    *,
    session: Session,
    actor: User,
    agency_id: str,
    cluster_ids: list[str] | None,
    weights: dict[str, float] | None,
) -> MatchingRun:
    agency = school_service.district_of(session, actor, agency_id)
    active = school_service.list_clusters(session=session, actor=actor, agency_id=agency.id)
    settled = set(
        session.exec(
            select(Match.cluster_id).where(
                Match.agency_id == agency.id, Match.status == MatchStatus.accepted
            )
        )
    )
    # Clusters offered in the district's own open RFPs, or awarded there and waiting for a
    # decision, are that RFP's to fill.
    offered = _in_direct_award(session, agency)
    if cluster_ids is None:
        clusters = [c for c in active if c.id not in settled | offered]
    else:
        by_id = {c.id: c for c in active}
        unknown = [c for c in cluster_ids if c not in by_id]
        if unknown:
            raise NotFound(f"Cluster {unknown[0]}")
        clusters = [by_id[c] for c in dict.fromkeys(cluster_ids)]
        already = [c.name for c in clusters if c.id in settled]
        if already:
            raise Conflict(
                f"Already matched (accepted): {', '.join(already)}.", slug="cluster-matched"
            )
        elsewhere = [c.name for c in clusters if c.id in offered]
        if elsewhere:
            raise Conflict(
                f"Offered or awarded in one of the district's RFPs: {', '.join(elsewhere)}.",
                slug="cluster-offered",
            )
    if not clusters:
        raise Unprocessable("There are no clusters to match: create clusters first.")
    try:
        used_weights = matching_math.checked_weights(weights or matching_math.DEFAULT_WEIGHTS)
    except ValueError as exc:
        raise Unprocessable.at(["body", "weights"], str(exc)) from exc
    cluster_inputs = _cluster_inputs(session, agency, clusters)
    providers = _provider_inputs(session, agency)
    declined = _declined_pairs(session, agency)
    if providers:
        fit = matching_math.fit_matrix(cluster_inputs, providers, used_weights)
        allowed = matching_math.allowed_matrix(cluster_inputs, providers, declined)
        capacity = np.array([p.capacity for p in providers], dtype=np.int64)
        result = matching_math.assign(fit, capacity, allowed)
    else:
        allowed = np.zeros((len(cluster_inputs), 0), dtype=bool)
        result = matching_math.Assignment(pairs=[], objective=0.0, matched=0)
    reasons = (
        matching_math.unmatched_reasons(
            cluster_inputs, providers, allowed, result, declined=declined
        )
        if providers
        else dict.fromkeys(range(len(clusters)), NO_PROVIDERS)
    )
    run = MatchingRun(
        agency_id=agency.id,
        weights=used_weights,
        inputs={
            "clusters": [_input_record(c) for c in cluster_inputs],
            "providers": [_input_record(p) for p in providers],
            "declined": sorted([list(p) for p in declined]),
        },
        objective=round(result.objective, 6),
        matched=result.matched,
        first_choice=matching_math.first_choice_count(cluster_inputs, providers, result)
        if providers
        else 0,
        unmatched=[
            {"cluster_id": clusters[i].id, "reason": reason}
            for i, reason in sorted(reasons.items())
        ],
        created_by=actor.id,
    )
    session.add(run)
    session.flush()
    for ci, pi in result.pairs:
        breakdown = matching_math.fit_breakdown(cluster_inputs[ci], providers[pi], used_weights)
        session.add(
            Match(
                run_id=run.id,
                agency_id=agency.id,
                cluster_id=clusters[ci].id,
                organization_id=providers[pi].id,
                fit=round(breakdown["total"], 6),
                breakdown=breakdown,
                explanation=matching_math.explain(cluster_inputs[ci], providers[pi], breakdown),
            )
        )
    audit.record(
        session=session,
        actor_id=actor.id,
        action="matching.run",
        entity="matching_run",
        entity_id=run.id,
        agency_id=agency.id,
        data={"matched": run.matched, "unmatched": len(run.unmatched), "objective": run.objective},
    )
    notices.matches_proposed(session, run_id=run.id)
    session.commit()
    return run


def _input_record(item: Any) -> dict[str, Any]:
    """A matching input as the run stores it (JSON: sets sorted, tuples as lists)."""
    data = dict(item.__dict__)
    return {
        k: sorted(v) if isinstance(v, frozenset) else list(v) if isinstance(v, tuple) else v
        for k, v in data.items()
    }


def run_view(session: Session, run: MatchingRun) -> MatchingRunRead:
    matches = list(
        session.exec(select(Match).where(Match.run_id == run.id).order_by(col(Match.fit).desc()))
    )
    return MatchingRunRead(
        id=run.id,
        agency_id=run.agency_id,
        objective=run.objective,
        matched=run.matched,
        first_choice=run.first_choice,
        weights=run.weights,
        matches=[match_view(session, m) for m in matches],
        unmatched=[UnmatchedCluster(**u) for u in run.unmatched],
        created_at=run.created_at,
    )


def match_view(session: Session, match: Match) -> MatchRead:
    cluster = session.get(Cluster, match.cluster_id)
    organization = session.get(Organization, match.organization_id)
    return MatchRead(
        id=match.id,
        run_id=match.run_id,
        cluster_id=match.cluster_id,
        cluster_name=cluster.name if cluster else "",
        organization_id=match.organization_id,
        organization_name=organization.name if organization else "",
        fit=match.fit,
        breakdown=match.breakdown,
        explanation=match.explanation,
        status=MatchStatus(match.status),
        decided_at=match.decided_at,
    )


def get_run(*, session: Session, actor: User, run_id: str) -> MatchingRun:
    run = session.get(MatchingRun, run_id)
    if run is None or not policies.can_read_run(actor, run):
        raise NotFound("Matching run")
    return run


def list_runs(*, session: Session, actor: User, agency_id: str) -> list[MatchingRun]:
    """The district's matching runs against the list, newest first (the awards of its
    direct-award RFPs are read with each RFP)."""
    agency = school_service.district_of(session, actor, agency_id)
    return list(
        session.exec(
            select(MatchingRun)
            .where(MatchingRun.agency_id == agency.id, col(MatchingRun.rfp_id).is_(None))
            .order_by(col(MatchingRun.created_at).desc())
        )
    )


def open_awards(*, session: Session, actor: User, agency_id: str) -> list[MatchRead]:
    """Awards of the district's RFPs waiting for its decision or accepted, oldest first."""
    agency = school_service.district_of(session, actor, agency_id)
    matches = session.exec(
        select(Match)
        .join(MatchingRun, col(MatchingRun.id) == col(Match.run_id))
        .where(
            MatchingRun.agency_id == agency.id,
            col(MatchingRun.rfp_id).is_not(None),
            col(Match.status).in_([MatchStatus.proposed, MatchStatus.accepted]),
        )
        .order_by(col(Match.created_at), col(Match.id))
    )
    return [match_view(session, m) for m in matches]


def get_match(*, session: Session, actor: User, match_id: str, lock: bool = False) -> Match:
    query = select(Match).where(Match.id == match_id)
    if lock:
        query = query.with_for_update()
    match = session.exec(query).first()
    if match is None or not policies.is_party_to(actor, match):
        raise NotFound("Match")
    return match


def decide(
    *, session: Session, actor: User, match_id: str, accept: bool, reason: str = ""
) -> Match:
    match = get_match(session=session, actor=actor, match_id=match_id, lock=True)
    if accept and not policies.can_accept(actor, match):
        raise Forbidden("Only the district accepts a match.")
    if not policies.may_decide_matches(actor):
        raise Forbidden("Only the district or the partner decide on a match.")
    if match.status != MatchStatus.proposed:
        raise Conflict(f"This match is already {match.status}.")
    if accept:
        taken = session.exec(
            select(Match.id).where(
                Match.cluster_id == match.cluster_id, Match.status == MatchStatus.accepted
            )
        ).first()
        if taken:
            raise Conflict(
                "This cluster already has an accepted Lead Partner.", slug="cluster-matched"
            )
    match.status = MatchStatus.accepted if accept else MatchStatus.declined
    match.decided_by = actor.id
    match.decided_at = utcnow()
    match.decline_reason = None if accept else (reason or None)
    session.add(match)
    audit.record(
        session=session,
        actor_id=actor.id,
        action=f"match.{match.status}",
        entity="match",
        entity_id=match.id,
        agency_id=match.agency_id,
        data={
            "cluster_id": match.cluster_id,
            "organization_id": match.organization_id,
            "by": role_name(actor),
        },
    )
    notices.match_decided(session, match=match, by_partner=not policies.can_accept(actor, match))
    session.commit()
    return match


def matches_for_organization(*, session: Session, actor: User, organization_id: str) -> list[Match]:
    if not policies.can_read_organization_matches(actor, organization_id):
        raise NotFound("Organization")
    return list(
        session.exec(
            select(Match)
            .where(Match.organization_id == organization_id)
            .order_by(col(Match.created_at).desc())
        )
    )
