"""Competition ranking: ties share a rank, the next rank skips."""

import math

import pytest

from scoring.ranking import competition_rank


def test_ties_share_a_rank_and_the_next_rank_skips() -> None:
    ranks = competition_rank({"a": 90.0, "b": 80.0, "c": 80.0, "d": 70.0})
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_result_keeps_input_order_and_gives_none_no_rank() -> None:
    ranks = competition_rank({"low": 10.0, "none": None, "high": 20.0})
    assert list(ranks) == ["low", "none", "high"]
    assert ranks == {"low": 2, "none": None, "high": 1}


def test_float_noise_is_a_tie() -> None:
    noisy = 0.1 + 0.2  # 0.30000000000000004
    assert competition_rank({"a": noisy * 100, "b": 30.0, "c": 29.0}) == {"a": 1, "b": 1, "c": 3}


def test_ties_are_measured_from_the_top_of_the_group() -> None:
    step = 0.6e-9
    ranks = competition_rank({"a": 1.0 + 2 * step, "b": 1.0 + step, "c": 1.0})
    # b is within the tolerance of a; c is not, although it is within it of b.
    assert ranks == {"a": 1, "b": 1, "c": 3}


def test_all_tied_and_empty() -> None:
    assert competition_rank({"a": 5.0, "b": 5.0, "c": 5.0}) == {"a": 1, "b": 1, "c": 1}
    assert competition_rank({}) == {}
    assert competition_rank({"a": None}) == {"a": None}


def test_not_a_number_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a number"):
        competition_rank({"a": math.nan})
