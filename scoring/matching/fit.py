"""Fit. Each (cluster, provider) pair gets five components in [0, 1]; the fit is their
weighted sum with weights summing to 100, so it is on 0-100 and every component's
contribution is visible (`fit_breakdown`). `fit_matrix` computes the same numbers for all
pairs at once with boolean matrices and matrix products."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from scoring.matching.inputs import (
    ClusterInput,
    FloatMatrix,
    ProviderInput,
    check_unique_ids,
)
from scoring.matching.vocabulary import (
    GRADE_CODES,
    GRADE_POSITION,
    HIGH_SCHOOL_GRADES,
    NEEDS_AREAS,
    NEEDS_POSITION,
)

COMPONENTS: tuple[str, ...] = ("grades", "high_school", "needs", "score", "preference")

# The district's ranking gets the largest single weight because it reflects interviews
# the other components cannot see: a first choice beats an unranked provider by 35 points
# and a last-ranked one by 17.5, so a lower-ranked provider wins only when the preferred
# one is clearly weaker on grades and needs together.
DEFAULT_WEIGHTS: dict[str, float] = {
    "grades": 20.0,
    "high_school": 10.0,
    "needs": 20.0,
    "score": 15.0,
    "preference": 35.0,
}

# Preference value of the district's last-ranked provider; ranks in between are linear.
PREFERENCE_FLOOR = 0.5
# Stand-in for a provider without an RFP score: neither rewarded nor punished.
MISSING_SCORE = 0.5


def checked_weights(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown fit components {sorted(unknown)}")
    checked = {name: float(weights.get(name, 0.0)) for name in COMPONENTS}
    if any(not math.isfinite(w) or w < 0 for w in checked.values()):
        raise ValueError("fit weights must be finite and non-negative")
    # Same rule as RFP criteria weights: keeps every fit on 0-100.
    if not math.isclose(sum(checked.values()), 100.0, abs_tol=1e-6):
        raise ValueError("fit weights must sum to 100")
    return checked


def _preference_value(rank: int, ranked: int) -> float:
    if ranked == 1:
        return 1.0
    return 1.0 - (1.0 - PREFERENCE_FLOOR) * rank / (ranked - 1)


def _components(cluster: ClusterInput, provider: ProviderInput) -> dict[str, float]:
    grades = len(cluster.grades & provider.grades) / len(cluster.grades) if cluster.grades else 1.0
    # A cluster without high-school grades takes no high-school risk, so it scores 1.0
    # rather than dropping the component: totals keep one fixed set of weights and the
    # breakdown always adds up without renormalising.
    high_school = provider.high_school_experience if cluster.grades & HIGH_SCHOOL_GRADES else 1.0
    needs = len(cluster.needs & provider.categories) / len(cluster.needs) if cluster.needs else 1.0
    score = MISSING_SCORE if provider.rfp_score is None else provider.rfp_score / 100.0
    # Unranked clusters give 0 to every provider: a constant row changes no cluster's
    # choice, only lifts the clusters whose district asked for a specific partner.
    preference = 0.0
    if provider.id in cluster.preferences:
        preference = _preference_value(
            cluster.preferences.index(provider.id), len(cluster.preferences)
        )
    return {
        "grades": grades,
        "high_school": high_school,
        "needs": needs,
        "score": score,
        "preference": preference,
    }


def fit_breakdown(
    cluster: ClusterInput,
    provider: ProviderInput,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> dict[str, float]:
    """Each component's weighted contribution (points of 100) plus their "total"."""
    checked = checked_weights(weights)
    components = _components(cluster, provider)
    breakdown = {name: checked[name] * components[name] for name in COMPONENTS}
    breakdown["total"] = sum(breakdown[name] for name in COMPONENTS)
    return breakdown


def _grade_matrix(grade_sets: Sequence[frozenset[str]]) -> FloatMatrix:
    out = np.zeros((len(grade_sets), len(GRADE_CODES)), dtype=np.float64)
    for i, grades in enumerate(grade_sets):
        out[i, [GRADE_POSITION[code] for code in grades]] = 1.0
    return out


def shared_grades(
    clusters: Sequence[ClusterInput], providers: Sequence[ProviderInput]
) -> tuple[FloatMatrix, FloatMatrix]:
    """(clusters x providers) count of shared grades, and each cluster's grade count."""
    cluster_grades = _grade_matrix([c.grades for c in clusters])
    provider_grades = _grade_matrix([p.grades for p in providers])
    return cluster_grades @ provider_grades.T, cluster_grades.sum(axis=1)


def fit_matrix(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> FloatMatrix:
    """Fit of every (cluster, provider) pair, equal to `fit_breakdown(...)["total"]`."""
    checked = checked_weights(weights)
    n, m = len(clusters), len(providers)
    check_unique_ids(clusters, providers)

    shared, grade_count = shared_grades(clusters, providers)
    grades = np.where(grade_count[:, None] > 0, shared / np.maximum(grade_count, 1.0)[:, None], 1.0)

    has_high_school = np.array(
        [bool(c.grades & HIGH_SCHOOL_GRADES) for c in clusters], dtype=bool
    ).reshape(n, 1)
    experience = np.array([p.high_school_experience for p in providers], dtype=np.float64)
    high_school = np.where(has_high_school, experience[None, :], 1.0)

    cluster_needs = np.zeros((n, len(NEEDS_AREAS)), dtype=np.float64)
    for i, c in enumerate(clusters):
        cluster_needs[i, [NEEDS_POSITION[a] for a in c.needs]] = 1.0
    provider_needs = np.zeros((m, len(NEEDS_AREAS)), dtype=np.float64)
    for j, p in enumerate(providers):
        provider_needs[j, [NEEDS_POSITION[a] for a in p.categories if a in NEEDS_POSITION]] = 1
    need_count = cluster_needs.sum(axis=1)
    needs = np.where(
        need_count[:, None] > 0,
        (cluster_needs @ provider_needs.T) / np.maximum(need_count, 1.0)[:, None],
        1.0,
    )

    score = np.array(
        [MISSING_SCORE if p.rfp_score is None else p.rfp_score / 100.0 for p in providers],
        dtype=np.float64,
    )

    # Only the ranked entries are touched: the loop runs over preference lists, not pairs.
    preference = np.zeros((n, m), dtype=np.float64)
    column = {p.id: j for j, p in enumerate(providers)}
    for i, c in enumerate(clusters):
        for rank, provider_id in enumerate(c.preferences):
            ranked_column = column.get(provider_id)
            if ranked_column is not None:
                preference[i, ranked_column] = _preference_value(rank, len(c.preferences))

    total: FloatMatrix = (
        checked["grades"] * grades
        + checked["high_school"] * high_school
        + checked["needs"] * needs
        + checked["score"] * score[None, :]
        + checked["preference"] * preference
    )
    return total.reshape(n, m)
