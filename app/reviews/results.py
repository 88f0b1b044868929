"""Review results: raw and calibrated totals, ranks, disagreement flags and agreement per
criterion, the CSV export, and consensus scores."""

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import Organization, User
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.proposals.models import Proposal
from app.reviews import policies
from app.reviews.assignments import active_assignments, reviewable_proposals
from app.reviews.models import (
    Assignment,
    AssignmentStatus,
    Consensus,
    Score,
    Stage,
)
from app.reviews.schemas import (
    ConsensusWrite,
    CriterionResultRead,
    ResultRow,
    ResultsRead,
)
from app.reviews.scores import check_level, criterion_of
from app.reviews.stage import REVIEWABLE, record, require_review_phase, rubric_of
from app.rfps import policies as rfp_policies
from app.rfps import service as rfp_service
from app.rfps.models import Rfp, RfpStatus
from scoring import agreement as agreement_math
from scoring import ranking as ranking_math
from scoring import rubric as rubric_math
from scoring import stages as stages_math


@dataclass(frozen=True)
class ReviewCount:
    submitted: int
    assigned: int


@dataclass(frozen=True)
class ScoreSheet:
    """What an RFP's panel has scored so far: the reviewable proposals, the submitted
    reviews' scores and comments, the consensus levels staff set, and how many reviews
    each proposal has. Results, finalization and debriefs all read this one sheet."""

    proposals: list[Proposal]
    scores: dict[str, dict[str, dict[str, int]]]
    """proposal_id -> reviewer_id -> criterion_key -> level (submitted reviews only)."""
    consensus: dict[str, dict[str, int]]
    """proposal_id -> criterion_key -> consensus level."""
    reviews: dict[str, ReviewCount]
    """proposal_id -> submitted and assigned reviews."""
    comments: dict[str, dict[str, list[str]]]
    """proposal_id -> criterion_key -> the submitted reviews' non-empty comments."""


def score_sheet(session: Session, rfp: Rfp, stage: Stage = Stage.written) -> ScoreSheet:
    """The written stage's sheet, or with `stage` interview the finalists' interviews
    (never with consensus: an interview is the mean of its panel's scores)."""
    proposals = reviewable_proposals(session, rfp)
    if stage == Stage.interview:
        proposals = [p for p in proposals if p.finalist]
    assignments = active_assignments(session, rfp, stage)
    assigned: Counter[str] = Counter()
    reviewed: Counter[str] = Counter()
    submitted: dict[str, Assignment] = {}
    for assignment in assignments:
        assigned[assignment.proposal_id] += 1
        if assignment.status == AssignmentStatus.submitted:
            reviewed[assignment.proposal_id] += 1
            submitted[assignment.id] = assignment
    scores: dict[str, dict[str, dict[str, int]]] = {p.id: {} for p in proposals}
    comments: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if submitted:
        rows = session.exec(select(Score).where(col(Score.assignment_id).in_(list(submitted))))
        for score in rows:
            assignment = submitted[score.assignment_id]
            if assignment.proposal_id in scores:
                by_reviewer = scores[assignment.proposal_id].setdefault(assignment.reviewer_id, {})
                by_reviewer[score.criterion_key] = score.value
                if score.comment.strip():
                    comments[assignment.proposal_id][score.criterion_key].append(
                        score.comment.strip()
                    )
    consensus: dict[str, dict[str, int]] = defaultdict(dict)
    for row in session.exec(
        select(Consensus).where(col(Consensus.proposal_id).in_([p.id for p in proposals]))
    ):
        if stage == Stage.written:
            consensus[row.proposal_id][row.criterion_key] = row.value
    return ScoreSheet(
        proposals=proposals,
        scores=scores,
        consensus=dict(consensus),
        reviews={
            p.id: ReviewCount(submitted=reviewed[p.id], assigned=assigned[p.id]) for p in proposals
        },
        comments=comments,
    )


def compute_results(session: Session, rfp: Rfp) -> ResultsRead:
    sheet = score_sheet(session, rfp)
    rubric = rubric_of(rfp)
    cube = rubric_math.build_score_cube(rubric, sheet.scores)  # once, for results and agreement
    computed = {r.proposal_id: r for r in rubric_math.results_from_cube(cube, sheet.consensus)}
    ranks = ranking_math.competition_rank({pid: r.weighted_total for pid, r in computed.items()})
    names = dict(
        session.exec(
            select(Organization.id, Organization.name).where(
                col(Organization.id).in_([p.organization_id for p in sheet.proposals])
            )
        ).all()
    )
    titles = {c.key: c.title for c in rubric}
    interview = interview_totals(session, rfp)
    weight = rfp_service.content_of(rfp).stages.interview
    items = []
    for proposal in sheet.proposals:
        result = computed[proposal.id]
        items.append(
            ResultRow(
                proposal_id=proposal.id,
                organization_id=proposal.organization_id,
                organization_name=names.get(proposal.organization_id, ""),
                rank=ranks.get(proposal.id),
                weighted_total=result.weighted_total,
                normalized_total=result.normalized_total,
                criteria=[
                    CriterionResultRead(
                        key=c.key,
                        title=titles[c.key],
                        mean=c.mean,
                        consensus=c.consensus,
                        calibrated_mean=c.calibrated_mean,
                        scores=list(c.scores),
                        flagged=c.flagged,
                    )
                    for c in result.criteria
                ],
                reviews_submitted=sheet.reviews[proposal.id].submitted,
                reviews_assigned=sheet.reviews[proposal.id].assigned,
                finalist=proposal.finalist,
                interview_total=interview.get(proposal.id),
                combined_total=stages_math.combined_total(
                    result.weighted_total, interview.get(proposal.id), weight.weight
                )
                if weight is not None and proposal.finalist
                else None,
            )
        )
    items.sort(key=lambda row: (row.rank is None, row.rank or 0, row.organization_name))
    return ResultsRead(
        items=items,
        total=len(items),
        agreement=agreement_math.agreement_from_cube(cube),
    )


