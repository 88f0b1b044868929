"""scoring.matching: fit components, exclusions, the exact assignment and the reports.

`assign` is checked against an independent formulation: a binary program solved by
scipy.optimize.milp in two stages (most matched clusters, then most fit at that count).
"""

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from scoring.matching import (
    DEFAULT_WEIGHTS,
    GRADE_CODES,
    NEEDS_AREA_TITLES,
    NEEDS_AREAS,
    Assignment,
    ClusterInput,
    ProviderInput,
    allowed_matrix,
    assign,
    exclusion_reason,
    explain,
    first_choice_count,
    fit_breakdown,
    fit_matrix,
    grade_index,
    grade_span,
    grades_label,
    unmatched_reasons,
)


def cluster(
    id: str = "C1",
    grades: tuple[str, ...] = ("KG", "01", "02", "03"),
    needs: tuple[str, ...] = ("human_capital",),
    state: str = "IL",
    preferences: tuple[str, ...] = (),
) -> ClusterInput:
    return ClusterInput(
        id=id,
        grades=frozenset(grades),
        needs=frozenset(needs),
        state=state,
        enrollment=1800,
        poverty_rate=0.85,
        preferences=preferences,
    )


def provider(
    id: str = "P1",
    grades: tuple[str, ...] = tuple(GRADE_CODES),
    states: tuple[str, ...] = ("IL",),
    categories: tuple[str, ...] = tuple(NEEDS_AREAS),
    capacity: int = 2,
    rfp_score: float | None = 80.0,
    high_school_experience: float = 1.0,
) -> ProviderInput:
    return ProviderInput(
        id=id,
        grades=frozenset(grades),
        states=frozenset(states),
        categories=frozenset(categories),
        capacity=capacity,
        rfp_score=rfp_score,
        high_school_experience=high_school_experience,
    )


# --- grades and needs areas ---------------------------------------------------------------


def test_grade_index_follows_nces_codes() -> None:
    assert grade_index("PK") == -1
    assert grade_index("KG") == 0
    assert grade_index("01") == 1
    assert grade_index("12") == 12
    with pytest.raises(ValueError, match="unknown grade code"):
        grade_index("1")


def test_grade_span_is_inclusive() -> None:
    assert grade_span("KG", "03") == ["KG", "01", "02", "03"]
    assert grade_span("09", "09") == ["09"]
    assert grade_span("PK", "12") == list(GRADE_CODES)
    assert len(GRADE_CODES) == 14
    with pytest.raises(ValueError, match="backwards"):
        grade_span("05", "KG")


def test_grades_label_collapses_runs() -> None:
    assert grades_label(frozenset({"KG", "01", "02", "05", "09", "10"})) == "K-2, 5, 9-10"
    assert grades_label(frozenset({"PK"})) == "PK"


def test_needs_areas_have_titles() -> None:
    assert len(NEEDS_AREAS) == 8
    assert set(NEEDS_AREA_TITLES) == set(NEEDS_AREAS)
    assert NEEDS_AREA_TITLES["knowledge_management"] == "Knowledge and performance management"


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="needs areas"):
        cluster(needs=("pizza",))
    with pytest.raises(ValueError, match="grade code"):
        cluster(grades=("13",))
    with pytest.raises(ValueError, match="ranked twice"):
        cluster(preferences=("P1", "P1"))
    with pytest.raises(ValueError, match="capacity"):
        provider(capacity=-1)
    with pytest.raises(ValueError, match="RFP score"):
        provider(rfp_score=101.0)
    with pytest.raises(ValueError, match="high-school"):
        provider(high_school_experience=1.5)


# --- fit components -----------------------------------------------------------------------


def test_default_weights_sum_to_100() -> None:
    assert math.isclose(sum(DEFAULT_WEIGHTS.values()), 100.0)


def test_grades_component_is_share_of_cluster_grades_served() -> None:
    c = cluster(grades=("03", "04", "05", "06"))
    assert fit_breakdown(c, provider(grades=("KG", "01", "02", "03", "04", "05")))[
        "grades"
    ] == pytest.approx(DEFAULT_WEIGHTS["grades"] * 0.75)
    assert fit_breakdown(c, provider(grades=("09",)))["grades"] == 0.0
    assert fit_breakdown(cluster(grades=()), provider())["grades"] == DEFAULT_WEIGHTS["grades"]


