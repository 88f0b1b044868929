"""Direct award: a district's RFP names clusters, each approved applicant ranks the ones it
applies for, and the award assigns applicants to clusters with the same exact solver as
matching (`assign`: the most clusters awarded, then the largest total fit).

Fit of an (applicant, cluster) pair, on 0-100: `SCORE_WEIGHT` points for the proposal's
weighted total (the panel's judgment, itself 0-100) plus `PREFERENCE_WEIGHT` points for
where the applicant ranked the cluster (its first choice 1.0, its last PREFERENCE_FLOOR,
linear in between, as the district's ranking in matching). The panel's score dominates,
so a stronger applicant wins a contested cluster; the applicant's ranking decides which of
its clusters it gets when it cannot take them all.

A pair is allowed only when the applicant ranked the cluster and the pair was not declined
before; an applicant takes at most its remaining capacity. Grades, state and needs are not
re-checked: the applicant chose the cluster and the panel judged the proposal for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.matching.fit import PREFERENCE_FLOOR
from scoring.matching.inputs import PairSet
from scoring.matching.solver import Assignment, assign

SCORE_WEIGHT = 70.0
PREFERENCE_WEIGHT = 30.0
WEIGHTS: dict[str, float] = {"score": SCORE_WEIGHT, "preference": PREFERENCE_WEIGHT}


@dataclass(frozen=True)
class Applicant:
    id: str  # the organization
    name: str
    total: float  # the proposal's weighted total, 0-100
    ranked: tuple[str, ...]  # cluster ids, best first
    capacity: int  # clusters it can still take

    def __post_init__(self) -> None:
        if not (math.isfinite(self.total) and 0.0 <= self.total <= 100.0):
            raise ValueError(f"applicant {self.id}: total must be within 0..100")
        if len(set(self.ranked)) != len(self.ranked):
            raise ValueError(f"applicant {self.id}: a cluster is ranked twice")
        if self.capacity < 0:
            raise ValueError(f"applicant {self.id}: negative capacity")


def preference_value(rank: int, ranked: int) -> float:
    """0-based `rank` among `ranked` clusters: 1.0 for the first, PREFERENCE_FLOOR for the last."""
    if ranked <= 1:
        return 1.0
    return 1.0 - (1.0 - PREFERENCE_FLOOR) * rank / (ranked - 1)


def award_breakdown(applicant: Applicant, cluster_id: str) -> dict[str, float]:
    """Points of 100 from the score and from the applicant's preference, and their total."""
    rank = applicant.ranked.index(cluster_id)
    score = SCORE_WEIGHT * applicant.total / 100.0
    preference = PREFERENCE_WEIGHT * preference_value(rank, len(applicant.ranked))
    return {"score": score, "preference": preference, "total": score + preference}


@dataclass(frozen=True)
class Award:
    assignment: Assignment  # pairs are (cluster index, applicant index)
    allowed: np.ndarray
    unawarded: dict[int, str]  # cluster index -> why no applicant got it


def award(cluster_ids: Sequence[str], applicants: Sequence[Applicant], declined: PairSet) -> Award:
    """The optimal award of `cluster_ids` to `applicants`; `declined` holds (cluster id,
    organization id) pairs that may not be awarded again."""
    if len(set(cluster_ids)) != len(cluster_ids):
        raise ValueError("cluster ids must be unique")
    if len({a.id for a in applicants}) != len(applicants):
        raise ValueError("applicant ids must be unique")
    n, m = len(cluster_ids), len(applicants)
    fit = np.zeros((n, m), dtype=np.float64)
    allowed = np.zeros((n, m), dtype=bool)
    for j, applicant in enumerate(applicants):
        for i, cluster_id in enumerate(cluster_ids):
            if cluster_id in applicant.ranked and (cluster_id, applicant.id) not in declined:
                allowed[i, j] = True
                fit[i, j] = award_breakdown(applicant, cluster_id)["total"]
    capacity = np.array([a.capacity for a in applicants], dtype=np.int64)
    empty = Assignment(pairs=[], objective=0.0, matched=0)
    result = assign(fit, capacity, allowed) if m else empty
    awarded = {i for i, _ in result.pairs}
    unawarded = {
        i: _unawarded_reason(cluster_ids[i], applicants, declined)
        for i in range(n)
        if i not in awarded
    }
    return Award(assignment=result, allowed=allowed, unawarded=unawarded)


def _unawarded_reason(cluster_id: str, applicants: Sequence[Applicant], declined: PairSet) -> str:
    applied = [a for a in applicants if cluster_id in a.ranked]
    if not applied:
        return "No approved applicant applied for this cluster."
    open_pairs = [a for a in applied if (cluster_id, a.id) not in declined]
    if not open_pairs:
        return f"Every approved applicant for this cluster ({len(applied)}) was declined for it."
    if all(a.capacity <= 0 for a in open_pairs):
        return "The approved applicants for this cluster have no capacity left."
    names = ", ".join(sorted(a.name for a in open_pairs))
    return (
        f"The approved applicants for this cluster ({names}) were awarded other clusters, "
        "up to their capacity, where the award as a whole fits better."
    )


def explain(applicant: Applicant, cluster_id: str, breakdown: Mapping[str, float]) -> str:
    rank = applicant.ranked.index(cluster_id) + 1
    choices = len(applicant.ranked)
    choice = "its only choice" if choices == 1 else f"its choice {rank} of {choices}"
    return (
        f"Fit {breakdown['total']:.1f} of 100: weighted total {applicant.total:.1f} gives "
        f"{breakdown['score']:.1f} points and the cluster, {choice}, gives "
        f"{breakdown['preference']:.1f}."
    )