def interview_totals(session: Session, rfp: Rfp) -> dict[str, float | None]:
    """Each finalist's interview total (0-100, the mean of its interview panel's scores);
    empty for an RFP without an interview stage."""
    rubric = rubric_of(rfp, Stage.interview)
    if not rubric:
        return {}
    sheet = score_sheet(session, rfp, Stage.interview)
    return {
        r.proposal_id: r.weighted_total
        for r in rubric_math.proposal_results(rubric, sheet.scores, {})
    }


def results(*, session: Session, actor: User, rfp_id: str) -> ResultsRead:
    if not policies.may_manage_reviews(actor):
        raise Forbidden("Only agency staff see review results.")
    rfp = rfp_service.get_visible(session=session, user=actor, rfp_id=rfp_id)
    if not rfp_policies.can_manage(actor, rfp):
        raise NotFound("RFP")
    status = rfp_service.effective_status(rfp)
    if status in (RfpStatus.draft, RfpStatus.published):
        raise Conflict(
            "Results exist once the submission deadline has passed.", slug="rfp-still-open"
        )
    if status == RfpStatus.cancelled:
        # A cancelled RFP's bids are never opened, so there is nothing to score or rank.
        raise Conflict("The RFP was cancelled; it has no review results.", slug="rfp-cancelled")
    return compute_results(session, rfp)


def results_csv(results_read: ResultsRead) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = [c.key for c in results_read.items[0].criteria] if results_read.items else []
    writer.writerow(
        [
            "rank",
            "organization",
            "organization_id",
            "proposal_id",
            "weighted_total",
            "normalized_total",
            "reviews_submitted",
            "reviews_assigned",
        ]
        + [f"{k} mean" for k in keys]
        + [f"{k} consensus" for k in keys]
        + [f"{k} flagged" for k in keys]
    )

    def fmt(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    for row in results_read.items:
        by_key = {c.key: c for c in row.criteria}
        writer.writerow(
            [
                row.rank or "",
                _csv_safe(row.organization_name),
                row.organization_id,
                row.proposal_id,
                fmt(row.weighted_total),
                fmt(row.normalized_total),
                row.reviews_submitted,
                row.reviews_assigned,
            ]
            + [fmt(by_key[k].mean) for k in keys]
            + ["" if by_key[k].consensus is None else by_key[k].consensus for k in keys]
            + ["yes" if by_key[k].flagged else "" for k in keys]
        )
    return buffer.getvalue()


def _csv_safe(text: str) -> str:
    # Spreadsheet programs run cells that start with these as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def set_consensus(
    *, session: Session, actor: User, proposal_id: str, data: ConsensusWrite
) -> Consensus:
    if not policies.may_manage_reviews(actor):
        raise Forbidden("Only agency staff set consensus scores.")
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("Proposal")
    rfp = session.get(Rfp, proposal.rfp_id)
    if rfp is None or not rfp_policies.can_manage(actor, rfp) or proposal.status not in REVIEWABLE:
        raise NotFound("Proposal")
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp.id)
    require_review_phase(rfp)
    criterion = criterion_of(rubric_of(rfp), data.criterion_key)
    check_level(criterion, data.value, ["body", "value"])
    row = session.exec(
        select(Consensus).where(
            Consensus.proposal_id == proposal.id, Consensus.criterion_key == data.criterion_key
        )
    ).first()
    if row is None:
        row = Consensus(
            proposal_id=proposal.id,
            criterion_key=data.criterion_key,
            value=data.value,
            rationale=data.rationale,
            set_by=actor.id,
        )
    else:
        row.value, row.rationale, row.set_by, row.set_at = (
            data.value,
            data.rationale,
            actor.id,
            utcnow(),
        )
    session.add(row)
    record(
        session,
        actor,
        rfp,
        "consensus.set",
        "proposal",
        proposal.id,
        criterion_key=data.criterion_key,
        value=data.value,
    )
    session.commit()
    return row
