"""Finalization: the approval rule decides each proposal with a reason; a state's approved
partners are listed with the categories they earned, a district's are awarded its clusters;
each partner reads its debrief."""

from collections import defaultdict
from datetime import date, timedelta

from sqlmodel import Session, col, select

from app.accounts.models import Agency, Organization, User
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, Unprocessable
from app.matching import awards as award_service
from app.matching.schemas import AwardsRead
from app.notifications import notices
from app.proposals import service as proposal_service
from app.proposals.models import Proposal, ProposalStatus
from app.providers import service as provider_service
from app.reviews.assignments import active_assignments
from app.reviews.models import ApprovalDecision, AssignmentStatus, Stage
from app.reviews.results import interview_totals, score_sheet
from app.reviews.schemas import (
    Debrief,
    DebriefCriterion,
    DecisionRead,
)
from app.reviews.stage import criteria_of, record, require_review_phase
from app.rfps import service as rfp_service
from app.rfps.models import Rfp, RfpStatus, Selection
from scoring import approval as approval_math
from scoring import categories as categories_math
from scoring import rubric as rubric_math
from scoring import stages as stages_math

LISTING_YEARS = 3


def finalize(
    *, session: Session, actor: User, rfp_id: str, valid_until: date | None
) -> tuple[list[DecisionRead], AwardsRead | None]:
    """The decisions, best first, and for a direct award the awards it made."""
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)  # locked
    require_review_phase(rfp)
    sheet = score_sheet(session, rfp)
    proposals, consensus = sheet.proposals, sheet.consensus
    pending = [
        a for a in active_assignments(session, rfp, None) if a.status != AssignmentStatus.submitted
    ]
    if pending:
        raise Conflict(f"{len(pending)} review(s) are not submitted yet.", slug="reviews-pending")
    unreviewed = [
        p for p in proposals if sheet.reviews[p.id].submitted == 0 and not consensus.get(p.id)
    ]
    if unreviewed:
        raise Conflict(
            f"{len(unreviewed)} proposal(s) have no submitted review.", slug="reviews-pending"
        )
    content = rfp_service.content_of(rfp)
    rubric = content.rubric()
    if content.aggregation == "consensus":
        missing = sum(1 for p in proposals for c in rubric if c.key not in consensus.get(p.id, {}))
        if missing:
            raise Conflict(
                f"Consensus mode: {missing} consensus score(s) are still to be set.",
                slug="consensus-missing",
            )
    computed = rubric_math.proposal_results(rubric, sheet.scores, consensus)
    rule = content.approval.for_scoring()
    written = {r.proposal_id: r.weighted_total for r in computed}
    interview: dict[str, float | None] = {}
    if content.stages.interview is None:
        decisions = {d.proposal_id: d for d in approval_math.decide(rubric, computed, rule)}
        by_id = {r.proposal_id: r for r in computed}
    else:
        interview = _interviewed(session, rfp, proposals)
        # The rule applies to the finalists' combined totals; the others end at the
        # written stage.
        finals = stages_math.combine(computed, interview, content.stages.interview.weight)
        decisions = {d.proposal_id: d for d in approval_math.decide(rubric, finals, rule)}
        by_id = {r.proposal_id: r for r in computed} | {r.proposal_id: r for r in finals}
        for result in computed:
            if result.proposal_id not in interview:
                decisions[result.proposal_id] = approval_math.Decision(
                    proposal_id=result.proposal_id,
                    approved=False,
                    reason="It was not chosen as a finalist for the interview.",
                    rank=None,
                    weighted_total=result.weighted_total,
                )
    agency = session.get(Agency, rfp.agency_id)
    assert agency is not None
    now = utcnow()
    listing_end = valid_until or now.date() + timedelta(days=365 * LISTING_YEARS)
    if listing_end <= now.date():
        raise Unprocessable.at(
            ["body", "valid_until"], "The listing must be valid until a future date."
        )
    names = dict(session.exec(select(Organization.id, Organization.name)).all())
    evidence = content.category_evidence()
    direct_award = content.selection == Selection.direct_award
    applicants: list[award_service.Applicant] = []
    out: list[DecisionRead] = []
    for proposal in proposals:
        decision = decisions[proposal.id]
        result = by_id[proposal.id]
        session.add(
            ApprovalDecision(
                proposal_id=proposal.id,
                rfp_id=rfp.id,
                approved=decision.approved,
                reason=decision.reason,
                weighted_total=result.weighted_total,
                normalized_total=result.normalized_total,
                rank=decision.rank,
                written_total=written[proposal.id] if interview else None,
                interview_total=interview.get(proposal.id),
                criteria=[
                    {"key": c.key, "value": c.value, "mean": c.mean, "consensus": c.consensus}
                    for c in result.criteria
                ],
                decided_by=actor.id,
                decided_at=now,
            )
        )
        proposal.status = (
            ProposalStatus.approved if decision.approved else ProposalStatus.not_approved
        )
        session.add(proposal)
        notices.decision_available(session, rfp=rfp, proposal=proposal, approved=decision.approved)
        if decision.approved and direct_award:
            applicants.append(
                award_service.Applicant(
                    organization_id=proposal.organization_id,
                    total=result.weighted_total or 0.0,
                    ranked=_ranked_clusters(session, proposal),
                )
            )
        elif decision.approved:
            provider_service.list_approved(
                session=session,
                rfp=rfp,
                organization_id=proposal.organization_id,
                state=agency.state,
                rank=decision.rank,
                weighted_total=result.weighted_total,
                valid_until=listing_end,
                categories=categories_math.earned_categories(
                    evidence, {c.key: c.value for c in result.criteria}
                ),
            )
        out.append(
            DecisionRead(
                proposal_id=proposal.id,
                organization_id=proposal.organization_id,
                organization_name=names.get(proposal.organization_id, ""),
                decision="approved" if decision.approved else "not_approved",
                reason=decision.reason,
                weighted_total=result.weighted_total,
                rank=decision.rank,
                written_total=written[proposal.id] if interview else None,
                interview_total=interview.get(proposal.id),
            )
        )
    rfp.status = RfpStatus.finalized
    rfp.finalized_at = now
    rfp.closed_at = rfp.closed_at or now
    rfp.version += 1
    session.add(rfp)
    if direct_award:
        session.flush()
        award_service.award(session, actor=actor, rfp=rfp, applicants=applicants)
    record(
        session,
        actor,
        rfp,
        "rfp.finalized",
        "rfp",
        rfp.id,
        approved=sum(d.decision == "approved" for d in out),
        decided=len(out),
    )
    session.commit()
    out.sort(key=lambda d: (d.rank is None, d.rank or 0))
    return out, award_service.awards_view(session, rfp) if direct_award else None


