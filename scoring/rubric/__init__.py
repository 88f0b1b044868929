"""Rubric criteria, their scales, and per-proposal results.

The package is split by what each part does: `criteria` (levels, scales, totals, the
checks before publishing) and `results` (the score cube, means, flags, totals); its
public names are all here.

Weight and multiplier
---------------------
A criterion's ``weight`` (percent; a published rubric's weights sum to 100) alone decides
its share of the 0-100 weighted total: ``weighted_total = sum(weight * fraction)``, where
``fraction`` places the value on the criterion's own scale (lowest level 0, highest 1).
The ``multiplier`` only matters for the points view (``points_total``, ``max_points``)
that some RFPs print ("0/1/3/5 points x 3"). The two views agree when each weight is
proportional to ``multiplier * (max - min)``; ``points_weights`` computes those weights
for a template, so a points-style rubric can be stated once and reported both ways.

Fractions are linear in the level *value*, not in its position: on a 0/1/3/5 scale a 3 is
0.6 of the way, as the points suggest. "Levels apart" for the disagreement flag, on the
other hand, counts *positions* in the sorted level list, so 1 and 5 on 0/1/3/5 are two
levels apart, as a reviewer reading the scale would say.
"""

from scoring.rubric.criteria import (
    TOLERANCE,
    Criterion,
    Level,
    check_level,
    criterion_fraction,
    is_low_score,
    max_points,
    points_total,
    points_weights,
    validate_rubric,
    weighted_total,
)
from scoring.rubric.results import (
    FLAG_LEVELS_APART,
    Consensus,
    CriterionResult,
    FloatArray,
    IndexArray,
    ProposalResult,
    ScoreCube,
    Scores,
    build_score_cube,
    calibrated_means,
    proposal_results,
    results_from_cube,
    slot_mean,
)

__all__ = [
    "Consensus",
    "Criterion",
    "CriterionResult",
    "FLAG_LEVELS_APART",
    "FloatArray",
    "IndexArray",
    "Level",
    "ProposalResult",
    "ScoreCube",
    "Scores",
    "TOLERANCE",
    "build_score_cube",
    "calibrated_means",
    "check_level",
    "criterion_fraction",
    "is_low_score",
    "max_points",
    "points_total",
    "points_weights",
    "proposal_results",
    "results_from_cube",
    "slot_mean",
    "validate_rubric",
    "weighted_total",
]
