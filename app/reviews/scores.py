"""Scoring one assignment: the reviewer's view beside the proposal, autosaved scores with
their history, and the submission once every criterion is scored."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Conflict, Unprocessable
from app.proposals import service as proposal_service
from app.reviews.assignments import own_assignment
from app.reviews.models import (
    Assignment,
    AssignmentStatus,
    Score,
    ScoreHistory,
    Stage,
)
from app.reviews.schemas import (
    AssignmentDetail,
    ScoreItem,
    ScoresSaved,
    ScoresWrite,
)
from app.reviews.stage import criteria_of, record, require_review_phase, rubric_of
from scoring import rubric as rubric_math


def criterion_of(rubric: Sequence[rubric_math.Criterion], key: str) -> rubric_math.Criterion:
    """The rubric's criterion `key` (422 if the rubric has none)."""
    for criterion in rubric:
        if criterion.key == key:
            return criterion
    raise Unprocessable.at(
        ["body", "criterion_key"], f"'{key}' is not a criterion of this RFP's rubric."
    )


def check_level(criterion: rubric_math.Criterion, value: int, loc: list[str | int]) -> None:
    """A 422 at `loc` unless `value` is one of the criterion's levels (the core's rule)."""
    try:
        rubric_math.check_level(criterion, value)
    except ValueError:
        levels = ", ".join(map(str, criterion.level_values))
        raise Unprocessable.at(
            loc, f"{value} is not a level of '{criterion.title}' (levels: {levels})."
        ) from None


def _current_scores(session: Session, assignment_id: str) -> list[Score]:
    return list(session.exec(select(Score).where(Score.assignment_id == assignment_id)))


def assignment_detail(*, session: Session, actor: User, assignment_id: str) -> AssignmentDetail:
    assignment, rfp, proposal = own_assignment(session, actor, assignment_id)
    scores = {s.criterion_key: s for s in _current_scores(session, assignment.id)}
    criteria = criteria_of(rfp, assignment.stage)
    return AssignmentDetail(
        id=assignment.id,
        rfp_id=rfp.id,
        stage=Stage(assignment.stage),
        status=AssignmentStatus(assignment.status),
        proposal=proposal_service.read(
            session=session, proposal=proposal, rfp=rfp, working_copy=False
        ),
        criteria=criteria,
        scores=[
            ScoreItem(criterion_key=c.key, value=scores[c.key].value, comment=scores[c.key].comment)
            for c in criteria
            if c.key in scores
        ],
    )


def save_scores(
    *, session: Session, actor: User, assignment_id: str, data: ScoresWrite
) -> ScoresSaved:
    assignment, rfp, _ = own_assignment(session, actor, assignment_id, lock=True)
    require_review_phase(rfp)
    if assignment.status != AssignmentStatus.assigned:
        raise Conflict(
            "This review was submitted; ask the RFP staff to reopen it to change scores."
        )
    rubric = rubric_of(rfp, assignment.stage)
    for n, item in enumerate(data.scores):
        criterion = criterion_of(rubric, item.criterion_key)
        check_level(criterion, item.value, ["body", "scores", n, "value"])
    current = {s.criterion_key: s for s in _current_scores(session, assignment.id)}
    now = utcnow()
    for item in data.scores:
        score = current.get(item.criterion_key) or Score(
            assignment_id=assignment.id, criterion_key=item.criterion_key, value=item.value
        )
        score.value, score.comment, score.updated_at = item.value, item.comment, now
        session.add(score)
        session.add(
            ScoreHistory(
                assignment_id=assignment.id,
                criterion_key=item.criterion_key,
                value=item.value,
                comment=item.comment,
                saved_by=actor.id,
                saved_at=now,
            )
        )
    record(
        session,
        actor,
        rfp,
        "scores.saved",
        "assignment",
        assignment.id,
        criteria=[i.criterion_key for i in data.scores],
    )
    session.commit()
    saved = {key: (s.value, s.comment) for key, s in current.items()}
    saved.update({item.criterion_key: (item.value, item.comment) for item in data.scores})
    return ScoresSaved(
        id=assignment.id,
        rfp_id=rfp.id,
        status=AssignmentStatus(assignment.status),
        scores=[
            ScoreItem(criterion_key=c.key, value=saved[c.key][0], comment=saved[c.key][1])
            for c in rubric
            if c.key in saved
        ],
    )


def submit_assignment(*, session: Session, actor: User, assignment_id: str) -> Assignment:
    assignment, rfp, _ = own_assignment(session, actor, assignment_id, lock=True)
    require_review_phase(rfp)
    if assignment.status != AssignmentStatus.assigned:
        raise Conflict("This review was already submitted.")
    scores = {s.criterion_key: s for s in _current_scores(session, assignment.id)}
    errors: list[dict[str, Any]] = []
    for criterion in rubric_of(rfp, assignment.stage):
        score = scores.get(criterion.key)
        if score is None:
            errors.append({"loc": ["scores", criterion.key], "msg": f"Score '{criterion.title}'."})
        elif rubric_math.is_low_score(criterion, score.value) and not score.comment.strip():
            errors.append(
                {
                    "loc": ["scores", criterion.key],
                    "msg": f"Explain the low score for '{criterion.title}' in a comment.",
                }
            )
    if errors:
        raise Unprocessable(
            f"The review is not complete: {len(errors)} item(s).",
            slug="incomplete-review",
            errors=errors,
        )
    assignment.status = AssignmentStatus.submitted
    assignment.submitted_at = utcnow()
    session.add(assignment)
    record(session, actor, rfp, "assignment.submitted", "assignment", assignment.id)
    session.commit()
    return assignment
