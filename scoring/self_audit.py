"""The Lead Partner self-audit: fixed items, answer checks, profile, responsibility flags.

The 19 items (Experience, Willingness, Readiness, Competencies) come from the Lead Partner
model report. Each answer rates an item ``met``, ``partial`` or ``not_met`` with evidence
text; an item not met needs a gap plan (one of four strategies, plus text) saying how the
partner will fill the gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DIMENSIONS: tuple[str, ...] = ("experience", "willingness", "readiness", "competencies")
DIMENSION_TITLES: Mapping[str, str] = {
    "experience": "Experience",
    "willingness": "Willingness",
    "readiness": "Readiness",
    "competencies": "Competencies",
}

RATINGS: tuple[str, ...] = ("met", "partial", "not_met")
RATING_TITLES: Mapping[str, str] = {"met": "Met", "partial": "Partially met", "not_met": "Not met"}

STRATEGIES: tuple[str, ...] = ("leverage_existing", "hire", "develop", "outsource")
STRATEGY_TITLES: Mapping[str, str] = {
    "leverage_existing": "Leverage existing staff capacity and institutional experience",
    "hire": "Acquire new capacity by hiring new staff",
    "develop": "Develop capacity in existing staff through training",
    "outsource": "Outsource capacity to Supporting Partners",
}


@dataclass(frozen=True)
class AuditItem:
    key: str
    dimension: str
    text: str


ITEMS: tuple[AuditItem, ...] = (
    AuditItem(
        "experience.high_poverty", "experience", "Results with high-poverty student populations"
    ),
    AuditItem("experience.turnaround", "experience", "Work in a school turnaround environment"),
    AuditItem("experience.high_schools", "experience", "Work in high schools"),
    AuditItem(
        "willingness.unionized_staff",
        "willingness",
        "Work with unionized teaching staff under modified contracts",
    ),
    AuditItem(
        "willingness.accountability",
        "willingness",
        "Be held accountable for student performance",
    ),
    AuditItem(
        "willingness.district_procedures",
        "willingness",
        "Operate under some but not most district procedures and regulations",
    ),
    AuditItem(
        "willingness.central_services",
        "willingness",
        "Use some but not all district central office services",
    ),
    AuditItem("readiness.ramp_up", "readiness", "Ramp up capacity quickly"),
    AuditItem(
        "readiness.modify_model",
        "readiness",
        "Modify an existing school model for a turnaround environment",
    ),
    AuditItem("readiness.new_location", "readiness", "Open or expand operations in a new location"),
    AuditItem("readiness.capital", "readiness", "Have excess cash or raise capital quickly"),
    AuditItem(
        "competencies.school_model",
        "competencies",
        "Design a comprehensive school model (instruction, socio-emotional supports, "
        "co-curriculars)",
    ),
    AuditItem(
        "competencies.culture",
        "competencies",
        "Transform culture into a positive learning environment",
    ),
    AuditItem(
        "competencies.community_engagement",
        "competencies",
        "Execute a full community engagement plan",
    ),
    AuditItem(
        "competencies.central_office",
        "competencies",
        "Work collaboratively with district central office staff",
    ),
    AuditItem(
        "competencies.school_leader", "competencies", "Identify and develop a strong school leader"
    ),
    AuditItem("competencies.teachers", "competencies", "Recruit and develop effective teachers"),
    AuditItem("competencies.multiple_schools", "competencies", "Manage multiple schools at once"),
    AuditItem(
        "competencies.operations",
        "competencies",
        "Handle operations including Supporting Partner contract management",
    ),
)
ITEMS_BY_KEY: Mapping[str, AuditItem] = {item.key: item for item in ITEMS}

RESPONSIBILITIES: Mapping[str, str] = {
    "accountability": "Accountability for student performance",
    "staffing_authority": "Authority over staffing",
    "integrated_services": "Integration of academic and student support services",
    "embedded_presence": "An embedded, 5-days-a-week presence in each school",
}

# The evidence the service looks for, per responsibility: (item, lowest rating that counts).
# An item counts only with non-blank evidence text, since a rating alone is a claim.
RESPONSIBILITY_EVIDENCE: Mapping[str, tuple[tuple[str, str], ...]] = {
    "accountability": (("willingness.accountability", "met"),),
    "staffing_authority": (("competencies.school_leader", "met"), ("competencies.teachers", "met")),
    "integrated_services": (
        ("competencies.school_model", "met"),
        ("competencies.operations", "partial"),
    ),
    "embedded_presence": (
        ("competencies.multiple_schools", "partial"),
        ("readiness.ramp_up", "partial"),
    ),
}

# Higher is better; used to compare a rating with the lowest one that counts.
_RATING_STRENGTH: Mapping[str, int] = {"not_met": 0, "partial": 1, "met": 2}


@dataclass(frozen=True)
class AuditAnswer:
    key: str
    rating: str
    evidence: str
    gap_strategy: str | None
    gap_text: str | None


def has_gap_plan(answer: AuditAnswer) -> bool:
    """A usable gap plan: a known strategy and some text."""
    return answer.gap_strategy in STRATEGIES and bool((answer.gap_text or "").strip())


def validate_answers(answers: Sequence[AuditAnswer]) -> list[tuple[str, str]]:
    """Every problem with the answers as (item key, message).

    Problems that belong to no item (an unknown key) are reported under ``"items"``.
    Missing items are not a problem here, since a draft may be partial; see
    ``missing_items``.
    """
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for answer in answers:
        if answer.key not in ITEMS_BY_KEY:
            problems.append(("items", f"'{answer.key}' is not an item of the self-audit."))
            continue
        if answer.key in seen:
            problems.append((answer.key, "This item is answered more than once."))
            continue
        seen.add(answer.key)
        if answer.gap_strategy is not None and answer.gap_strategy not in STRATEGIES:
            problems.append(
                (
                    answer.key,
                    f"The gap strategy '{answer.gap_strategy}' is not one of: "
                    f"{', '.join(STRATEGIES)}.",
                )
            )
        if answer.rating not in RATINGS:
            problems.append(
                (
                    answer.key,
                    f"The rating '{answer.rating}' is not one of: {', '.join(RATINGS)}.",
                )
            )
        elif answer.rating != "met":
            if answer.gap_strategy is None:
                problems.append((answer.key, "An item that is not fully met needs a gap strategy."))
            if not (answer.gap_text or "").strip():
                problems.append(
                    (answer.key, "An item that is not fully met needs a gap plan text.")
                )
    return problems


def missing_items(answers: Sequence[AuditAnswer]) -> list[str]:
    """Keys of the items with no answer, in item order."""
    answered = {answer.key for answer in answers}
    return [item.key for item in ITEMS if item.key not in answered]


def _valid_latest(answers: Sequence[AuditAnswer]) -> dict[str, AuditAnswer]:
    """Answers to known items with a known rating; a repeated key keeps its last answer."""
    return {
        answer.key: answer
        for answer in answers
        if answer.key in ITEMS_BY_KEY and answer.rating in RATINGS
    }


def profile(answers: Sequence[AuditAnswer]) -> dict[str, dict[str, float | int]]:
    """Per dimension: counts and shares of met, partial and not met, and plans missing.

    Shares are over all items of the dimension. An unanswered item (or one with an unknown
    rating) is not counted as not met, since the partner has not said so; it is counted in
    ``unanswered``, so the three shares add up to 1 only once every item is answered.
    ``without_plan`` counts answered items not fully met that lack a usable gap plan.
    """
    latest = _valid_latest(answers)
    result: dict[str, dict[str, float | int]] = {}
    for dimension in DIMENSIONS:
        keys = [item.key for item in ITEMS if item.dimension == dimension]
        given = [latest[key] for key in keys if key in latest]
        counts = {rating: sum(a.rating == rating for a in given) for rating in RATINGS}
        result[dimension] = {
            "items": len(keys),
            "answered": len(given),
            "unanswered": len(keys) - len(given),
            "met": counts["met"],
            "partial": counts["partial"],
            "not_met": counts["not_met"],
            "share_met": counts["met"] / len(keys),
            "share_partial": counts["partial"] / len(keys),
            "share_not_met": counts["not_met"] / len(keys),
            "without_plan": sum(a.rating != "met" and not has_gap_plan(a) for a in given),
        }
    return result


def responsibility_evidence_gaps(answers: Sequence[AuditAnswer]) -> dict[str, list[str]]:
    """For each responsibility without visible evidence, the items that fall short.

    An item is evidence when it is rated at least the level named in
    ``RESPONSIBILITY_EVIDENCE`` and its evidence text is not blank. A responsibility is
    visible only when all of its items are evidence.
    """
    latest = _valid_latest(answers)
    gaps: dict[str, list[str]] = {}
    for responsibility, required in RESPONSIBILITY_EVIDENCE.items():
        short = [
            key
            for key, lowest in required
            if not (
                key in latest
                and _RATING_STRENGTH[latest[key].rating] >= _RATING_STRENGTH[lowest]
                and latest[key].evidence.strip()
            )
        ]
        if short:
            gaps[responsibility] = short
    return gaps


def missing_responsibilities(answers: Sequence[AuditAnswer]) -> list[str]:
    """Keys of the Lead Partner responsibilities the answers show no evidence for."""
    return list(responsibility_evidence_gaps(answers))
