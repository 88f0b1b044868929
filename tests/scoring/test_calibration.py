"""Reviewer calibration: leniency and spread removed, edge cases as documented."""

import statistics

import numpy as np
import pytest

from scoring.calibration import MIN_SCORES, calibrated_fractions
from scoring.rubric import Criterion, Level, build_score_cube, calibrated_means, proposal_results

ZERO_TO_FOUR = tuple(Level(v, f"Level {v}") for v in range(5))
ONE = [Criterion("plan", "Plan", 100, ZERO_TO_FOUR)]
TWO = [
    Criterion("plan", "Plan", 60, ZERO_TO_FOUR),
    Criterion("staff", "Staff", 40, ZERO_TO_FOUR),
]


def test_harsh_and_lenient_reviewers_give_equal_normalized_totals() -> None:
    # Equally good proposals: the harsh reviewer scores one set a level lower than the
    # lenient reviewer scores the other, with the same pattern.
    scores = {
        "h1": {"harsh": {"plan": 1, "staff": 0}},
        "h2": {"harsh": {"plan": 2, "staff": 1}},
        "h3": {"harsh": {"plan": 3, "staff": 2}},
        "l1": {"lenient": {"plan": 2, "staff": 1}},
        "l2": {"lenient": {"plan": 3, "staff": 2}},
        "l3": {"lenient": {"plan": 4, "staff": 3}},
    }
    results = {r.proposal_id: r for r in proposal_results(TWO, scores)}
    for harsh, lenient in (("h1", "l1"), ("h2", "l2"), ("h3", "l3")):
        raw_h, raw_l = results[harsh].weighted_total, results[lenient].weighted_total
        assert raw_h is not None and raw_l is not None
        assert raw_l - raw_h == pytest.approx(25.0)
        assert results[harsh].normalized_total == pytest.approx(results[lenient].normalized_total)


def test_harsh_and_lenient_reviewers_of_the_same_proposals_agree_after_calibration() -> None:
    scores = {
        "p1": {"harsh": {"plan": 0}, "lenient": {"plan": 2}},
        "p2": {"harsh": {"plan": 1}, "lenient": {"plan": 3}},
        "p3": {"harsh": {"plan": 2}, "lenient": {"plan": 4}},
    }
    cube = build_score_cube(ONE, scores)
    calibrated = calibrated_fractions(cube.fractions(), cube.reviewer)
    # Slot 0 is the harsh reviewer, slot 1 the lenient one: identical after calibration.
    np.testing.assert_allclose(calibrated[:, 0, 0], calibrated[:, 1, 0])
    results = proposal_results(ONE, scores)
    raw = [r.weighted_total for r in results]
    normalized = [r.normalized_total for r in results]
    assert raw == pytest.approx([25.0, 50.0, 75.0])
    # Both reviewers spread their scores alike (sd 0.204 of the scale), so removing only
    # their leniency leaves the proposals where the panel as a whole put them.
    assert normalized == pytest.approx([25.0, 50.0, 75.0])


def test_calibration_formula_by_hand() -> None:
    scores = {
        "p1": {"a": {"plan": 0}, "b": {"plan": 2}},
        "p2": {"a": {"plan": 2}, "b": {"plan": 3}},
        "p3": {"a": {"plan": 4}, "b": {"plan": 4}},
    }
    a = [0.0, 0.5, 1.0]
    b = [0.5, 0.75, 1.0]
    panel_mean = statistics.fmean(a + b)
    # The panel's spread is the pooled within-reviewer standard deviation.
    within = [x - statistics.fmean(own) for own in (a, b) for x in own]
    panel_sd = statistics.fmean(d * d for d in within) ** 0.5

    def mapped(own: list[float], x: float) -> float:
        z = (x - statistics.fmean(own)) / statistics.pstdev(own)
        return min(1.0, max(0.0, panel_mean + z * panel_sd))

    result = calibrated_means(ONE, scores)
    for p, (fa, fb) in enumerate(zip(a, b, strict=True), start=1):
        expected = 4 * (mapped(a, fa) + mapped(b, fb)) / 2
        assert result[f"p{p}"]["plan"] == pytest.approx(expected)


