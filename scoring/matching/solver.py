"""Assignment. Among all assignments (each cluster at most one provider, each provider at
most its capacity, only allowed pairs) `assign` returns one that matches the most
clusters and, among those, has the largest total fit. It is solved exactly as a
rectangular assignment problem (see `assign`), never greedily."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from scoring.matching.inputs import BoolMatrix, FloatMatrix, IntVector


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
