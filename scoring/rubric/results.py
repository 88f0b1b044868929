"""Per-proposal results: scores laid out as a cube (proposals x reviewer slots x
criteria), means, consensus, disagreement flags and the raw and calibrated totals."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from scoring.calibration import calibrated_fractions
from scoring.rubric.criteria import Criterion, check_level

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

# A criterion is flagged when its reviewers are this many level positions apart.
FLAG_LEVELS_APART = 2

Scores = Mapping[str, Mapping[str, Mapping[str, int]]]
"""proposal_id -> reviewer_id -> criterion_key -> level value."""
Consensus = Mapping[str, Mapping[str, int]]
"""proposal_id -> criterion_key -> consensus level value."""


class CriterionResult(NamedTuple):
    # A NamedTuple, not a dataclass: an RFP's results hold tens of thousands of these, and
    # a tuple is built several times faster than a frozen dataclass.
    key: str
    mean: float | None  # of the submitted reviewer scores
    consensus: int | None  # set by staff; replaces the mean
    value: float | None  # consensus if set, else mean
    scores: tuple[int, ...]  # the submitted scores, in the order reviewers were given
    flagged: bool  # reviewers are FLAG_LEVELS_APART or more level positions apart
    calibrated_mean: float | None = None  # on the criterion's scale; None when not asked


@dataclass(frozen=True, slots=True)
class ProposalResult:
    proposal_id: str
    criteria: tuple[CriterionResult, ...]
    weighted_total: float | None  # None while any criterion has no value
    normalized_total: float | None  # from calibrated scores; None as above or if not asked


@dataclass(frozen=True, eq=False)
class ScoreCube:
    """Scores as arrays: proposals x reviewer slots x criteria.

    A slot is the n-th reviewer of a proposal, not a fixed person, so the array stays
    small however many reviewers the panel has; ``reviewer`` says who sits in each slot.
    """

    proposal_ids: tuple[str, ...]
    reviewer_ids: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    values: FloatArray  # P x S x C level values; NaN where not scored
    positions: FloatArray  # P x S x C position of each value in its sorted level list
    reviewer: IndexArray  # P x S index into reviewer_ids; -1 for an empty slot

    @property
    def mins(self) -> FloatArray:
        return np.array([c.min_value for c in self.criteria], dtype=np.float64)

    @property
    def spans(self) -> FloatArray:
        return np.array([c.max_value - c.min_value for c in self.criteria], dtype=np.float64)

    def fractions(self) -> FloatArray:
        """Values as fractions of each criterion's scale (NaN stays NaN)."""
        return (self.values - self.mins) / self.spans


def build_score_cube(criteria: Sequence[Criterion], scores: Scores) -> ScoreCube:
    """Check raw scores against the rubric and lay them out as a ScoreCube."""
    keys = [criterion.key for criterion in criteria]
    key_set = frozenset(keys)
    if len(key_set) != len(keys):
        raise ValueError("Criterion keys must be unique.")
    for criterion in criteria:
        if len(criterion.level_values) < 2:
            raise ValueError(f"Criterion '{criterion.key}' needs at least two distinct levels.")
    proposal_ids = tuple(scores)
    slots = max((len(by_reviewer) for by_reviewer in scores.values()), default=0)
    reviewer_index: dict[str, int] = {}
    # Rows are gathered in Python and converted once; a complete score sheet (the common
    # case) is read with one itemgetter call instead of a lookup per criterion.
    rows: list[Sequence[float]] = []
    row_proposal: list[int] = []
    row_slot: list[int] = []
    row_reviewer: list[int] = []
    # itemgetter returns a bare value, not a tuple, for a single key.
    read_all = itemgetter(*keys) if len(keys) > 1 else None
    nan = math.nan
    for p, (proposal_id, by_reviewer) in enumerate(scores.items()):
        for s, (reviewer_id, by_criterion) in enumerate(by_reviewer.items()):
            row: Sequence[float]
            if read_all is not None and by_criterion.keys() == key_set:
                row = read_all(by_criterion)
            elif key_set.issuperset(by_criterion):
                row = [by_criterion.get(key, nan) for key in keys]
            else:
                unknown = ", ".join(sorted(set(by_criterion) - key_set))
                raise ValueError(
                    f"Proposal {proposal_id}: reviewer {reviewer_id} scored criteria not in "
                    f"the rubric: {unknown}."
                )
            rows.append(row)
            row_proposal.append(p)
            row_slot.append(s)
            row_reviewer.append(reviewer_index.setdefault(reviewer_id, len(reviewer_index)))
    values = np.full((len(proposal_ids), slots, len(keys)), np.nan)
    reviewer = np.full((len(proposal_ids), slots), -1, dtype=np.intp)
    if rows:
        flat = np.fromiter(chain.from_iterable(rows), np.float64, len(rows) * len(keys))
        values[row_proposal, row_slot] = flat.reshape(len(rows), len(keys))
        reviewer[row_proposal, row_slot] = row_reviewer
    positions, bad = _level_positions(criteria, values)
    if bad.any():
        p, s, c = (int(i) for i in np.argwhere(bad)[0])
        allowed = ", ".join(str(v) for v in criteria[c].level_values)
        raise ValueError(
            f"Proposal {proposal_ids[p]}: reviewer {list(reviewer_index)[reviewer[p, s]]} "
            f"scored '{criteria[c].key}' {values[p, s, c]:g}, which is not one of its levels "
            f"({allowed})."
        )
    return ScoreCube(
        proposal_ids, tuple(reviewer_index), tuple(criteria), values, positions, reviewer
    )


