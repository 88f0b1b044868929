"""Reviewer assignment: exact coverage, no conflicts, balanced loads, checked by an ILP."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from scoring.reviewer_assignment import InfeasibleAssignment, assign_reviewers

Pair = tuple[str, str]


def total_loads(reviewers: list[str], existing: set[Pair], new: list[Pair]) -> dict[str, int]:
    counts = Counter(r for _, r in [*existing, *new])
    return {r: counts[r] for r in reviewers}


def test_balanced_assignment() -> None:
    proposals = ["p1", "p2", "p3", "p4"]
    reviewers = ["r1", "r2", "r3", "r4"]
    pairs = assign_reviewers(proposals, reviewers, 2, set())
    assert len(pairs) == len(set(pairs)) == 8
    assert Counter(p for p, _ in pairs) == dict.fromkeys(proposals, 2)
    assert set(total_loads(reviewers, set(), pairs).values()) == {2}
    assert pairs == sorted(pairs, key=lambda pair: (proposals.index(pair[0]), pair[1]))


def test_conflicts_are_never_assigned() -> None:
    forbidden = {("p1", "r1"), ("p2", "r2"), ("p3", "r3"), ("p4", "r1")}
    proposals, reviewers = ["p1", "p2", "p3", "p4"], ["r1", "r2", "r3", "r4"]
    pairs = assign_reviewers(proposals, reviewers, 2, forbidden)
    assert not forbidden & set(pairs)
    assert Counter(p for p, _ in pairs) == dict.fromkeys(proposals, 2)
    assert set(total_loads(reviewers, set(), pairs).values()) == {2}


def test_a_greedy_first_choice_would_fail_here() -> None:
    # Taking r1 for p1 (the first free reviewer) leaves p2, which only r1 may review,
    # without a reviewer. A flow finds the one valid assignment.
    pairs = assign_reviewers(["p1", "p2"], ["r1", "r2"], 1, {("p2", "r2")})
    assert pairs == [("p1", "r2"), ("p2", "r1")]


def test_existing_assignments_count_toward_coverage_and_load() -> None:
    existing = {("p1", "r1"), ("p1", "r2"), ("p2", "r1"), ("other", "r1")}
    pairs = assign_reviewers(["p1", "p2", "p3"], ["r1", "r2", "r3"], 2, set(), existing)
    assert Counter(p for p, _ in pairs) == {"p2": 1, "p3": 2}
    assert not existing & set(pairs)
    loads = total_loads(["r1", "r2", "r3"], existing, pairs)
    # Seven assignments over three reviewers: loads 3, 2, 2 with r1 already at 3.
    assert loads == {"r1": 3, "r2": 2, "r3": 2}


def test_nothing_needed() -> None:
    assert assign_reviewers([], ["r1"], 2, set()) == []
    assert assign_reviewers(["p1"], [], 0, set()) == []
    assert assign_reviewers(["p1"], ["r1"], 1, set(), {("p1", "r9")}) == []


def test_most_balanced_when_existing_loads_prevent_balance() -> None:
    existing = {(f"old{i}", "busy") for i in range(5)}
    pairs = assign_reviewers(["p1", "p2"], ["busy", "r2", "r3"], 1, set(), existing)
    assert total_loads(["busy", "r2", "r3"], existing, pairs) == {"busy": 5, "r2": 1, "r3": 1}


def test_conflicts_can_force_an_unbalanced_assignment() -> None:
    # Only r1 may review p1..p3; r2 gets the one proposal left for it.
    proposals = ["p1", "p2", "p3", "p4"]
    forbidden = {(p, "r2") for p in ("p1", "p2", "p3")}
    pairs = assign_reviewers(proposals, ["r1", "r2"], 1, forbidden)
    assert total_loads(["r1", "r2"], set(), pairs) == {"r1": 3, "r2": 1}


def test_infeasible_proposal_is_named() -> None:
    forbidden = {("p2", "r1"), ("p2", "r2")}
    with pytest.raises(InfeasibleAssignment) as error:
        assign_reviewers(["p1", "p2"], ["r1", "r2", "r3"], 2, forbidden)
    assert str(error.value) == "Proposal p2 has only 1 reviewer without a conflict; 2 are needed."
    assert isinstance(error.value, ValueError)


def test_infeasible_with_existing_assignments_is_explained() -> None:
    with pytest.raises(InfeasibleAssignment) as error:
        assign_reviewers(["p1"], ["r1", "r2"], 3, {("p1", "r2")}, {("p1", "r1")})
    assert str(error.value) == (
        "Proposal p1 needs 2 more reviewers, but only 0 are available without a conflict or "
        "an existing assignment."
    )


def test_too_small_a_panel_is_explained() -> None:
    with pytest.raises(InfeasibleAssignment) as error:
        assign_reviewers(["p1", "p2"], ["r1", "r2"], 3, set())
    assert str(error.value) == (
        "Not enough reviewers: each proposal needs 3, but the panel has 2 reviewers."
    )


def test_long_lists_of_short_proposals_are_summarized() -> None:
    proposals = [f"p{i}" for i in range(14)]
    with pytest.raises(InfeasibleAssignment) as error:
        assign_reviewers(proposals, ["r1"], 1, {(p, "r1") for p in proposals})
    message = str(error.value)
    assert message.count("has only 0 reviewers") == 10
    assert message.endswith("4 more proposals are short of reviewers as well.")


def test_invalid_input() -> None:
    with pytest.raises(ValueError, match="conflict with it"):
        assign_reviewers(["p1"], ["r1", "r2"], 1, {("p1", "r1")}, {("p1", "r1")})
    with pytest.raises(ValueError, match="negative"):
        assign_reviewers(["p1"], ["r1"], -1, set())
    with pytest.raises(ValueError, match="proposal is listed more than once"):
        assign_reviewers(["p1", "p1"], ["r1"], 1, set())
    with pytest.raises(ValueError, match="reviewer is listed more than once"):
        assign_reviewers(["p1"], ["r1", "r1"], 1, set())


def ilp_reference(
    proposals: list[str],
    reviewers: list[str],
    per_proposal: int,
    forbidden: set[Pair],
    existing: set[Pair],
) -> tuple[int, int] | None:
    """Independent check with scipy's MILP: the best (max load, min load), or None.

    First the smallest possible maximum total load, then under it the largest possible
    minimum total load; None when no assignment exists.
    """
    have = Counter(p for p, _ in existing)
    need = {p: max(0, per_proposal - have[p]) for p in proposals}
    load = Counter(r for _, r in existing)
    pairs = [
        (p, r)
        for p in proposals
        for r in reviewers
        if (p, r) not in forbidden and (p, r) not in existing
    ]
    if sum(need.values()) == 0:
        loads = [load[r] for r in reviewers]
        return (max(loads), min(loads)) if loads else (0, 0)
    if not reviewers:
        return None
    n = len(pairs) + 1  # pair variables, then the bound variable (max or min load)
    cover = np.zeros((len(proposals), n))
    for j, (p, _) in enumerate(pairs):
        cover[proposals.index(p), j] = 1
    per_reviewer = np.zeros((len(reviewers), n))
    for j, (_, r) in enumerate(pairs):
        per_reviewer[reviewers.index(r), j] = 1
    base = np.array([load[r] for r in reviewers], dtype=float)
    needs = np.array([need[p] for p in proposals], dtype=float)
    integral = np.ones(n)
    bounds = Bounds(np.zeros(n), np.r_[np.ones(n - 1), np.inf])

    upper_rows = per_reviewer.copy()
    upper_rows[:, -1] = -1  # existing + new - U <= 0
    first = milp(
        c=np.r_[np.zeros(n - 1), 1.0],
        constraints=[
            LinearConstraint(cover, needs, needs),
            LinearConstraint(upper_rows, -np.inf, -base),
        ],
        integrality=integral,
        bounds=bounds,
    )
    if first.status != 0:
        return None
    best_max = round(first.x[-1])

    lower_rows = per_reviewer.copy()
    lower_rows[:, -1] = -1  # existing + new - L >= 0
    second = milp(
        c=np.r_[np.zeros(n - 1), -1.0],
        constraints=[
            LinearConstraint(cover, needs, needs),
            LinearConstraint(per_reviewer, -np.inf, best_max - base),
            LinearConstraint(lower_rows, -base, np.inf),
        ],
        integrality=integral,
        bounds=bounds,
    )
    assert second.status == 0
    return best_max, round(second.x[-1])


def balance_within_one_possible(
    proposals: list[str],
    reviewers: list[str],
    per_proposal: int,
    forbidden: set[Pair],
    existing: set[Pair],
) -> bool:
    """Whether some assignment has total loads within one of each other (MILP feasibility)."""
    have = Counter(p for p, _ in existing)
    need = {p: max(0, per_proposal - have[p]) for p in proposals}
    load = Counter(r for _, r in existing)
    pairs = [
        (p, r)
        for p in proposals
        for r in reviewers
        if (p, r) not in forbidden and (p, r) not in existing
    ]
    base = np.array([load[r] for r in reviewers], dtype=float)
    if not pairs:
        return not any(need.values()) and base.max() - base.min() <= 1
    total = int(base.sum()) + sum(need.values())
    cover = np.zeros((len(proposals), len(pairs)))
    per_reviewer = np.zeros((len(reviewers), len(pairs)))
    for j, (p, r) in enumerate(pairs):
        cover[proposals.index(p), j] = 1
        per_reviewer[reviewers.index(r), j] = 1
    needs = np.array([need[p] for p in proposals], dtype=float)
    for low in range(total + 1):
        constraints = [LinearConstraint(per_reviewer, low - base, low + 1 - base)]
        if proposals:
            constraints.append(LinearConstraint(cover, needs, needs))
        found = milp(
            c=np.zeros(len(pairs)),
            constraints=constraints,
            integrality=np.ones(len(pairs)),
            bounds=Bounds(0, 1),
        )
        if found.status == 0:
            return True
    return False


@st.composite
def instances(
    draw: st.DrawFn,
) -> tuple[list[str], list[str], int, set[Pair], set[Pair]]:
    proposals = [f"p{i}" for i in range(draw(st.integers(0, 6)))]
    reviewers = [f"r{i}" for i in range(draw(st.integers(0, 5)))]
    per_proposal = draw(st.integers(0, 3))
    all_pairs = [(p, r) for p in [*proposals, "elsewhere"] for r in reviewers]
    forbidden = set(draw(st.lists(st.sampled_from(all_pairs), max_size=12))) if all_pairs else set()
    free = [pair for pair in all_pairs if pair not in forbidden]
    existing = set(draw(st.lists(st.sampled_from(free), max_size=6))) if free else set()
    return proposals, reviewers, per_proposal, forbidden, existing


@settings(max_examples=300, deadline=None)
@given(instances())
def test_assignment_matches_the_ilp_optimum(
    instance: tuple[list[str], list[str], int, set[Pair], set[Pair]],
) -> None:
    proposals, reviewers, per_proposal, forbidden, existing = instance
    reference = ilp_reference(proposals, reviewers, per_proposal, forbidden, existing)
    if reference is None:
        with pytest.raises(InfeasibleAssignment) as error:
            assign_reviewers(proposals, reviewers, per_proposal, forbidden, existing)
        assert str(error.value).strip()
        return

    pairs = assign_reviewers(proposals, reviewers, per_proposal, forbidden, existing)
    assert len(pairs) == len(set(pairs))
    assert not set(pairs) & forbidden
    assert not set(pairs) & existing
    assert {r for _, r in pairs} <= set(reviewers)
    covered = Counter(p for p, _ in [*existing, *pairs])
    for proposal in proposals:
        assert covered[proposal] == max(per_proposal, Counter(p for p, _ in existing)[proposal])
    if reviewers:
        loads = total_loads(reviewers, existing, pairs)
        assert (max(loads.values()), min(loads.values())) == reference
        if balance_within_one_possible(proposals, reviewers, per_proposal, forbidden, existing):
            assert max(loads.values()) - min(loads.values()) <= 1
