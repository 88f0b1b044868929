"""Exclusions: the pairs no assignment may use (wrong state, declined before, conflicted,
no capacity, no shared grades), as masks for the solver and as reasons for people."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.matching.fit import shared_grades
from scoring.matching.inputs import (
    BoolMatrix,
    ClusterInput,
    PairSet,
    ProviderInput,
    check_unique_ids,
)
from scoring.matching.vocabulary import grades_label

# Checked in this order; the first that applies is the reason given.
REASON_STATE = "state"
REASON_DECLINED = "declined"
REASON_CONFLICT = "conflict"
REASON_CAPACITY = "capacity"
REASON_GRADES = "grades"

# `conflicts` is optional: the service records no cluster-provider conflict of interest (a
# district declines such a pairing), so it passes only `declined`.
NO_PAIRS: PairSet = frozenset()


def exclusion_reason(
    cluster: ClusterInput,
    provider: ProviderInput,
    declined: PairSet,
    conflicts: PairSet = NO_PAIRS,
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


def exclusion_masks(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    declined: PairSet,
    conflicts: PairSet = NO_PAIRS,
) -> dict[str, BoolMatrix]:
    """One (clusters x providers) mask per reason, True where that reason applies."""
    check_unique_ids(clusters, providers)
    n, m = len(clusters), len(providers)
    states = sorted({c.state for c in clusters})
    state_column = {s: k for k, s in enumerate(states)}
    operates = np.zeros((m, len(states)), dtype=bool)
    for j, p in enumerate(providers):
        operates[j, [state_column[s] for s in p.states if s in state_column]] = True
    cluster_state = np.array([state_column[c.state] for c in clusters], dtype=np.int64)
    shared, grade_count = shared_grades(clusters, providers)
    capacity = np.array([p.capacity for p in providers], dtype=np.int64)
    return {
        REASON_STATE: ~operates[:, cluster_state].T.reshape(n, m),
        REASON_DECLINED: _pair_mask(clusters, providers, declined),
        REASON_CONFLICT: _pair_mask(clusters, providers, conflicts),
        REASON_CAPACITY: np.broadcast_to(capacity[None, :] <= 0, (n, m)),
        REASON_GRADES: (shared == 0) & (grade_count[:, None] > 0),
    }


def allowed_matrix(
    clusters: Sequence[ClusterInput],
    providers: Sequence[ProviderInput],
    declined: PairSet,
    conflicts: PairSet = NO_PAIRS,
) -> BoolMatrix:
    """True where `exclusion_reason` is None."""
    masks = exclusion_masks(clusters, providers, declined, conflicts)
    excluded = np.zeros((len(clusters), len(providers)), dtype=bool)
    for mask in masks.values():
        excluded |= mask
    return ~excluded