def _interviewed(session: Session, rfp: Rfp, proposals: list[Proposal]) -> dict[str, float | None]:
    """The finalists' interview totals, once each finalist has one."""
    finalists = [p for p in proposals if p.finalist]
    if not finalists:
        raise Conflict(
            "This RFP interviews finalists: mark them and score their interviews first.",
            slug="finalists-missing",
        )
    totals = interview_totals(session, rfp)
    waiting = [p for p in finalists if totals.get(p.id) is None]
    if waiting:
        raise Conflict(
            f"{len(waiting)} finalist(s) have no submitted interview yet.",
            slug="interviews-pending",
        )
    return {p.id: totals[p.id] for p in finalists}


def _ranked_clusters(session: Session, proposal: Proposal) -> list[str]:
    """The clusters of the submitted version (what the panel judged), best first."""
    version = proposal_service.latest_version(session, proposal)
    return list(version.content.get("cluster_ids", [])) if version else []


def _approved_applicants(session: Session, rfp: Rfp) -> list[award_service.Applicant]:
    rows = session.exec(
        select(ApprovalDecision, Proposal)
        .join(Proposal, col(Proposal.id) == col(ApprovalDecision.proposal_id))
        .where(ApprovalDecision.rfp_id == rfp.id, col(ApprovalDecision.approved).is_(True))
    )
    return [
        award_service.Applicant(
            organization_id=proposal.organization_id,
            total=decision.weighted_total or 0.0,
            ranked=_ranked_clusters(session, proposal),
        )
        for decision, proposal in rows
    ]