def _level_positions(
    criteria: Sequence[Criterion], values: FloatArray
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Each value's position in its criterion's sorted levels, and where it is no level.

    All criteria are looked up in one sorted table of (criterion, level) keys, so the check
    is a single vectorized search rather than a loop over criteria.
    """
    present = ~np.isnan(values)
    if not criteria or not present.any():
        return np.full(values.shape, np.nan), np.zeros(values.shape, dtype=np.bool_)
    levels = [np.array(c.level_values, dtype=np.float64) for c in criteria]
    lowest = min(float(array[0]) for array in levels)
    highest = max(float(array[-1]) for array in levels)
    # Keys c * width + (value - lowest + 1); out-of-range values are clipped to one step
    # outside the table's range so they cannot collide with another criterion's levels.
    # NaN keys sort past the end of the table and match nothing.
    width = highest - lowest + 3
    table = np.concatenate([c * width + (array - lowest + 1) for c, array in enumerate(levels)])
    offsets = np.cumsum([0] + [len(array) for array in levels[:-1]])
    keys = np.arange(len(criteria)) * width + (
        np.clip(values, lowest - 1, highest + 1) - lowest + 1
    )
    found = np.searchsorted(table, keys)
    valid = table[np.minimum(found, len(table) - 1)] == keys
    positions: FloatArray = np.where(present, found - offsets, np.nan)
    return positions, present & ~valid


def slot_mean(array: FloatArray) -> FloatArray:
    """Mean over reviewer slots (axis 1) ignoring NaN; NaN where nobody scored."""
    present = ~np.isnan(array)
    counts = present.sum(axis=1)
    sums = np.where(present, array, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _flags(cube: ScoreCube) -> NDArray[np.bool_]:
    """P x C: scores of one criterion are FLAG_LEVELS_APART or more positions apart."""
    positions = cube.positions
    present = ~np.isnan(positions)
    if positions.shape[1] == 0:
        return np.zeros((positions.shape[0], positions.shape[2]), dtype=np.bool_)
    high = np.where(present, positions, -np.inf).max(axis=1)
    low = np.where(present, positions, np.inf).min(axis=1)
    with np.errstate(invalid="ignore"):
        flagged: NDArray[np.bool_] = (present.sum(axis=1) >= 2) & (high - low >= FLAG_LEVELS_APART)
    return flagged


def _totals(fractions: FloatArray, weights: FloatArray) -> FloatArray:
    """P x C fractions -> P weighted totals on 0-100 (NaN when any fraction is NaN)."""
    totals: FloatArray = 100.0 * (fractions @ weights) / weights.sum()
    return totals


def _consensus_array(cube: ScoreCube, consensus: Consensus) -> tuple[FloatArray, NDArray[np.bool_]]:
    """P x C consensus values (NaN where unset) and the mask of set cells."""
    proposal_index = {proposal_id: p for p, proposal_id in enumerate(cube.proposal_ids)}
    criterion_index = {criterion.key: c for c, criterion in enumerate(cube.criteria)}
    array = np.full((len(cube.proposal_ids), len(cube.criteria)), np.nan)
    for proposal_id, by_criterion in consensus.items():
        if proposal_id not in proposal_index:
            raise ValueError(f"Consensus given for proposal {proposal_id}, which has no entry.")
        for key, value in by_criterion.items():
            if key not in criterion_index:
                raise ValueError(f"Consensus given for '{key}', which is not in the rubric.")
            c = criterion_index[key]
            check_level(cube.criteria[c], value)
            array[proposal_index[proposal_id], c] = value
    return array, ~np.isnan(array)


def proposal_results(
    criteria: Sequence[Criterion],
    scores: Scores,
    consensus: Consensus | None = None,
    calibrate: bool = True,
) -> list[ProposalResult]:
    """Means, consensus, flags and both totals for every proposal in ``scores``.

    ``scores`` holds the submitted scores of the whole RFP (include every proposal, with
    an empty mapping when nobody has scored it), because calibration learns each
    reviewer's habits from everything they scored. Consensus replaces the mean in the
    weighted total and the calibrated mean in the normalized total: it is the panel's
    agreed level, already free of any single reviewer's leniency.
    """
    return results_from_cube(build_score_cube(criteria, scores), consensus, calibrate)


def results_from_cube(
    cube: ScoreCube, consensus: Consensus | None = None, calibrate: bool = True
) -> list[ProposalResult]:
    """proposal_results for scores already laid out as a cube (built once per RFP)."""
    consensus_values, has_consensus = _consensus_array(cube, consensus or {})
    mins, spans = cube.mins, cube.spans
    weights = np.array([criterion.weight for criterion in cube.criteria], dtype=np.float64)
    if not weights.sum() > 0:
        raise ValueError("The rubric needs criteria whose weights add up to more than zero.")

    means = slot_mean(cube.values)
    values = np.where(has_consensus, consensus_values, means)
    totals = _totals((values - mins) / spans, weights)
    if calibrate:
        calibrated = slot_mean(calibrated_fractions(cube.fractions(), cube.reviewer))
        consensus_fractions = (consensus_values - mins) / spans
        normalized = _totals(np.where(has_consensus, consensus_fractions, calibrated), weights)
        calibrated_means = mins + calibrated * spans
    else:
        normalized = np.full(len(cube.proposal_ids), np.nan)
        calibrated_means = np.full(means.shape, np.nan)
    flags = _flags(cube)

    return _assemble(
        cube, means, consensus_values, values, flags, totals, normalized, calibrated_means
    )


def _assemble(
    cube: ScoreCube,
    means: FloatArray,
    consensus_values: FloatArray,
    values: FloatArray,
    flags: NDArray[np.bool_],
    totals: FloatArray,
    normalized: FloatArray,
    calibrated_means: FloatArray,
) -> list[ProposalResult]:
    """Turn the arrays into result objects.

    Creating the objects is the slow part, so every array becomes Python lists (with None
    for NaN) in one vectorized step each, and the loop below only zips them.
    """
    keys = [criterion.key for criterion in cube.criteria]
    make = partial(tuple.__new__, CriterionResult)
    results: list[ProposalResult] = []
    for (
        proposal_id,
        row_means,
        row_consensus,
        row_values,
        row_flags,
        row_scores,
        row_calibrated,
        total,
        norm,
    ) in zip(
        cube.proposal_ids,
        _none_for_nan(means),
        _none_for_nan(consensus_values, as_int=True),
        _none_for_nan(values),
        flags.tolist(),
        _score_tuples(cube),
        _none_for_nan(calibrated_means),
        _none_for_nan(totals),
        _none_for_nan(normalized),
        strict=True,
    ):
        # zip yields each criterion's fields in CriterionResult's order; tuple.__new__
        # makes the named tuple from them without a Python-level call per result.
        criterion_results = tuple(
            map(
                make,
                zip(
                    keys,
                    row_means,
                    row_consensus,
                    row_values,
                    row_scores,
                    row_flags,
                    row_calibrated,
                    strict=True,
                ),
            )
        )
        results.append(ProposalResult(proposal_id, criterion_results, total, norm))
    return results


def _score_tuples(cube: ScoreCube) -> list[list[tuple[int, ...]]]:
    """Per proposal and criterion, the submitted scores in reviewer (slot) order."""
    present = ~np.isnan(cube.values)
    occupied = (cube.reviewer >= 0).sum(axis=1)  # a proposal's slots fill from the front
    # The usual proposal: every occupied slot scored every criterion, so no NaN to drop.
    full = (present.sum(axis=(1, 2)) == occupied * len(cube.criteria)).tolist()
    ints = np.where(present, cube.values, 0).astype(np.int64).transpose(0, 2, 1).tolist()
    slots = cube.values.shape[1]
    result: list[list[tuple[int, ...]]] = []
    for p, (row, is_full, used) in enumerate(zip(ints, full, occupied.tolist(), strict=True)):
        if is_full and used == slots:
            result.append(list(map(tuple, row)))
        elif is_full:
            result.append([tuple(column[:used]) for column in row])
        else:
            columns = cube.values[p].T.tolist()
            result.append([tuple([int(v) for v in column if v == v]) for column in columns])
    return result


def _none_for_nan(array: FloatArray, as_int: bool = False) -> list[Any]:
    """``array.tolist()`` with None where the array is NaN (ints kept as int if asked)."""
    missing = np.isnan(array)
    converted = np.where(missing, 0, array).astype(np.int64) if as_int else array
    objects = converted.astype(object)
    objects[missing] = None
    result: list[Any] = objects.tolist()
    return result


def calibrated_means(criteria: Sequence[Criterion], scores: Scores) -> dict[str, dict[str, float]]:
    """Calibrated mean per proposal and criterion, on the criterion's own scale.

    Only proposal/criterion pairs with at least one score appear in the result.
    ``scores`` is proposal_id -> reviewer_id -> criterion_key -> level value, for the
    whole RFP.
    """
    cube = build_score_cube(criteria, scores)
    means = slot_mean(calibrated_fractions(cube.fractions(), cube.reviewer))
    values = (cube.mins + means * cube.spans).tolist()
    keys = [criterion.key for criterion in cube.criteria]
    return {
        proposal_id: {key: v for key, v in zip(keys, values[p], strict=True) if v == v}
        for p, proposal_id in enumerate(cube.proposal_ids)
    }
