"""Earned listing categories: a listed provider covers a needs area when it scored at or
above the category level on a criterion that evidences that area."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple


class Evidence(NamedTuple):
    criterion_key: str
    needs_areas: Sequence[str]
    min_level: float  # the level at or above which the criterion earns its areas


def default_min_level(levels: Sequence[int]) -> int:
    """Without an RFP setting: the second-highest level of the criterion's scale (the
    "strong" rating of a four- or five-level rubric), or its only level."""
    ordered = sorted(set(levels))
    return ordered[-2] if len(ordered) > 1 else ordered[0]


def earned_categories(
    evidence: Sequence[Evidence], values: Mapping[str, float | None]
) -> list[str]:
    """The needs areas earned, sorted. `values` maps each criterion key to the provider's
    final level (its consensus, or the mean of its reviews); no value earns nothing."""
    earned: set[str] = set()
    for item in evidence:
        value = values.get(item.criterion_key)
        if value is not None and value >= item.min_level:
            earned.update(item.needs_areas)
    return sorted(earned)
