"""Reporting in words: why a cluster went unmatched, how many got their first choice, and
a sentence explaining each match's fit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from scoring.matching.exclusions import (
    NO_PAIRS,
    REASON_CAPACITY,
    REASON_CONFLICT,
    REASON_DECLINED,
    REASON_GRADES,
    REASON_STATE,
    exclusion_masks,
)
from scoring.matching.fit import COMPONENTS
from scoring.matching.inputs import (
    BoolMatrix,
    ClusterInput,
    PairSet,
    ProviderInput,
)
from scoring.matching.solver import Assignment
from scoring.matching.vocabulary import (
    HIGH_SCHOOL_GRADES,
    NEEDS_AREA_TITLES,
    NEEDS_AREAS,
    grades_label,
)


def _summary_label(reason: str, cluster: ClusterInput) -> str:
    return {
        REASON_STATE: f"not operating in {cluster.state}",
        REASON_DECLINED: "declined earlier",
        REASON_CONFLICT: "with a conflict of interest",
        REASON_CAPACITY: "without capacity",
        REASON_GRADES: "serving none of its grades",
    }[reason]


def unmatched_reasons(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    allowed: BoolMatrix,
    assignment: Assignment,
    *,
    declined: PairSet | None = None,
    conflicts: PairSet = NO_PAIRS,
) -> dict[int, str]:
    """Why each unmatched cluster (by index) got no provider, in plain English.

    Pass the run's `declined` (and its `conflicts`, if it has any) to have them counted
    separately; without `declined`, providers excluded by neither state, capacity nor
    grades are reported as "declined earlier or with a conflict of interest".
    """
    allowed = np.asarray(allowed, dtype=bool)
    capacity = np.array([p.capacity for p in providers], dtype=np.int64)
    usable = allowed & (capacity > 0)[None, :]
    matched = {i for i, _ in assignment.pairs}
    unmatched = [i for i in range(len(clusters)) if i not in matched]
    empty = [i for i in unmatched if not usable[i].any()]

    masks: dict[str, BoolMatrix] = {}
    if empty:
        masks = exclusion_masks(clusters, providers, declined or NO_PAIRS, conflicts)
    pairs_known = declined is not None

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