def test_high_school_component_counts_only_for_high_school_clusters() -> None:
    weak = provider(high_school_experience=0.5)
    high = cluster(grades=("09", "10", "11", "12"))
    assert fit_breakdown(high, weak)["high_school"] == pytest.approx(
        DEFAULT_WEIGHTS["high_school"] * 0.5
    )
    assert fit_breakdown(high, provider(high_school_experience=0.0))["high_school"] == 0.0
    # An elementary cluster takes no high-school risk: full marks whatever the audit says.
    assert (
        fit_breakdown(cluster(), provider(high_school_experience=0.0))["high_school"]
        == (DEFAULT_WEIGHTS["high_school"])
    )


def test_needs_component_is_share_of_needs_covered() -> None:
    c = cluster(needs=("human_capital", "extended_day", "policy_and_legal"))
    p = provider(categories=("human_capital", "extended_day", "grades_k_8"))
    assert fit_breakdown(c, p)["needs"] == pytest.approx(DEFAULT_WEIGHTS["needs"] * 2 / 3)
    assert fit_breakdown(cluster(needs=()), p)["needs"] == DEFAULT_WEIGHTS["needs"]
    assert fit_breakdown(c, provider(categories=()))["needs"] == 0.0


def test_score_component_uses_rfp_total_or_neutral_half() -> None:
    assert fit_breakdown(cluster(), provider(rfp_score=82.5))["score"] == pytest.approx(
        DEFAULT_WEIGHTS["score"] * 0.825
    )
    assert fit_breakdown(cluster(), provider(rfp_score=None))["score"] == pytest.approx(
        DEFAULT_WEIGHTS["score"] * 0.5
    )


def test_preference_component_falls_linearly_from_first_to_last_ranked() -> None:
    c = cluster(preferences=("A", "B", "C"))
    values = [fit_breakdown(c, provider(id=pid))["preference"] for pid in ("A", "B", "C", "D")]
    w = DEFAULT_WEIGHTS["preference"]
    assert values == pytest.approx([w, w * 0.75, w * 0.5, 0.0])
    assert fit_breakdown(cluster(preferences=("A",)), provider(id="A"))["preference"] == w
    assert fit_breakdown(cluster(), provider(id="A"))["preference"] == 0.0


def test_breakdown_total_is_sum_of_contributions_on_0_to_100() -> None:
    best = fit_breakdown(
        cluster(grades=("09", "10"), preferences=("P1",)), provider(rfp_score=100.0)
    )
    assert best["total"] == pytest.approx(100.0)
    worst = fit_breakdown(
        cluster(grades=("09",), preferences=("X",)),
        provider(grades=("KG",), categories=(), rfp_score=0.0, high_school_experience=0.0),
    )
    assert worst["total"] == 0.0
    parts = fit_breakdown(cluster(), provider())
    assert parts["total"] == pytest.approx(sum(v for k, v in parts.items() if k != "total"))


def test_custom_weights_are_checked() -> None:
    only_grades = {"grades": 100.0}
    assert fit_breakdown(cluster(), provider(grades=("KG", "01")), only_grades)[
        "total"
    ] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="sum to 100"):
        fit_breakdown(cluster(), provider(), {"grades": 50.0})
    with pytest.raises(ValueError, match="unknown"):
        fit_breakdown(cluster(), provider(), {"charisma": 100.0})
    with pytest.raises(ValueError, match="non-negative"):
        fit_matrix([cluster()], [provider()], {"grades": 120.0, "score": -20.0})


def test_fit_matrix_ignores_ranked_providers_absent_from_the_run() -> None:
    c = cluster(preferences=("GONE", "P1"))
    matrix = fit_matrix([c], [provider(id="P1")])
    # P1 keeps its second-place value: the district's first choice is not in this run.
    assert matrix[0, 0] == pytest.approx(fit_breakdown(c, provider(id="P1"))["total"])
    assert fit_breakdown(c, provider(id="P1"))["preference"] == pytest.approx(
        DEFAULT_WEIGHTS["preference"] * 0.5
    )


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="provider ids"):
        fit_matrix([cluster()], [provider(), provider()])
    with pytest.raises(ValueError, match="cluster ids"):
        allowed_matrix([cluster(), cluster()], [provider()], set(), set())


