"""Rubric scales, weighted totals, rubric validation and per-proposal results."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.rubric import (
    Criterion,
    Level,
    calibrated_means,
    check_level,
    criterion_fraction,
    is_low_score,
    max_points,
    points_total,
    points_weights,
    proposal_results,
    validate_rubric,
    weighted_total,
)


def scale(*values: int) -> tuple[Level, ...]:
    return tuple(Level(v, f"Level {v}") for v in values)


ZERO_TO_FOUR = scale(0, 1, 2, 3, 4)
MEETS_PARTIAL = (Level(2, "Meets"), Level(1, "Partially meets"), Level(0, "Does not meet"))
MEETS_OR_NOT = (Level(1, "Meets"), Level(0, "Does not meet"))
POINTS = scale(0, 1, 3, 5)


def test_zero_to_four_scale_total_by_hand() -> None:
    criteria = [
        Criterion("model", "School model", 40, ZERO_TO_FOUR),
        Criterion("staffing", "Staffing", 60, ZERO_TO_FOUR),
    ]
    # 40 * 3/4 + 60 * 2/4 = 30 + 30
    assert weighted_total(criteria, {"model": 3, "staffing": 2}) == pytest.approx(60.0)
    assert weighted_total(criteria, {"model": 4, "staffing": 4}) == pytest.approx(100.0)
    assert weighted_total(criteria, {"model": 0, "staffing": 0}) == pytest.approx(0.0)
    # Means are fractional: 40 * 2.5/4 + 60 * 1/4 = 25 + 15
    assert weighted_total(criteria, {"model": 2.5, "staffing": 1}) == pytest.approx(40.0)


def test_meets_partially_does_not_scale_total_by_hand() -> None:
    criteria = [
        Criterion("a", "A", 50, MEETS_PARTIAL),
        Criterion("b", "B", 30, MEETS_PARTIAL),
        Criterion("c", "C", 20, MEETS_PARTIAL),
    ]
    # 50 * 1 + 30 * 1/2 + 20 * 0
    assert weighted_total(criteria, {"a": 2, "b": 1, "c": 0}) == pytest.approx(65.0)


def test_meets_or_does_not_scale_total_by_hand() -> None:
    criteria = [Criterion(k, k.upper(), 25, MEETS_OR_NOT) for k in ("a", "b", "c", "d")]
    assert weighted_total(criteria, {"a": 1, "b": 1, "c": 0, "d": 1}) == pytest.approx(75.0)


def test_points_scale_with_multipliers_total_by_hand() -> None:
    base = [
        Criterion("x", "X", 1, POINTS, multiplier=3),
        Criterion("y", "Y", 1, POINTS, multiplier=2),
        Criterion("z", "Z", 1, POINTS, multiplier=1),
    ]
    weights = points_weights(base)
    assert weights == pytest.approx({"x": 50.0, "y": 100 / 3, "z": 50 / 3})
    criteria = [
        Criterion(c.key, c.title, weights[c.key], c.levels, multiplier=c.multiplier) for c in base
    ]
    values = {"x": 3, "y": 5, "z": 1}
    # Points: 3*3 + 5*2 + 1*1 = 20 of 5*3 + 5*2 + 5*1 = 30.
    assert points_total(criteria, values) == pytest.approx(20.0)
    assert max_points(criteria) == pytest.approx(30.0)
    # 0/1/3/5: a 3 is 3/5 of the scale, a 1 is 1/5: 50*0.6 + 33.3*1 + 16.7*0.2 = 66.7
    assert weighted_total(criteria, values) == pytest.approx(200 / 3)
    assert weighted_total(criteria, values) == pytest.approx(
        100 * points_total(criteria, values) / max_points(criteria)
    )


def test_weight_not_multiplier_decides_the_total() -> None:
    criteria = [
        Criterion("x", "X", 40, POINTS, multiplier=3),
        Criterion("y", "Y", 40, POINTS, multiplier=2),
        Criterion("z", "Z", 20, POINTS, multiplier=1),
    ]
    values = {"x": 3, "y": 5, "z": 1}
    assert weighted_total(criteria, values) == pytest.approx(40 * 0.6 + 40 * 1 + 20 * 0.2)
    assert points_total(criteria, values) == pytest.approx(20.0)


def test_criterion_properties_and_fraction() -> None:
    points = Criterion("x", "X", 100, POINTS)
    assert (points.min_value, points.max_value, points.midpoint) == (0, 5, 2.5)
    assert points.level_values == (0, 1, 3, 5)
    assert criterion_fraction(points, 3) == pytest.approx(0.6)
    shifted = Criterion("s", "S", 100, scale(1, 2, 3, 4, 5))
    assert criterion_fraction(shifted, 1) == 0.0
    assert criterion_fraction(shifted, 3) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="outside its scale"):
        criterion_fraction(shifted, 0)
    with pytest.raises(ValueError, match="outside its scale"):
        criterion_fraction(shifted, math.nan)


def test_weighted_total_rejects_missing_unknown_and_out_of_range() -> None:
    criteria = [Criterion("a", "A", 50, ZERO_TO_FOUR), Criterion("b", "B", 50, ZERO_TO_FOUR)]
    with pytest.raises(ValueError, match="No value for criteria: b"):
        weighted_total(criteria, {"a": 1})
    with pytest.raises(ValueError, match="not in the rubric: c"):
        weighted_total(criteria, {"a": 1, "b": 1, "c": 2})
    with pytest.raises(ValueError, match="outside its scale"):
        weighted_total(criteria, {"a": 1, "b": 4.5})


def test_check_level_accepts_only_levels() -> None:
    points = Criterion("x", "X", 100, POINTS)
    check_level(points, 3)
    with pytest.raises(ValueError, match=r"2 is not one of its levels \(0, 1, 3, 5\)"):
        check_level(points, 2)


@pytest.mark.parametrize(
    ("levels", "low", "not_low"),
    [(ZERO_TO_FOUR, 1, 2), (MEETS_PARTIAL, 0, 1), (MEETS_OR_NOT, 0, 1), (POINTS, 1, 3)],
)
def test_low_score_is_below_the_midpoint(levels: tuple[Level, ...], low: int, not_low: int) -> None:
    criterion = Criterion("k", "K", 100, levels)
    assert is_low_score(criterion, low)
    assert not is_low_score(criterion, not_low)


def test_valid_rubric_has_no_problems() -> None:
    criteria = [
        Criterion("a", "A", 70, ZERO_TO_FOUR, min_level=2),
        Criterion("b", "B", 30, MEETS_PARTIAL),
    ]
    assert validate_rubric(criteria) == []


def test_validate_rubric_reports_every_problem() -> None:
    criteria = [
        Criterion("a", "A", 50, (Level(1, "Only level"),)),
        Criterion("a", "Again", 0, scale(0, 1)),
        Criterion("c", "C", 20, (Level(0, "No"), Level(0, "Zero"), Level(1, " "))),
        Criterion("d", "D", 20, ZERO_TO_FOUR, min_level=7),
    ]
    problems = validate_rubric(criteria)
    expected = [
        "Criterion 'a' needs at least two levels with different values.",
        "Criterion 'a' appears more than once; keys must be unique.",
        "Criterion 'a' has weight 0; weights must be above 0.",
        "Criterion 'c' has more than one level with value 0.",
        "Criterion 'c': level 1 has no descriptor.",
        "Criterion 'd': the minimum level 7 is not one of its levels.",
        "The weights add up to 90; they must add up to 100.",
    ]
    assert problems == expected
    assert validate_rubric([]) == ["The rubric has no criteria."]


def test_weights_may_be_fractional_within_tolerance() -> None:
    criteria = [Criterion(k, k, 100 / 3, ZERO_TO_FOUR) for k in ("a", "b", "c")]
    assert validate_rubric(criteria) == []


RUBRIC = [
    Criterion("model", "School model", 50, ZERO_TO_FOUR, min_level=2),
    Criterion("staffing", "Staffing", 30, ZERO_TO_FOUR),
    Criterion("budget", "Budget", 20, MEETS_PARTIAL),
]


def test_proposal_results_means_and_totals() -> None:
    scores = {
        "p1": {
            "r1": {"model": 3, "staffing": 2, "budget": 2},
            "r2": {"model": 4, "staffing": 2, "budget": 1},
        },
        "p2": {"r1": {"model": 1, "staffing": 1, "budget": 0}},
    }
    p1, p2 = proposal_results(RUBRIC, scores, calibrate=False)
    assert p1.proposal_id == "p1"
    model, staffing, budget = p1.criteria
    assert (model.key, model.mean, model.value, model.scores) == ("model", 3.5, 3.5, (3, 4))
    assert budget.mean == 1.5
    assert staffing.consensus is None
    # 50 * 3.5/4 + 30 * 2/4 + 20 * 1.5/2 = 43.75 + 15 + 15
    assert p1.weighted_total == pytest.approx(73.75)
    assert p1.normalized_total is None
    # 50 * 1/4 + 30 * 1/4 + 0
    assert p2.weighted_total == pytest.approx(20.0)


def test_consensus_replaces_the_mean() -> None:
    scores = {
        "p1": {
            "r1": {"model": 1, "staffing": 2, "budget": 2},
            "r2": {"model": 3, "staffing": 2, "budget": 2},
        }
    }
    (without,) = proposal_results(RUBRIC, scores)
    (with_consensus,) = proposal_results(RUBRIC, scores, consensus={"p1": {"model": 4}})
    model = with_consensus.criteria[0]
    assert (model.mean, model.consensus, model.value) == (2.0, 4, 4.0)
    assert with_consensus.criteria[1].consensus is None
    # model 2 -> 4 adds 50 * 2/4 = 25 points to both totals.
    assert without.weighted_total == pytest.approx(50 * 0.5 + 30 * 0.5 + 20)
    assert without.weighted_total is not None
    assert with_consensus.weighted_total == pytest.approx(without.weighted_total + 25)
    assert with_consensus.normalized_total is not None
    # The normalized total takes the consensus level as it is, without calibration.
    assert with_consensus.normalized_total >= 50.0


def test_consensus_alone_gives_a_value_without_scores() -> None:
    scores: dict[str, dict[str, dict[str, int]]] = {"p1": {}}
    consensus = {"p1": {"model": 2, "staffing": 4, "budget": 2}}
    (result,) = proposal_results(RUBRIC, scores, consensus=consensus)
    assert [c.mean for c in result.criteria] == [None, None, None]
    assert [c.scores for c in result.criteria] == [(), (), ()]
    assert result.weighted_total == pytest.approx(25 + 30 + 20)
    assert result.normalized_total == pytest.approx(result.weighted_total)


def test_missing_value_leaves_totals_empty() -> None:
    scores = {
        "p1": {"r1": {"model": 3, "staffing": 2}},  # budget not scored by anyone
        "p2": {},
        "p3": {"r1": {"model": 3, "staffing": 3, "budget": 1}},
    }
    p1, p2, p3 = proposal_results(RUBRIC, scores)
    assert p1.criteria[2].mean is None and p1.criteria[2].value is None
    assert p1.weighted_total is None and p1.normalized_total is None
    assert p2.weighted_total is None and p2.criteria[0].scores == ()
    assert p3.weighted_total is not None


def test_partial_score_sheets_keep_reviewer_order() -> None:
    scores = {
        "p1": {
            "r1": {"model": 4, "staffing": 1, "budget": 2},
            "r2": {"model": 0, "budget": 1},
            "r3": {"model": 2, "staffing": 3, "budget": 0},
        }
    }
    (result,) = proposal_results(RUBRIC, scores)
    assert [c.scores for c in result.criteria] == [(4, 0, 2), (1, 3), (2, 1, 0)]
    assert result.criteria[1].mean == 2.0


def test_disagreement_flag_counts_level_positions() -> None:
    criteria = [
        Criterion("four", "Four", 50, ZERO_TO_FOUR),
        Criterion("points", "Points", 50, POINTS),
    ]

    def flags(a: dict[str, int], b: dict[str, int]) -> tuple[bool, bool]:
        (result,) = proposal_results(criteria, {"p": {"r1": a, "r2": b}})
        return result.criteria[0].flagged, result.criteria[1].flagged

    # 1 vs 3 on 0-4 is two levels; 1 vs 5 on 0/1/3/5 is two positions (1 -> 3 -> 5).
    assert flags({"four": 1, "points": 1}, {"four": 3, "points": 5}) == (True, True)
    # 1 vs 2 is one level; 3 vs 5 is one position although the values differ by 2.
    assert flags({"four": 1, "points": 3}, {"four": 2, "points": 5}) == (False, False)
    # 0 vs 3 on 0/1/3/5 is two positions.
    assert flags({"four": 0, "points": 0}, {"four": 4, "points": 3}) == (True, True)


def test_single_score_is_never_flagged() -> None:
    (result,) = proposal_results(RUBRIC, {"p": {"r": {"model": 0, "staffing": 4, "budget": 0}}})
    assert not any(c.flagged for c in result.criteria)


def test_results_reject_bad_scores() -> None:
    with pytest.raises(ValueError, match=r"Proposal p1: reviewer r2 scored 'budget' 3"):
        proposal_results(
            RUBRIC,
            {"p1": {"r1": {"budget": 2}, "r2": {"model": 1, "staffing": 1, "budget": 3}}},
        )
    with pytest.raises(ValueError, match="not one of its levels"):
        proposal_results(RUBRIC, {"p1": {"r1": {"model": 2.5}}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="not in the rubric: culture"):
        proposal_results(RUBRIC, {"p1": {"r1": {"culture": 2}}})
    with pytest.raises(ValueError, match="not one of its levels"):
        proposal_results(RUBRIC, {"p1": {}}, consensus={"p1": {"budget": 3}})
    with pytest.raises(ValueError, match="proposal p9"):
        proposal_results(RUBRIC, {"p1": {}}, consensus={"p9": {"budget": 2}})
    with pytest.raises(ValueError, match="'culture', which is not in the rubric"):
        proposal_results(RUBRIC, {"p1": {}}, consensus={"p1": {"culture": 2}})


def test_results_on_an_rfp_without_scores() -> None:
    assert proposal_results(RUBRIC, {}) == []
    (result,) = proposal_results(RUBRIC, {"p1": {}})
    assert result.weighted_total is None and not result.criteria[0].flagged


score_values = st.sampled_from([0, 1, 2, 3, 4])
MIXED = [
    Criterion("a", "A", 30, ZERO_TO_FOUR, min_level=2),
    Criterion("b", "B", 25, MEETS_PARTIAL),
    Criterion("c", "C", 25, POINTS, multiplier=2),
    Criterion("d", "D", 20, MEETS_OR_NOT),
]


@st.composite
def rfp_scores(draw: st.DrawFn) -> dict[str, dict[str, dict[str, int]]]:
    reviewers = [f"r{i}" for i in range(draw(st.integers(1, 5)))]
    scores: dict[str, dict[str, dict[str, int]]] = {}
    for p in range(draw(st.integers(0, 6))):
        panel = draw(st.lists(st.sampled_from(reviewers), unique=True, max_size=4))
        scores[f"p{p}"] = {
            reviewer: {
                c.key: draw(st.sampled_from(c.level_values))
                for c in MIXED
                if draw(st.integers(0, 9)) > 0  # now and then a criterion is left out
            }
            for reviewer in panel
        }
    return scores


@settings(max_examples=150, deadline=None)
@given(rfp_scores())
def test_vectorized_results_match_the_plain_definitions(
    scores: dict[str, dict[str, dict[str, int]]],
) -> None:
    results = proposal_results(MIXED, scores)
    calibrated = calibrated_means(MIXED, scores)
    assert [r.proposal_id for r in results] == list(scores)
    for result in results:
        by_reviewer = scores[result.proposal_id]
        means: dict[str, float] = {}
        for criterion, outcome in zip(MIXED, result.criteria, strict=True):
            given_scores = [s[criterion.key] for s in by_reviewer.values() if criterion.key in s]
            assert outcome.scores == tuple(given_scores)
            if given_scores:
                assert outcome.mean == pytest.approx(sum(given_scores) / len(given_scores))
                means[criterion.key] = sum(given_scores) / len(given_scores)
                positions = [criterion.level_values.index(v) for v in given_scores]
                assert outcome.flagged == (max(positions) - min(positions) >= 2)
                assert outcome.calibrated_mean == pytest.approx(
                    calibrated[result.proposal_id][criterion.key]
                )
            else:
                assert outcome.mean is None and not outcome.flagged
                assert outcome.calibrated_mean is None
        if len(means) == len(MIXED):
            assert result.weighted_total == pytest.approx(weighted_total(MIXED, means))
            normalized = weighted_total(MIXED, calibrated[result.proposal_id])
            assert result.normalized_total == pytest.approx(normalized)
        else:
            assert result.weighted_total is None and result.normalized_total is None