def test_reviewer_with_fewer_than_three_scores_is_unchanged() -> None:
    assert MIN_SCORES == 3
    scores = {
        "p1": {"busy": {"plan": 0}, "brief": {"plan": 4}},
        "p2": {"busy": {"plan": 2}, "brief": {"plan": 3}},
        "p3": {"busy": {"plan": 4}},
    }
    cube = build_score_cube(ONE, scores)
    calibrated = calibrated_fractions(cube.fractions(), cube.reviewer)
    brief = cube.reviewer_ids.index("brief")
    assert brief == 1
    # "brief" scored twice: its fractions 1.0 and 0.75 stay as they are.
    assert calibrated[0, 1, 0] == pytest.approx(1.0)
    assert calibrated[1, 1, 0] == pytest.approx(0.75)


def test_reviewer_without_spread_is_shifted_to_the_panel_mean() -> None:
    scores = {
        "p1": {"flat": {"plan": 4}, "varied": {"plan": 0}},
        "p2": {"flat": {"plan": 4}, "varied": {"plan": 2}},
        "p3": {"flat": {"plan": 4}, "varied": {"plan": 4}},
    }
    cube = build_score_cube(ONE, scores)
    calibrated = calibrated_fractions(cube.fractions(), cube.reviewer)
    panel_mean = statistics.fmean([1, 1, 1, 0, 0.5, 1])
    np.testing.assert_allclose(calibrated[:, 0, 0], [panel_mean] * 3)
    assert np.isfinite(calibrated).all()


def test_single_reviewer_is_unchanged() -> None:
    scores = {
        "p1": {"only": {"plan": 1, "staff": 4}},
        "p2": {"only": {"plan": 3, "staff": 0}},
    }
    results = proposal_results(TWO, scores)
    for result in results:
        assert result.normalized_total == pytest.approx(result.weighted_total)
    assert calibrated_means(TWO, scores) == {
        "p1": pytest.approx({"plan": 1.0, "staff": 4.0}),
        "p2": pytest.approx({"plan": 3.0, "staff": 0.0}),
    }


def test_calibrated_values_are_clipped_to_the_scale() -> None:
    # "narrow" uses only 1 and 2; "wide" uses the whole scale. Stretching narrow's
    # spread to the panel's pushes its extremes past the ends of the scale.
    scores = {
        f"p{i}": {"narrow": {"plan": n}, "wide": {"plan": w}}
        for i, (n, w) in enumerate([(1, 0), (1, 4), (2, 0), (2, 4), (1, 0), (2, 4)])
    }
    cube = build_score_cube(ONE, scores)
    calibrated = calibrated_fractions(cube.fractions(), cube.reviewer)
    present = ~np.isnan(calibrated)
    assert (calibrated[present] >= 0).all() and (calibrated[present] <= 1).all()
    for values in calibrated_means(ONE, scores).values():
        assert 0.0 <= values["plan"] <= 4.0


def test_calibrate_returns_only_scored_pairs_on_each_scale() -> None:
    criteria = [
        Criterion("plan", "Plan", 50, ZERO_TO_FOUR),
        Criterion("meets", "Meets", 50, (Level(2, "Meets"), Level(1, "Partly"), Level(0, "No"))),
    ]
    scores = {"p1": {"r": {"plan": 4, "meets": 1}}, "p2": {"r": {"plan": 0}}, "p3": {}}
    result = calibrated_means(criteria, scores)
    assert result == {
        "p1": pytest.approx({"plan": 4.0, "meets": 1.0}),
        "p2": pytest.approx({"plan": 0.0}),
        "p3": {},
    }


def test_calibrated_fractions_without_any_score() -> None:
    empty = np.full((2, 0, 3), np.nan)
    assert calibrated_fractions(empty, np.full((2, 0), -1)).shape == (2, 0, 3)