# --- random instances for the vectorized paths --------------------------------------------

STATES = ("IL", "TX", "NY")


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[ClusterInput], list[ProviderInput]]:
    n_providers = draw(st.integers(0, 6))
    provider_ids = [f"P{j}" for j in range(n_providers)]
    providers = [
        ProviderInput(
            id=pid,
            grades=draw(st.frozensets(st.sampled_from(GRADE_CODES))),
            states=draw(st.frozensets(st.sampled_from(STATES))),
            categories=draw(st.frozensets(st.sampled_from((*NEEDS_AREAS, "grades_9_12")))),
            capacity=draw(st.integers(0, 3)),
            rfp_score=draw(st.none() | st.floats(0, 100)),
            high_school_experience=draw(st.sampled_from((0.0, 0.5, 1.0)) | st.floats(0, 1)),
        )
        for pid in provider_ids
    ]
    ranked_pool = [*provider_ids, "ELSEWHERE"]
    clusters = [
        ClusterInput(
            id=f"C{i}",
            grades=draw(st.frozensets(st.sampled_from(GRADE_CODES))),
            needs=draw(st.frozensets(st.sampled_from(NEEDS_AREAS))),
            state=draw(st.sampled_from(STATES)),
            enrollment=draw(st.integers(0, 5000)),
            poverty_rate=draw(st.none() | st.floats(0, 1)),
            preferences=tuple(
                draw(st.lists(st.sampled_from(ranked_pool), unique=True, max_size=4))
            ),
        )
        for i in range(draw(st.integers(0, 8)))
    ]
    return clusters, providers


@settings(max_examples=150, deadline=None)
@given(instances())
def test_fit_matrix_matches_breakdown_for_every_pair(
    instance: tuple[list[ClusterInput], list[ProviderInput]],
) -> None:
    clusters, providers = instance
    matrix = fit_matrix(clusters, providers)
    assert matrix.shape == (len(clusters), len(providers))
    for i, c in enumerate(clusters):
        for j, p in enumerate(providers):
            assert matrix[i, j] == pytest.approx(fit_breakdown(c, p)["total"], abs=1e-9)
            assert -1e-9 <= matrix[i, j] <= 100 + 1e-9


@settings(max_examples=150, deadline=None)
@given(instances(), st.data())
def test_allowed_matrix_agrees_with_exclusion_reason(
    instance: tuple[list[ClusterInput], list[ProviderInput]], data: st.DataObject
) -> None:
    clusters, providers = instance
    pairs = [(c.id, p.id) for c in clusters for p in providers] + [("C99", "P99")]
    declined = data.draw(st.sets(st.sampled_from(pairs)))
    conflicts = data.draw(st.sets(st.sampled_from(pairs)))
    allowed = allowed_matrix(clusters, providers, declined, conflicts)
    assert allowed.dtype == np.bool_
    for i, c in enumerate(clusters):
        for j, p in enumerate(providers):
            assert allowed[i, j] == (exclusion_reason(c, p, declined, conflicts) is None)


# --- exclusions ---------------------------------------------------------------------------


def test_exclusion_reasons_in_order() -> None:
    c = cluster(grades=("09", "10"))
    p = provider(grades=("09",))
    pair = {(c.id, p.id)}
    assert exclusion_reason(c, p, set(), set()) is None
    assert exclusion_reason(c, replace(p, states=frozenset({"TX"})), pair, pair) == (
        "The provider does not operate in IL"
    )
    assert exclusion_reason(c, p, pair, pair) == "This pairing was declined in an earlier run"
    assert exclusion_reason(c, p, set(), pair) == (
        "A conflict of interest is recorded for this pairing"
    )
    assert exclusion_reason(c, replace(p, capacity=0), set(), set()) == (
        "The provider has no capacity for another cluster"
    )
    assert exclusion_reason(c, replace(p, grades=frozenset({"KG", "01"})), set(), set()) == (
        "The provider serves none of the cluster's grades (9-10)"
    )
    # Another cluster's exclusions do not leak onto this one.
    assert exclusion_reason(c, p, {("C2", p.id)}, {(c.id, "P2")}) is None


# --- assignment ---------------------------------------------------------------------------