def _awarded_rfp(session: Session, actor: User, rfp_id: str) -> Rfp:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    if rfp.selection != Selection.direct_award:
        raise Conflict(
            "This RFP builds a preferred-provider list; it awards no clusters.",
            slug="not-direct-award",
        )
    return rfp


def awards(*, session: Session, actor: User, rfp_id: str) -> AwardsRead:
    rfp = _awarded_rfp(session, actor, rfp_id)
    return award_service.awards_view(session, rfp)


def award_again(*, session: Session, actor: User, rfp_id: str) -> AwardsRead:
    """Award the clusters whose awards were declined (or that none could take before) to
    the next best approved applicants, never a pair declined before."""
    rfp = _awarded_rfp(session, actor, rfp_id)
    if rfp.status != RfpStatus.finalized:
        raise Conflict("Clusters are awarded when the RFP is finalized.", slug="not-finalized")
    run = award_service.award(
        session, actor=actor, rfp=rfp, applicants=_approved_applicants(session, rfp)
    )
    if run is None:
        raise Conflict(award_service.NO_OPEN_CLUSTER, slug="nothing-to-award")
    session.commit()
    return award_service.awards_view(session, rfp)


def decisions(*, session: Session, actor: User, rfp_id: str) -> list[DecisionRead]:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    names = dict(session.exec(select(Organization.id, Organization.name)).all())
    rows = session.exec(
        select(ApprovalDecision, Proposal)
        .join(Proposal, col(Proposal.id) == col(ApprovalDecision.proposal_id))
        .where(ApprovalDecision.rfp_id == rfp.id)
    )
    out = [
        DecisionRead(
            proposal_id=d.proposal_id,
            organization_id=p.organization_id,
            organization_name=names.get(p.organization_id, ""),
            decision="approved" if d.approved else "not_approved",
            reason=d.reason,
            weighted_total=d.weighted_total,
            rank=d.rank,
            written_total=d.written_total,
            interview_total=d.interview_total,
        )
        for d, p in rows
    ]
    return sorted(out, key=lambda d: (d.rank is None, d.rank or 0))


def debrief(*, session: Session, actor: User, proposal_id: str) -> Debrief:
    proposal, rfp = proposal_service.get_own(session=session, user=actor, proposal_id=proposal_id)
    decision = session.get(ApprovalDecision, proposal.id)
    if decision is None:
        raise NotFound("Debrief (available once the RFP is finalized)")
    interviewed = proposal.finalist and decision.interview_total is not None
    return Debrief(
        decision="approved" if decision.approved else "not_approved",
        reason=decision.reason,
        weighted_total=decision.weighted_total,
        rank=decision.rank,
        criteria=_debrief_criteria(session, rfp, proposal, Stage.written),
        written_total=decision.written_total,
        interview_total=decision.interview_total,
        interview_criteria=_debrief_criteria(session, rfp, proposal, Stage.interview)
        if interviewed
        else [],
    )


def _debrief_criteria(
    session: Session, rfp: Rfp, proposal: Proposal, stage: Stage
) -> list[DebriefCriterion]:
    """One stage's criteria with the scores and comments given, without identities."""
    sheet = score_sheet(session, rfp, stage)
    consensus = sheet.consensus.get(proposal.id, {})
    comments = sheet.comments.get(proposal.id, {})
    per_criterion: dict[str, list[int]] = defaultdict(list)
    for reviewer_scores in sheet.scores.get(proposal.id, {}).values():
        for key, value in reviewer_scores.items():
            per_criterion[key].append(value)
    # Sorted, so neither order nor position links a score or comment to a reviewer.
    return [
        DebriefCriterion(
            key=c.key,
            title=c.title,
            scores=sorted(per_criterion.get(c.key, [])),
            comments=sorted(comments.get(c.key, [])),
            consensus=consensus.get(c.key),
        )
        for c in criteria_of(rfp, stage)
    ]
