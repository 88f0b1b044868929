"""Approval rules and the plain-English reasons given for each decision."""

from collections.abc import Mapping

import pytest

from scoring.approval import ApprovalRule, Decision, decide
from scoring.rubric import Criterion, CriterionResult, Level, ProposalResult, proposal_results

ZERO_TO_FOUR = tuple(Level(v, f"Level {v}") for v in range(5))
MEETS = (Level(2, "Meets"), Level(1, "Partially meets"), Level(0, "Does not meet"))

RUBRIC = [
    Criterion("model", "School model", 50, ZERO_TO_FOUR, min_level=2),
    Criterion("staffing", "Staffing", 30, ZERO_TO_FOUR),
    Criterion("budget", "Budget", 20, ZERO_TO_FOUR, min_level=1),
]
MEETS_RUBRIC = [
    Criterion("plan", "Plan", 60, MEETS),
    Criterion("budget", "Budget", 40, MEETS, min_level=1),
]


def result(
    proposal_id: str, total: float | None, values: Mapping[str, float | None]
) -> ProposalResult:
    """A result as proposal_results would give it, with the values and total chosen."""
    return ProposalResult(
        proposal_id=proposal_id,
        criteria=tuple(
            CriterionResult(key, value, None, value, (), False) for key, value in values.items()
        ),
        weighted_total=total,
        normalized_total=total,
    )


def by_id(decisions: list[Decision]) -> dict[str, Decision]:
    return {d.proposal_id: d for d in decisions}


def test_failing_threshold_and_minimum_are_both_explained() -> None:
    rejected = result("p1", 61.3, {"model": 1.0, "staffing": 4.0, "budget": 3.0})
    (decision,) = decide(RUBRIC, [rejected], ApprovalRule(threshold=70))
    assert not decision.approved
    assert decision.reason == (
        "Weighted total 61.3 is below the threshold of 70.0; "
        "'School model' scored 1.0, below the minimum of 2."
    )
    assert (decision.rank, decision.weighted_total) == (1, 61.3)


def test_approval_explains_why() -> None:
    approved = result("p1", 82.5, {"model": 3.5, "staffing": 3.0, "budget": 2.0})
    (decision,) = decide(RUBRIC, [approved], ApprovalRule(threshold=70))
    assert decision.approved
    assert decision.reason == (
        "Weighted total 82.5 meets the threshold of 70.0; "
        "every criterion with a minimum level reaches it."
    )


def test_minimum_level_alone_rejects_a_high_total() -> None:
    high = result("p1", 91.0, {"model": 4.0, "staffing": 4.0, "budget": 0.5})
    (decision,) = decide(RUBRIC, [high], ApprovalRule(threshold=70))
    assert not decision.approved
    assert decision.reason == "'Budget' scored 0.5, below the minimum of 1."


def test_exact_threshold_and_float_noise_pass() -> None:
    values = {"model": 3.0, "staffing": 3.0, "budget": 3.0}
    decisions = decide(
        RUBRIC,
        [result("exact", 70.0, values), result("noise", 70.0 - 1e-12, values)],
        ApprovalRule(threshold=70),
    )
    assert [d.approved for d in decisions] == [True, True]


def test_numbers_near_the_bound_are_not_rounded_onto_it() -> None:
    near = result("p1", 69.96, {"model": 1.96, "staffing": 3.0, "budget": 3.0})
    (decision,) = decide(RUBRIC, [near], ApprovalRule(threshold=70))
    assert decision.reason == (
        "Weighted total 69.96 is below the threshold of 70.0; "
        "'School model' scored 1.96, below the minimum of 2."
    )


