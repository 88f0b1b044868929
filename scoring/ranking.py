"""Competition ranking ("1224"): higher is better and ties share a rank."""

from __future__ import annotations

import math
from collections.abc import Mapping

# Totals are float sums; two totals this close are the same total.
TIE_TOLERANCE = 1e-9


def competition_rank(values: Mapping[str, float | None]) -> dict[str, int | None]:
    """Rank ids by value, highest first; tied values share the best rank of the group.

    Ties are decided against the first (highest) value of a group, so a chain of values
    each within the tolerance of the next cannot drag a clearly lower value into the tie.
    Ids with no value get no rank. The result keeps the order of ``values``.
    """
    for key, value in values.items():
        if value is not None and math.isnan(value):
            raise ValueError(f"{key} has a value that is not a number.")
    ordered = sorted(
        ((key, value) for key, value in values.items() if value is not None),
        key=lambda item: item[1],
        reverse=True,
    )
    ranks: dict[str, int | None] = {}
    rank, leader = 0, 0.0
    for position, (key, value) in enumerate(ordered, start=1):
        if position == 1 or value < leader - TIE_TOLERANCE:
            rank, leader = position, value
        ranks[key] = rank
    return {key: ranks.get(key) for key in values}
