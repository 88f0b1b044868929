"""Two-stage review: a written stage every proposal goes through, then an interview of the
finalists scored against its own rubric. The final total combines the two by the
interview stage's weight; the approval rule applies to the combined total."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from scoring.rubric import ProposalResult


def combined_total(written: float | None, interview: float | None, weight: float) -> float | None:
    """(100 - weight)% of the written total plus weight% of the interview total, both on
    0-100; None while either is missing."""
    if not 0.0 <= weight <= 100.0 or not math.isfinite(weight):
        raise ValueError("the interview weight must be within 0..100")
    if written is None or interview is None:
        return None
    return ((100.0 - weight) * written + weight * interview) / 100.0


def combine(
    written: Sequence[ProposalResult], interview: Mapping[str, float | None], weight: float
) -> list[ProposalResult]:
    """The finalists' written results with their weighted total replaced by the combined
    one (their criteria stay the written stage's, for the rule's level checks)."""
    return [
        replace(
            r, weighted_total=combined_total(r.weighted_total, interview.get(r.proposal_id), weight)
        )
        for r in written
        if r.proposal_id in interview
    ]
