"""Matching of preferred providers (Lead Partners) to a district's clusters of schools.

Pure arithmetic: stdlib, numpy and scipy only. The service layer loads clusters, providers
and exclusions, calls these functions, and stores the run with its explanations.

Fit. Each (cluster, provider) pair gets five components in [0, 1]; the fit is their
weighted sum with weights summing to 100, so it is on 0-100 and every component's
contribution is visible (`fit_breakdown`). `fit_matrix` computes the same numbers for all
pairs at once with boolean matrices and matrix products.

Assignment. Among all assignments (each cluster at most one provider, each provider at
most its capacity, only allowed pairs) `assign` returns one that matches the most
clusters and, among those, has the largest total fit. It is solved exactly as a
rectangular assignment problem (see `assign`), never greedily.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

FloatMatrix = NDArray[np.float64]
BoolMatrix = NDArray[np.bool_]
IntVector = NDArray[np.int64]
PairSet = AbstractSet[tuple[str, str]]

# --- grades -------------------------------------------------------------------------------

# NCES Common Core of Data grade codes (GSLO/GSHI), lowest first.
GRADE_CODES: tuple[str, ...] = ("PK", "KG", *(f"{g:02d}" for g in range(1, 13)))
HIGH_SCHOOL_GRADES: frozenset[str] = frozenset({"09", "10", "11", "12"})
_GRADE_POSITION: dict[str, int] = {code: i for i, code in enumerate(GRADE_CODES)}


def grade_index(code: str) -> int:
    """PK=-1, KG=0, "01".."12" = 1..12."""
    try:
        return _GRADE_POSITION[code] - 1
    except KeyError:
        raise ValueError(f"unknown grade code {code!r}; expected PK, KG or 01..12") from None


def grade_span(low: str, high: str) -> list[str]:
    """Every grade code from `low` to `high` inclusive (a school's GSLO..GSHI)."""
    lo, hi = grade_index(low), grade_index(high)
    if lo > hi:
        raise ValueError(f"grade span {low}-{high} runs backwards")
    return list(GRADE_CODES[lo + 1 : hi + 2])


def _grade_label(code: str) -> str:
    return {"PK": "PK", "KG": "K"}.get(code, str(int(code)) if code.isdigit() else code)


def grades_label(grades: AbstractSet[str]) -> str:
    """Compact plain label, runs collapsed: {"KG","01","02","05"} -> "K-2, 5"."""
    ordered = sorted(grades, key=grade_index)
    runs: list[list[str]] = []
    for code in ordered:
        if runs and grade_index(code) == grade_index(runs[-1][-1]) + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    return ", ".join(
        _grade_label(run[0]) if len(run) == 1 else f"{_grade_label(run[0])}-{_grade_label(run[-1])}"
        for run in runs
    )


# --- needs areas --------------------------------------------------------------------------

# From the Chicago Office of School Turnaround's needs assessment.
NEEDS_AREAS: tuple[str, ...] = (
    "human_capital",
    "rigorous_instruction",
    "social_emotional_learning",
    "extended_day",
    "community_engagement",
    "administrative_needs",
    "policy_and_legal",
    "knowledge_management",
)
NEEDS_AREA_TITLES: dict[str, str] = {
    "human_capital": "Human capital",
    "rigorous_instruction": "Rigorous and relevant instruction",
    "social_emotional_learning": "Social and emotional learning",
    "extended_day": "Extended day",
    "community_engagement": "Community engagement",
    "administrative_needs": "Administrative needs",
    "policy_and_legal": "Policy and legal",
    "knowledge_management": "Knowledge and performance management",
}
_NEEDS_POSITION: dict[str, int] = {area: i for i, area in enumerate(NEEDS_AREAS)}

# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterInput:
    id: str
    grades: frozenset[str]  # every grade code served by the cluster's schools
    needs: frozenset[str]  # needs areas, keys of NEEDS_AREA_TITLES
    state: str
    enrollment: int
    poverty_rate: float | None
    preferences: tuple[str, ...] = ()  # provider ids ranked best first by the district

    def __post_init__(self) -> None:
        for code in self.grades:
            grade_index(code)
        unknown = self.needs - _NEEDS_POSITION.keys()
        if unknown:
            raise ValueError(f"cluster {self.id}: unknown needs areas {sorted(unknown)}")
        if len(set(self.preferences)) != len(self.preferences):
            raise ValueError(f"cluster {self.id}: a provider is ranked twice")
        if self.enrollment < 0:
            raise ValueError(f"cluster {self.id}: negative enrollment")
        if self.poverty_rate is not None and not 0.0 <= self.poverty_rate <= 1.0:
            raise ValueError(f"cluster {self.id}: poverty rate must be within 0..1")


@dataclass(frozen=True)
class ProviderInput:
    id: str
    grades: frozenset[str]
    states: frozenset[str]
    # Categories of its listing; only needs areas count towards fit (a listing may also
    # carry grade-level or other categories, which are ignored here).
    categories: frozenset[str]
    capacity: int  # clusters it can take in this run
    rfp_score: float | None  # weighted total on 0-100
    high_school_experience: float  # self-audit item: 1 met, 0.5 partial, 0 not met

    def __post_init__(self) -> None:
        for code in self.grades:
            grade_index(code)
        if self.capacity < 0:
            raise ValueError(f"provider {self.id}: negative capacity")
        if self.rfp_score is not None and not 0.0 <= self.rfp_score <= 100.0:
            raise ValueError(f"provider {self.id}: RFP score must be within 0..100")
        if not 0.0 <= self.high_school_experience <= 1.0:
            raise ValueError(f"provider {self.id}: high-school experience must be within 0..1")


# --- fit ----------------------------------------------------------------------------------

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
        out[i, [_GRADE_POSITION[code] for code in grades]] = 1.0
    return out


def _shared_grades(
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
    _check_unique_ids(clusters, providers)

    shared, grade_count = _shared_grades(clusters, providers)
    grades = np.where(grade_count[:, None] > 0, shared / np.maximum(grade_count, 1.0)[:, None], 1.0)

    has_high_school = np.array(
        [bool(c.grades & HIGH_SCHOOL_GRADES) for c in clusters], dtype=bool
    ).reshape(n, 1)
    experience = np.array([p.high_school_experience for p in providers], dtype=np.float64)
    high_school = np.where(has_high_school, experience[None, :], 1.0)

    cluster_needs = np.zeros((n, len(NEEDS_AREAS)), dtype=np.float64)
    for i, c in enumerate(clusters):
        cluster_needs[i, [_NEEDS_POSITION[a] for a in c.needs]] = 1.0
    provider_needs = np.zeros((m, len(NEEDS_AREAS)), dtype=np.float64)
    for j, p in enumerate(providers):
        provider_needs[j, [_NEEDS_POSITION[a] for a in p.categories if a in _NEEDS_POSITION]] = 1
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


# --- exclusions ---------------------------------------------------------------------------

# Checked in this order; the first that applies is the reason given.
_REASON_STATE = "state"
_REASON_DECLINED = "declined"
_REASON_CONFLICT = "conflict"
_REASON_CAPACITY = "capacity"
_REASON_GRADES = "grades"


def exclusion_reason(
    cluster: ClusterInput,
    provider: ProviderInput,
    declined: PairSet,
    conflicts: PairSet,
) -> str | None:
    """Why this provider may not serve this cluster, or None if it may.

    `declined` and `conflicts` hold (cluster_id, provider_id) pairs.
    """
    pair = (cluster.id, provider.id)
    if cluster.state not in provider.states:
        return f"The provider does not operate in {cluster.state}"
    if pair in declined:
        return "This pairing was declined in an earlier run"
    if pair in conflicts:
        return "A conflict of interest is recorded for this pairing"
    if provider.capacity <= 0:
        return "The provider has no capacity for another cluster"
    if cluster.grades and not cluster.grades & provider.grades:
        return f"The provider serves none of the cluster's grades ({grades_label(cluster.grades)})"
    return None


def _check_unique_ids(clusters: Sequence[ClusterInput], providers: Sequence[ProviderInput]) -> None:
    # Pairs and preferences are keyed by id, so a repeated id would be ambiguous.
    if len({c.id for c in clusters}) != len(clusters):
        raise ValueError("cluster ids must be unique")
    if len({p.id for p in providers}) != len(providers):
        raise ValueError("provider ids must be unique")


def _pair_mask(
    clusters: Sequence[ClusterInput], providers: Sequence[ProviderInput], pairs: PairSet
) -> BoolMatrix:
    row = {c.id: i for i, c in enumerate(clusters)}
    column = {p.id: j for j, p in enumerate(providers)}
    mask = np.zeros((len(clusters), len(providers)), dtype=bool)
    for cluster_id, provider_id in pairs:
        i, j = row.get(cluster_id), column.get(provider_id)
        if i is not None and j is not None:
            mask[i, j] = True
    return mask


def _exclusion_masks(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    declined: PairSet,
    conflicts: PairSet,
) -> dict[str, BoolMatrix]:
    """One (clusters x providers) mask per reason, True where that reason applies."""
    _check_unique_ids(clusters, providers)
    n, m = len(clusters), len(providers)
    states = sorted({c.state for c in clusters})
    state_column = {s: k for k, s in enumerate(states)}
    operates = np.zeros((m, len(states)), dtype=bool)
    for j, p in enumerate(providers):
        operates[j, [state_column[s] for s in p.states if s in state_column]] = True
    cluster_state = np.array([state_column[c.state] for c in clusters], dtype=np.int64)
    shared, grade_count = _shared_grades(clusters, providers)
    capacity = np.array([p.capacity for p in providers], dtype=np.int64)
    return {
        _REASON_STATE: ~operates[:, cluster_state].T.reshape(n, m),
        _REASON_DECLINED: _pair_mask(clusters, providers, declined),
        _REASON_CONFLICT: _pair_mask(clusters, providers, conflicts),
        _REASON_CAPACITY: np.broadcast_to(capacity[None, :] <= 0, (n, m)),
        _REASON_GRADES: (shared == 0) & (grade_count[:, None] > 0),
    }


def allowed_matrix(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    declined: PairSet,
    conflicts: PairSet,
) -> BoolMatrix:
    """True where `exclusion_reason` is None."""
    masks = _exclusion_masks(clusters, providers, declined, conflicts)
    excluded = np.zeros((len(clusters), len(providers)), dtype=bool)
    for mask in masks.values():
        excluded |= mask
    return ~excluded


# --- assignment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    pairs: list[tuple[int, int]]  # (cluster index, provider index), by cluster index
    objective: float  # total fit of the pairs
    matched: int


def assign(fit: FloatMatrix, capacity: IntVector, allowed: BoolMatrix) -> Assignment:
    """Match the most clusters and, among such assignments, maximize total fit. Exact.

    Each provider is replicated once per unit of capacity (never more copies than clusters
    it may serve) and each cluster gets a private "unmatched" column; the result is a
    rectangular assignment problem in which every cluster takes exactly one column,
    solved by scipy's sparse Jonker-Volgenant (LAPJVsp), which is exact.

    Costs: a real edge costs (hi - fit + 1) and the unmatched column costs D = M + hi + 1,
    where hi / lo are the largest / smallest allowed fits. A solution with k matched
    clusters and total fit F then costs n*D - k*M - F, so minimizing cost maximizes
    k*M + F. With M = n*(hi - lo) + |lo| + 1, one more matched cluster is worth more than
    any possible difference in F (F of a k-matching is at most k*hi, of a (k+1)-matching
    at least (k+1)*lo), so the cardinality comes first and fit second, lexicographically.
    All edge costs are >= 1, as LAPJVsp requires non-zero weights. Precision: with fits on
    0-100 and n = 1,250 clusters, D is about 1.3e5 and a total cost about 1.6e8, which
    double precision resolves to ~3e-8; only assignments whose total fits differ by less
    than that could be confused, far below the 1e-6 the tests demand against the MILP.
    """
    fit = np.asarray(fit, dtype=np.float64)
    allowed = np.asarray(allowed, dtype=bool)
    capacity_in = np.asarray(capacity)
    if fit.ndim != 2 or allowed.shape != fit.shape:
        raise ValueError("fit and allowed must be matrices of the same shape")
    n, m = fit.shape
    if capacity_in.shape != (m,):
        raise ValueError("capacity needs one entry per provider (fit column)")
    if not np.all(np.isfinite(capacity_in)) or np.any(capacity_in != np.floor(capacity_in)):
        raise ValueError("capacities must be whole numbers")
    caps = capacity_in.astype(np.int64)
    if np.any(caps < 0):
        raise ValueError("capacities must not be negative")

    usable = allowed & (caps > 0)[None, :]
    if not np.all(np.isfinite(fit[usable])):
        raise ValueError("allowed pairs need finite fits")
    rows = np.flatnonzero(usable.any(axis=1))
    if rows.size == 0:
        return Assignment(pairs=[], objective=0.0, matched=0)
    sub = usable[rows]
    sub_fit = fit[rows]
    size = rows.size

    copies = np.minimum(caps, sub.sum(axis=0)).astype(np.int64)
    first_copy = np.cumsum(copies) - copies
    total_copies = int(copies.sum())
    copy_owner = np.repeat(np.arange(m, dtype=np.int64), copies)

    # Every allowed (row, provider) edge fans out to all copies of the provider.
    edge_row, edge_provider = np.nonzero(sub)
    fan = copies[edge_provider]
    row_of = np.repeat(edge_row, fan)
    provider_of = np.repeat(edge_provider, fan)
    within = np.arange(int(fan.sum()), dtype=np.int64) - np.repeat(np.cumsum(fan) - fan, fan)
    column_of = first_copy[provider_of] + within

    edge_fit = sub_fit[edge_row, edge_provider]
    hi, lo = float(edge_fit.max()), float(edge_fit.min())
    big_m = size * (hi - lo) + abs(lo) + 1.0
    unmatched_cost = big_m + hi + 1.0

    graph = sparse.csr_array(
        (
            np.concatenate(
                [(hi - sub_fit[row_of, provider_of]) + 1.0, np.full(size, unmatched_cost)]
            ),
            (
                np.concatenate([row_of, np.arange(size)]),
                np.concatenate([column_of, total_copies + np.arange(size)]),
            ),
        ),
        shape=(size, total_copies + size),
    )
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)

    real = matched_cols < total_copies
    pairs = sorted(
        zip(
            rows[matched_rows[real]].tolist(),
            copy_owner[matched_cols[real]].tolist(),
            strict=True,
        )
    )
    objective = math.fsum(float(fit[i, j]) for i, j in pairs)
    return Assignment(pairs=pairs, objective=objective, matched=len(pairs))


# --- reporting ----------------------------------------------------------------------------


def _summary_label(reason: str, cluster: ClusterInput) -> str:
    return {
        _REASON_STATE: f"not operating in {cluster.state}",
        _REASON_DECLINED: "declined earlier",
        _REASON_CONFLICT: "with a conflict of interest",
        _REASON_CAPACITY: "without capacity",
        _REASON_GRADES: "serving none of its grades",
    }[reason]


def unmatched_reasons(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    allowed: BoolMatrix,
    assignment: Assignment,
    *,
    declined: PairSet | None = None,
    conflicts: PairSet | None = None,
) -> dict[int, str]:
    """Why each unmatched cluster (by index) got no provider, in plain English.

    Pass the run's `declined` and `conflicts` to have them counted separately; without
    them, providers excluded by neither state, capacity nor grades are reported as
    "declined earlier or with a conflict of interest".
    """
    allowed = np.asarray(allowed, dtype=bool)
    capacity = np.array([p.capacity for p in providers], dtype=np.int64)
    usable = allowed & (capacity > 0)[None, :]
    matched = {i for i, _ in assignment.pairs}
    unmatched = [i for i in range(len(clusters)) if i not in matched]
    empty = [i for i in unmatched if not usable[i].any()]

    masks: dict[str, BoolMatrix] = {}
    if empty:
        masks = _exclusion_masks(clusters, providers, declined or set(), conflicts or set())
    pairs_known = declined is not None and conflicts is not None

    reasons: dict[int, str] = {}
    for i in unmatched:
        if usable[i].any():
            reasons[i] = (
                "Every provider allowed for this cluster is at capacity with "
                "better-fitting clusters"
            )
            continue
        if not providers:
            reasons[i] = "No preferred provider may serve this cluster: no providers in this run"
            continue
        remaining = np.ones(len(providers), dtype=bool)
        parts: list[str] = []
        for reason, mask in masks.items():
            hit = remaining & mask[i]
            if hit.any():
                parts.append(f"{int(hit.sum())} {_summary_label(reason, clusters[i])}")
            remaining &= ~mask[i]
        if remaining.any():
            # Excluded by the caller's allowed matrix for a reason not recomputed here.
            label = (
                "excluded for other reasons"
                if pairs_known
                else "declined earlier or with a conflict of interest"
            )
            parts.append(f"{int(remaining.sum())} {label}")
        reasons[i] = "No preferred provider may serve this cluster: " + ", ".join(parts)
    return reasons


def first_choice_count(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    assignment: Assignment,
) -> int:
    """Clusters that got the provider their district ranked first."""
    return sum(
        1
        for i, j in assignment.pairs
        if clusters[i].preferences and clusters[i].preferences[0] == providers[j].id
    )


def _ordinal(k: int) -> str:
    if k % 100 in (11, 12, 13):
        return f"{k}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _number(x: float) -> str:
    return f"{round(x, 1):g}"


def _grades_phrase(cluster: ClusterInput, provider: ProviderInput) -> str:
    total = len(cluster.grades)
    if total == 0:
        return "The cluster lists no grades"
    shared = cluster.grades & provider.grades
    if len(shared) == total:
        if total == 1:
            return f"Serves the cluster's only grade ({grades_label(cluster.grades)})"
        return f"Serves all {total} of the cluster's grades"
    if not shared:
        return f"Serves none of the cluster's grades ({grades_label(cluster.grades)})"
    missing = grades_label(cluster.grades - provider.grades)
    return f"Serves {len(shared)} of the cluster's {total} grades (not {missing})"


def _needs_phrase(cluster: ClusterInput, provider: ProviderInput) -> str:
    total = len(cluster.needs)
    if total == 0:
        return "the cluster lists no needs areas"
    covered = [a for a in NEEDS_AREAS if a in cluster.needs and a in provider.categories]
    names = ", ".join(NEEDS_AREA_TITLES[a].lower() for a in covered)
    noun = "needs area" if total == 1 else "needs areas"
    if len(covered) == total:
        return (
            f"covers all {total} {noun} ({names})" if total > 1 else f"covers its {noun} ({names})"
        )
    if not covered:
        return f"covers none of the {total} {noun}"
    return f"covers {len(covered)} of {total} {noun} ({names})"


def explain(cluster: ClusterInput, provider: ProviderInput, breakdown: Mapping[str, float]) -> str:
    """One plain-English sentence on why this provider fits this cluster."""
    parts = [_grades_phrase(cluster, provider)]
    if cluster.grades & HIGH_SCHOOL_GRADES:
        experience = provider.high_school_experience
        rating = {1.0: "met", 0.5: "partly met", 0.0: "not met"}.get(
            experience, f"rated {_number(experience)} of 1"
        )
        parts.append(f"high-school experience {rating}")
    parts.append(_needs_phrase(cluster, provider))
    parts.append(
        "no RFP score on file"
        if provider.rfp_score is None
        else f"RFP score {_number(provider.rfp_score)}"
    )
    if cluster.preferences:
        if provider.id in cluster.preferences:
            rank = cluster.preferences.index(provider.id) + 1
            parts.append(
                "the district's first choice"
                if rank == 1
                else f"the district's {_ordinal(rank)} choice of {len(cluster.preferences)}"
            )
        else:
            parts.append("not among the providers the district ranked")
    total = breakdown.get("total", sum(breakdown.get(name, 0.0) for name in COMPONENTS))
    parts.append(f"fit {_number(total)} of 100")
    return "; ".join(parts) + "."