def test_meets_in_every_section() -> None:
    rule = ApprovalRule(threshold=50, all_sections_meet=True)
    decisions = by_id(
        decide(
            MEETS_RUBRIC,
            [
                result("all_meet", 100.0, {"plan": 2.0, "budget": 2.0}),
                result("one_partial", 85.0, {"plan": 2.0, "budget": 1.5}),
            ],
            rule,
        )
    )
    assert decisions["all_meet"].approved
    assert decisions["all_meet"].reason == (
        "Weighted total 100.0 meets the threshold of 50.0; every criterion with a minimum "
        "level reaches it; every section is at its top level."
    )
    assert not decisions["one_partial"].approved
    assert decisions["one_partial"].reason == (
        "'Budget' scored 1.5, short of the top level of 2 that every section must reach."
    )


def test_top_n_includes_everyone_tied_at_the_cut() -> None:
    values = {"model": 3.0, "staffing": 3.0, "budget": 3.0}
    results = [
        result("a", 90.0, values),
        result("b", 85.0, values),
        result("c", 85.0, values),
        result("d", 80.0, values),
    ]
    decisions = by_id(decide(RUBRIC, results, ApprovalRule(threshold=70, top_n=2)))
    assert [decisions[k].approved for k in "abcd"] == [True, True, True, False]
    assert [decisions[k].rank for k in "abcd"] == [1, 2, 2, 4]
    assert decisions["c"].reason == (
        "Weighted total 85.0 meets the threshold of 70.0; every criterion with a minimum "
        "level reaches it; it ranks 2nd among the 4 proposals that pass every other rule, "
        "within the top 2."
    )
    assert decisions["d"].reason == (
        "It ranks 4th among the 4 proposals that pass every other rule, and the list is "
        "capped at the top 2."
    )


def test_top_n_counts_only_proposals_that_pass_the_other_rules() -> None:
    good = {"model": 3.0, "staffing": 3.0, "budget": 3.0}
    results = [
        result("best_but_weak_model", 95.0, {"model": 1.0, "staffing": 4.0, "budget": 4.0}),
        result("second", 88.0, good),
        result("third", 84.0, good),
        result("below", 60.0, good),
    ]
    decisions = by_id(decide(RUBRIC, results, ApprovalRule(threshold=70, top_n=2)))
    assert not decisions["best_but_weak_model"].approved
    assert decisions["second"].approved and decisions["third"].approved
    assert decisions["third"].rank == 3  # the rank among all proposals, as in results
    assert "ranks 2nd among the 2 proposals" in decisions["third"].reason
    assert not decisions["below"].approved
    assert decisions["below"].reason == "Weighted total 60.0 is below the threshold of 70.0."


def test_missing_scores_are_named() -> None:
    unscored = result("p1", None, {"model": 3.0, "staffing": None, "budget": None})
    (decision,) = decide(RUBRIC, [unscored], ApprovalRule(threshold=70))
    assert not decision.approved
    assert decision.rank is None
    assert decision.reason == (
        "It has no weighted total, because 'Staffing' and 'Budget' have no score."
    )


def test_rules_apply_to_computed_results() -> None:
    def sheet(model: int, staffing: int, budget: int) -> dict[str, int]:
        return {"model": model, "staffing": staffing, "budget": budget}

    scores = {
        "strong": {"r1": sheet(4, 3, 3), "r2": sheet(3, 3, 4)},
        "weak": {"r1": sheet(1, 2, 2), "r2": sheet(2, 2, 1)},
    }
    results = proposal_results(RUBRIC, scores)
    decisions = by_id(decide(RUBRIC, results, ApprovalRule(threshold=70)))
    assert decisions["strong"].approved
    assert decisions["strong"].weighted_total == pytest.approx(
        50 * 3.5 / 4 + 30 * 0.75 + 20 * 3.5 / 4
    )
    assert not decisions["weak"].approved
    assert "'School model' scored 1.5, below the minimum of 2" in decisions["weak"].reason


def test_rule_and_input_validation() -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        ApprovalRule(threshold=120)
    with pytest.raises(ValueError, match="at least 1"):
        ApprovalRule(threshold=70, top_n=0)
    twice = result("p1", 80.0, {"model": 3.0, "staffing": 3.0, "budget": 3.0})
    with pytest.raises(ValueError, match="only once"):
        decide(RUBRIC, [twice, twice], ApprovalRule(threshold=70))
