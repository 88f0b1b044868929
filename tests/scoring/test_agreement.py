"""Krippendorff's alpha against the published worked examples."""

import pytest

from scoring.agreement import (
    agreement_by_criterion,
    krippendorff_alpha,
    krippendorff_alpha_interval,
)
from scoring.rubric import Criterion, Level

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
# observers (rows) x twelve units (columns), None where an observer gave no value.
PUBLISHED_BY_OBSERVER = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
# Our functions take rows = units (proposals), columns = coders (reviewers).
PUBLISHED = [list(unit) for unit in zip(*PUBLISHED_BY_OBSERVER, strict=True)]


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_published_example_with_missing_values(level: str, published: float) -> None:
    alpha = krippendorff_alpha(PUBLISHED, level)  # type: ignore[arg-type]
    assert alpha is not None
    assert round(alpha, 3) == published


def test_interval_shortcut_matches_the_published_value() -> None:
    alpha = krippendorff_alpha_interval(PUBLISHED)
    assert alpha is not None and round(alpha, 3) == 0.849


def test_published_binary_example_two_observers() -> None:
    # Same paper, section A: two observers, ten units, nominal alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    alpha = krippendorff_alpha([[x, y] for x, y in zip(a, b, strict=True)], "nominal")
    assert alpha is not None and round(alpha, 3) == 0.095


def test_perfect_agreement_is_one() -> None:
    assert krippendorff_alpha_interval([[1, 1, None], [3, 3, 3], [2, None, 2]]) == 1.0


def test_alpha_is_undefined_without_pairable_values_or_variation() -> None:
    assert krippendorff_alpha_interval([]) is None
    assert krippendorff_alpha_interval([[1, None], [None, 2], [3]]) is None
    assert krippendorff_alpha_interval([[2, 2], [2, 2, 2]]) is None


def test_systematic_disagreement_is_negative() -> None:
    alpha = krippendorff_alpha_interval([[0, 4], [4, 0], [0, 4], [4, 0]])
    assert alpha is not None and alpha < 0


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown level"):
        krippendorff_alpha([[1, 2]], "cardinal")  # type: ignore[arg-type]


def test_agreement_by_criterion_uses_interval_alpha_per_criterion() -> None:
    levels = tuple(Level(v, str(v)) for v in range(6))
    criteria = [
        Criterion("published", "Published example", 50, levels),
        Criterion("same", "Everyone agrees", 25, levels),
        Criterion("alone", "One reviewer each", 25, levels),
    ]
    scores: dict[str, dict[str, dict[str, int]]] = {}
    for unit, row in enumerate(PUBLISHED):
        proposal: dict[str, dict[str, int]] = {}
        for coder, value in enumerate(row):
            if value is not None:
                sheet = {"published": value, "same": 3}
                if coder == 0:
                    sheet["alone"] = unit % 6
                proposal[f"r{coder}"] = sheet
        scores[f"p{unit}"] = proposal
    result = agreement_by_criterion(criteria, scores)
    assert set(result) == {"published", "same", "alone"}
    published = result["published"]
    assert published is not None and round(published, 3) == 0.849
    assert result["same"] is None  # no variation: alpha is undefined
    assert result["alone"] is None  # no proposal has two values to pair