def check_feasible(
    result: Assignment, fit: np.ndarray, capacity: np.ndarray, allowed: np.ndarray
) -> None:
    clusters = [i for i, _ in result.pairs]
    assert len(clusters) == len(set(clusters)), "a cluster got two providers"
    for j in range(fit.shape[1]):
        assert sum(1 for _, q in result.pairs if q == j) <= capacity[j]
    assert all(allowed[i, j] for i, j in result.pairs)
    assert result.matched == len(result.pairs)
    assert result.objective == pytest.approx(sum(fit[i, j] for i, j in result.pairs), abs=1e-9)


def reference(fit: np.ndarray, capacity: np.ndarray, allowed: np.ndarray) -> tuple[int, float]:
    """Max matched count, then max total fit at that count, by binary programming."""
    rows, cols = np.nonzero(allowed)
    n, m = fit.shape
    e = rows.size
    if e == 0:
        return 0, 0.0
    ones = np.ones(e)
    a_cluster = sparse.csr_matrix((ones, (rows, np.arange(e))), shape=(n, e))
    a_provider = sparse.csr_matrix((ones, (cols, np.arange(e))), shape=(m, e))
    limits = [
        LinearConstraint(a_cluster, -np.inf, 1),
        LinearConstraint(a_provider, -np.inf, capacity.astype(float)),
    ]
    options = {"mip_rel_gap": 0.0}
    most = milp(-ones, integrality=ones, bounds=Bounds(0, 1), constraints=limits, options=options)
    assert most.success
    count = round(-most.fun)
    best = milp(
        -fit[rows, cols],
        integrality=ones,
        bounds=Bounds(0, 1),
        constraints=[*limits, LinearConstraint(ones[None, :], count, count)],
        options=options,
    )
    assert best.success
    chosen = best.x > 0.5
    return int(chosen.sum()), float(fit[rows[chosen], cols[chosen]].sum())


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 8))
    m = draw(st.integers(0, 6))
    # Few distinct values make ties common; free floats cover the general case.
    value = st.sampled_from((0.0, 10.0, 50.0, 50.5, 100.0)) | st.floats(0, 100)
    fit = np.array(draw(st.lists(value, min_size=n * m, max_size=n * m)), dtype=float)
    allowed = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)), dtype=bool)
    capacity = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)), dtype=int)
    return fit.reshape(n, m), capacity, allowed.reshape(n, m)


