"""Rubric criteria and their scales: levels, fractions, weighted and points totals, the
low-score rule and the checks a rubric must pass before it is published."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Scores and means are floats; a computed 70 may come out as 69.99999999999999.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Level:
    value: int
    descriptor: str


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    weight: float  # percent; the weights of a rubric sum to 100
    levels: tuple[Level, ...]
    min_level: int | None = None
    multiplier: float = 1.0

    @property
    def level_values(self) -> tuple[int, ...]:
        """Distinct level values, lowest first."""
        return tuple(sorted({level.value for level in self.levels}))

    @property
    def max_value(self) -> int:
        return max(level.value for level in self.levels)

    @property
    def min_value(self) -> int:
        return min(level.value for level in self.levels)

    @property
    def midpoint(self) -> float:
        return (self.min_value + self.max_value) / 2


def criterion_fraction(criterion: Criterion, value: float) -> float:
    """Where ``value`` sits on the criterion's scale: 0 at the lowest level, 1 at the top."""
    if len(criterion.level_values) < 2:
        raise ValueError(f"Criterion '{criterion.key}' needs at least two distinct levels.")
    low, high = criterion.min_value, criterion.max_value
    if math.isnan(value) or not low - TOLERANCE <= value <= high + TOLERANCE:
        raise ValueError(
            f"Criterion '{criterion.key}': {value} is outside its scale {low} to {high}."
        )
    return min(1.0, max(0.0, (value - low) / (high - low)))


def check_level(criterion: Criterion, value: int) -> None:
    """Raise ValueError unless ``value`` is one of the criterion's levels (a raw score)."""
    if value not in criterion.level_values:
        allowed = ", ".join(str(v) for v in criterion.level_values)
        raise ValueError(
            f"Criterion '{criterion.key}': {value} is not one of its levels ({allowed})."
        )


def _check_keys(criteria: Sequence[Criterion], values: Mapping[str, float]) -> None:
    keys = {criterion.key for criterion in criteria}
    missing = [criterion.key for criterion in criteria if criterion.key not in values]
    if missing:
        raise ValueError(f"No value for criteria: {', '.join(missing)}.")
    unknown = sorted(set(values) - keys)
    if unknown:
        raise ValueError(f"Values for criteria not in the rubric: {', '.join(unknown)}.")


def weighted_total(criteria: Sequence[Criterion], values: Mapping[str, float]) -> float:
    """Weighted total on 0-100: the weight-share of each criterion times its fraction.

    Values may be means (fractional); only their range is checked. Weights are divided
    by their sum, which is 100 for a published rubric, so the result stays on 0-100.
    """
    _check_keys(criteria, values)
    total_weight = sum(criterion.weight for criterion in criteria)
    if total_weight <= 0:
        raise ValueError("The rubric's weights must add up to more than zero.")
    weighted = sum(
        criterion.weight * criterion_fraction(criterion, values[criterion.key])
        for criterion in criteria
    )
    return 100.0 * weighted / total_weight


def points_total(criteria: Sequence[Criterion], values: Mapping[str, float]) -> float:
    """Points as a points-style RFP prints them: sum of value times multiplier."""
    _check_keys(criteria, values)
    total = 0.0
    for criterion in criteria:
        value = values[criterion.key]
        criterion_fraction(criterion, value)  # range check only
        total += value * criterion.multiplier
    return total


def max_points(criteria: Sequence[Criterion]) -> float:
    """The most points a proposal can get: sum of top level times multiplier."""
    return sum(criterion.max_value * criterion.multiplier for criterion in criteria)


def points_weights(criteria: Sequence[Criterion]) -> dict[str, float]:
    """Weights (summing to 100) under which ``weighted_total`` equals the points share.

    With every scale starting at 0, ``weighted_total`` then equals
    ``100 * points_total / max_points``; templates with multipliers use this.
    """
    spans = {c.key: c.multiplier * (c.max_value - c.min_value) for c in criteria}
    total = sum(spans.values())
    if total <= 0:
        raise ValueError("The rubric has no points to weigh.")
    return {key: 100.0 * span / total for key, span in spans.items()}


def is_low_score(criterion: Criterion, value: int) -> bool:
    """A score below the scale's midpoint; the reviewer must explain it in a comment."""
    return value < criterion.midpoint


def validate_rubric(criteria: Sequence[Criterion]) -> list[str]:
    """Every problem that stops a rubric from being published, in plain English."""
    problems: list[str] = []
    if not criteria:
        return ["The rubric has no criteria."]
    seen_keys: set[str] = set()
    for criterion in criteria:
        name = f"Criterion '{criterion.key or criterion.title}'"
        if not criterion.key.strip():
            problems.append(f"{name} has no key.")
        elif criterion.key in seen_keys:
            problems.append(f"{name} appears more than once; keys must be unique.")
        seen_keys.add(criterion.key)
        if not criterion.title.strip():
            problems.append(f"{name} has no title.")
        if not criterion.weight > 0:
            problems.append(f"{name} has weight {criterion.weight}; weights must be above 0.")
        if not criterion.multiplier > 0:
            problems.append(
                f"{name} has multiplier {criterion.multiplier}; multipliers must be above 0."
            )
        values = [level.value for level in criterion.levels]
        if len(set(values)) < 2:
            problems.append(f"{name} needs at least two levels with different values.")
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            listed = ", ".join(str(v) for v in duplicates)
            problems.append(f"{name} has more than one level with value {listed}.")
        for level in criterion.levels:
            if not level.descriptor.strip():
                problems.append(f"{name}: level {level.value} has no descriptor.")
        if criterion.min_level is not None and criterion.min_level not in values:
            problems.append(
                f"{name}: the minimum level {criterion.min_level} is not one of its levels."
            )
    total = sum(criterion.weight for criterion in criteria)
    if abs(total - 100.0) > 1e-6:
        problems.append(f"The weights add up to {total:g}; they must add up to 100.")
    return problems
