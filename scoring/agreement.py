"""Inter-rater agreement: Krippendorff's alpha.

Alpha suits review panels because it accepts any number of reviewers per proposal and
missing scores, and it can weigh disagreements by the scale's level of measurement.
The computation follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability":
a coincidence matrix over the pairable values (units with two or more values), then
``alpha = 1 - (n - 1) * sum(o_ck * delta_ck) / sum(n_c * n_k * delta_ck)``.

Per criterion the interval metric is used: the weighted total already averages level
values, which treats the distances between levels as meaningful, and agreement should
rest on the same assumption (on a 0/1/3/5 scale, 1 vs 5 is a bigger miss than 0 vs 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from scoring.rubric import Criterion, FloatArray, ScoreCube, Scores, build_score_cube

LevelOfMeasurement = Literal["nominal", "ordinal", "interval", "ratio"]


def krippendorff_alpha(
    matrix: Sequence[Sequence[float | None]],
    level: LevelOfMeasurement = "interval",
) -> float | None:
    """Alpha for rows = units (proposals), columns = coders (reviewers), None = missing.

    Returns None when alpha is undefined: fewer than two pairable values, or no expected
    disagreement (every pairable value is the same).
    """
    rows = [[math.nan if v is None else float(v) for v in row] for row in matrix]
    width = max((len(row) for row in rows), default=0)
    array = np.full((len(rows), width), np.nan)
    for u, row in enumerate(rows):
        array[u, : len(row)] = row
    return alpha_from_array(array, level)


def krippendorff_alpha_interval(matrix: Sequence[Sequence[float | None]]) -> float | None:
    """Alpha with the interval metric; see ``krippendorff_alpha``."""
    return krippendorff_alpha(matrix, "interval")


def alpha_from_array(array: FloatArray, level: LevelOfMeasurement = "interval") -> float | None:
    """Alpha for a units x coders float array with NaN for missing values."""
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"Unknown level of measurement: {level}.")
    present = ~np.isnan(array)
    pairable = present.sum(axis=1) >= 2
    units = array[pairable]
    if units.size == 0:
        return None
    values = np.unique(units[~np.isnan(units)])
    # counts[u, c]: how many coders gave value c to unit u.
    counts = (units[:, :, np.newaxis] == values[np.newaxis, np.newaxis, :]).sum(axis=1)
    counts = counts.astype(np.float64)
    per_unit = counts.sum(axis=1)
    weighted = counts / (per_unit - 1.0)[:, np.newaxis]
    coincidences = counts.T @ weighted - np.diag(weighted.sum(axis=0))
    marginals = coincidences.sum(axis=1)
    n = float(marginals.sum())
    if n < 2:
        return None
    delta = _delta(values, marginals, level)
    expected = float((np.outer(marginals, marginals) * delta).sum())
    if expected <= 0:
        return None
    observed = float((coincidences * delta).sum())
    return 1.0 - (n - 1.0) * observed / expected


def _delta(values: FloatArray, marginals: FloatArray, level: LevelOfMeasurement) -> FloatArray:
    """Squared difference function delta_ck for each pair of distinct values."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "interval":
        return np.subtract.outer(values, values) ** 2
    if level == "ratio":
        sums = np.add.outer(values, values)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(sums != 0, np.subtract.outer(values, values) / sums, 0.0)
        return ratio**2
    # ordinal: the marginal frequencies from c to k, minus half of the two ends.
    cumulative = np.concatenate(([0.0], np.cumsum(marginals)))
    low = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
    high = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
    between = cumulative[high + 1] - cumulative[low]
    ordinal: FloatArray = (between - (marginals[low] + marginals[high]) / 2.0) ** 2
    return ordinal


def agreement_by_criterion(
    criteria: Sequence[Criterion], scores: Scores
) -> dict[str, float | None]:
    """Interval alpha per criterion across the RFP's proposals (None when undefined).

    Alpha pairs values within a proposal and ignores who gave them, so the reviewer slots
    of the score cube serve directly as the coder columns.
    """
    return agreement_from_cube(build_score_cube(criteria, scores))


def agreement_from_cube(cube: ScoreCube) -> dict[str, float | None]:
    """agreement_by_criterion for scores already laid out as a cube."""
    return {
        criterion.key: alpha_from_array(cube.values[:, :, c], "interval")
        for c, criterion in enumerate(cube.criteria)
    }