@settings(max_examples=400, deadline=None)
@given(problems())
def test_assign_is_feasible_and_optimal_against_milp(
    problem: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    fit, capacity, allowed = problem
    result = assign(fit, capacity, allowed)
    check_feasible(result, fit, capacity, allowed)
    matched, objective = reference(fit, capacity, allowed)
    assert result.matched == matched
    assert result.objective == pytest.approx(objective, abs=1e-6)


def test_assign_puts_more_matches_before_more_fit() -> None:
    # A alone with P1 scores 100; A-P2 plus B-P1 scores 2 but matches both clusters.
    fit = np.array([[100.0, 1.0], [1.0, 0.0]])
    allowed = np.array([[True, True], [True, False]])
    result = assign(fit, np.array([1, 1]), allowed)
    assert result.pairs == [(0, 1), (1, 0)]
    assert result.matched == 2
    assert result.objective == pytest.approx(2.0)


def test_assign_beats_greedy_on_total_fit() -> None:
    # Greedy takes the 90 first and ends with 90 + 10; the optimum is 80 + 80.
    fit = np.array([[90.0, 80.0], [80.0, 10.0]])
    result = assign(fit, np.array([1, 1]), np.ones((2, 2), dtype=bool))
    assert result.pairs == [(0, 1), (1, 0)]
    assert result.objective == pytest.approx(160.0)


def test_assign_uses_capacity_beyond_one() -> None:
    fit = np.array([[70.0], [60.0], [50.0]])
    result = assign(fit, np.array([2]), np.ones((3, 1), dtype=bool))
    assert result.pairs == [(0, 0), (1, 0)]


def test_assign_degenerate_inputs() -> None:
    empty = assign(np.zeros((0, 3)), np.array([1, 1, 1]), np.zeros((0, 3), dtype=bool))
    assert empty == Assignment(pairs=[], objective=0.0, matched=0)
    no_providers = assign(np.zeros((2, 0)), np.zeros(0, dtype=int), np.zeros((2, 0), dtype=bool))
    assert no_providers.matched == 0
    nothing_allowed = assign(np.ones((2, 2)), np.array([1, 1]), np.zeros((2, 2), dtype=bool))
    assert nothing_allowed.matched == 0
    no_capacity = assign(np.ones((2, 2)), np.array([0, 0]), np.ones((2, 2), dtype=bool))
    assert no_capacity.matched == 0


def test_assign_ignores_values_of_disallowed_pairs() -> None:
    fit = np.array([[np.nan, 40.0], [-np.inf, 30.0]])
    result = assign(fit, np.array([1, 2]), np.array([[False, True], [False, True]]))
    assert result.pairs == [(0, 1), (1, 1)]


def test_assign_validates_inputs() -> None:
    ok = np.ones((2, 2), dtype=bool)
    with pytest.raises(ValueError, match="same shape"):
        assign(np.ones((2, 3)), np.array([1, 1, 1]), ok)
    with pytest.raises(ValueError, match="one entry per provider"):
        assign(np.ones((2, 2)), np.array([1]), ok)
    with pytest.raises(ValueError, match="negative"):
        assign(np.ones((2, 2)), np.array([1, -1]), ok)
    with pytest.raises(ValueError, match="whole numbers"):
        assign(np.ones((2, 2)), np.array([1, 1.5]), ok)
    with pytest.raises(ValueError, match="finite"):
        assign(np.array([[np.nan, 1.0], [1.0, 1.0]]), np.array([1, 1]), ok)


def test_assign_end_to_end_on_inputs() -> None:
    clusters = [
        cluster("C1", grades=("09", "10", "11", "12")),
        cluster("C2", grades=("KG", "01", "02")),
        cluster("C3", state="TX"),
    ]
    providers = [
        provider("HS", grades=("09", "10", "11", "12"), capacity=1),
        provider("ELEM", grades=("PK", "KG", "01", "02", "03", "04", "05"), capacity=1),
    ]
    fit = fit_matrix(clusters, providers)
    allowed = allowed_matrix(clusters, providers, set(), set())
    capacity = np.array([p.capacity for p in providers])
    result = assign(fit, capacity, allowed)
    assert result.pairs == [(0, 0), (1, 1)]
    reasons = unmatched_reasons(clusters, providers, allowed, result)
    assert reasons == {2: "No preferred provider may serve this cluster: 2 not operating in TX"}


# --- preferences --------------------------------------------------------------------------


def test_first_choice_wins_when_otherwise_equal() -> None:
    c = cluster(preferences=("P2", "P1"))
    providers = [provider("P1"), provider("P2")]
    fit = fit_matrix([c], providers)
    assert fit[0, 1] > fit[0, 0]
    result = assign(fit, np.array([1, 1]), np.ones((1, 2), dtype=bool))
    assert result.pairs == [(0, 1)]
    assert first_choice_count([c], providers, result) == 1


def test_ranked_provider_goes_to_the_cluster_that_ranked_it() -> None:
    # One provider, two otherwise identical clusters: the one whose district ranked it wins.
    clusters = [cluster("C1"), cluster("C2", preferences=("P1",))]
    providers = [provider("P1", capacity=1)]
    fit = fit_matrix(clusters, providers)
    result = assign(fit, np.array([1]), np.ones((2, 1), dtype=bool))
    assert result.pairs == [(1, 0)]


def test_strong_ranking_outweighs_a_modestly_better_fit() -> None:
    c = cluster(needs=("human_capital", "extended_day"), preferences=("RANKED",))
    ranked = provider("RANKED", categories=("human_capital",), rfp_score=70.0)
    unranked = provider("OTHER", rfp_score=95.0)
    fit = fit_matrix([c], [ranked, unranked])
    assert fit[0, 0] > fit[0, 1]


def test_first_choice_count_counts_only_first_ranked() -> None:
    clusters = [
        cluster("C1", preferences=("P1", "P2")),
        cluster("C2", preferences=("P1", "P2")),
        cluster("C3"),
    ]
    providers = [provider("P1"), provider("P2")]
    result = Assignment(pairs=[(0, 0), (1, 1), (2, 0)], objective=0.0, matched=3)
    assert first_choice_count(clusters, providers, result) == 1


# --- unmatched reasons --------------------------------------------------------------------


def test_unmatched_reasons_summarize_exclusions() -> None:
    c = cluster("C1", grades=("09", "10"))
    providers = [
        provider("A", states=("TX",)),
        provider("B", states=("TX", "NY")),
        provider("C"),
        provider("D"),
        provider("E", capacity=0),
        provider("F", grades=("KG",)),
    ]
    declined = {("C1", "C")}
    conflicts = {("C1", "D"), ("C1", "A")}
    allowed = allowed_matrix([c], providers, declined, conflicts)
    result = assign(fit_matrix([c], providers), np.array([p.capacity for p in providers]), allowed)
    assert result.matched == 0
    reasons = unmatched_reasons(
        [c], providers, allowed, result, declined=declined, conflicts=conflicts
    )
    assert reasons == {
        0: "No preferred provider may serve this cluster: 2 not operating in IL, "
        "1 declined earlier, 1 with a conflict of interest, 1 without capacity, "
        "1 serving none of its grades"
    }
    # Without the pair sets the last two kinds cannot be told apart.
    assert unmatched_reasons([c], providers, allowed, result) == {
        0: "No preferred provider may serve this cluster: 2 not operating in IL, "
        "1 without capacity, 1 serving none of its grades, "
        "2 declined earlier or with a conflict of interest"
    }


def test_unmatched_reasons_when_capacity_is_taken() -> None:
    clusters = [cluster("C1", preferences=("P1",)), cluster("C2")]
    providers = [provider("P1", capacity=1)]
    allowed = allowed_matrix(clusters, providers, set(), set())
    result = assign(fit_matrix(clusters, providers), np.array([1]), allowed)
    assert result.pairs == [(0, 0)]
    assert unmatched_reasons(clusters, providers, allowed, result) == {
        1: "Every provider allowed for this cluster is at capacity with better-fitting clusters"
    }


def test_unmatched_reasons_without_providers() -> None:
    result = Assignment(pairs=[], objective=0.0, matched=0)
    reasons = unmatched_reasons([cluster()], [], np.zeros((1, 0), dtype=bool), result)
    assert reasons == {0: "No preferred provider may serve this cluster: no providers in this run"}


def test_matched_clusters_have_no_unmatched_reason() -> None:
    clusters = [cluster("C1")]
    providers = [provider("P1")]
    allowed = allowed_matrix(clusters, providers, set(), set())
    result = assign(fit_matrix(clusters, providers), np.array([2]), allowed)
    assert unmatched_reasons(clusters, providers, allowed, result) == {}


# --- explanations -------------------------------------------------------------------------


def test_explain_reads_as_one_plain_sentence() -> None:
    c = cluster(
        grades=("KG", "01", "02", "03"),
        needs=("human_capital", "extended_day", "policy_and_legal"),
        preferences=("P1", "P2"),
    )
    p = provider(categories=("human_capital", "extended_day"), rfp_score=82.5)
    breakdown = fit_breakdown(c, p)
    assert explain(c, p, breakdown) == (
        "Serves all 4 of the cluster's grades; covers 2 of 3 needs areas "
        "(human capital, extended day); RFP score 82.5; the district's first choice; "
        f"fit {round(breakdown['total'], 1):g} of 100."
    )


def test_explain_mentions_gaps_high_school_and_ranking() -> None:
    c = cluster(
        grades=("08", "09", "10"),
        needs=("rigorous_instruction", "knowledge_management"),
        preferences=("X", "Y", "P1"),
    )
    p = provider(
        grades=("09", "10", "11", "12"),
        categories=(),
        rfp_score=None,
        high_school_experience=0.5,
    )
    text = explain(c, p, fit_breakdown(c, p))
    assert text.startswith("Serves 2 of the cluster's 3 grades (not 8); ")
    assert "high-school experience partly met" in text
    assert "covers none of the 2 needs areas" in text
    assert "no RFP score on file" in text
    assert "the district's 3rd choice of 3" in text
    assert text.endswith(" of 100.")

    unranked = explain(c, replace(p, id="Z"), fit_breakdown(c, replace(p, id="Z")))
    assert "not among the providers the district ranked" in unranked


def test_explain_covers_all_needs_and_no_grades() -> None:
    c = cluster(grades=(), needs=("human_capital", "extended_day"))
    text = explain(c, provider(), fit_breakdown(c, provider()))
    assert text.startswith("The cluster lists no grades; covers all 2 needs areas")
    assert "choice" not in text
