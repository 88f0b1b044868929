"""Assign reviewers to proposals: enough reviewers each, no conflicts, balanced loads.

The assignment is solved exactly as a flow with lower and upper bounds:

    source -> proposal (exactly the reviewers it still needs)
    proposal -> reviewer (capacity 1 for each pair without a conflict or assignment)
    reviewer -> sink (between ``low - existing load`` and ``high - existing load``)

A flow with lower bounds is checked through the textbook reduction to one maximum flow
(scipy's), so a feasible instance is never missed the way a greedy loop can miss one.

Balance is lexicographic over total loads (existing plus new): first the largest load is
made as small as possible, then, keeping it, the smallest load as large as possible. When
some assignment has loads that differ by at most one, this finds one; when existing loads
make that impossible (a reviewer who already carries many proposals), the result is the
most balanced assignment there is, and nobody is given more than they must.

Existing pairs count toward each proposal's reviewers and each reviewer's load, including
pairs for proposals not listed now (other proposals of the same RFP still load the
reviewer). A pair that is both existing and forbidden is an error: the caller removes a
conflicted assignment before asking for replacements.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow

Pair = tuple[str, str]  # (proposal_id, reviewer_id)
IntArray = NDArray[np.int64]

# Proposals listed one by one in an error message; the rest are counted.
_LISTED_PROBLEMS = 10


class InfeasibleAssignment(ValueError):
    """No assignment meets the requirements; the message says why in plain English."""


def assign_reviewers(
    proposal_ids: Sequence[str],
    reviewer_ids: Sequence[str],
    per_proposal: int,
    forbidden: AbstractSet[Pair],
    existing: AbstractSet[Pair] = frozenset(),
) -> list[Pair]:
    """New (proposal_id, reviewer_id) pairs giving every proposal ``per_proposal`` reviewers.

    Pairs come back in the order of ``proposal_ids``, then ``reviewer_ids``. Raises
    InfeasibleAssignment when some proposal cannot get enough reviewers without a conflict.
    """
    _check_input(proposal_ids, reviewer_ids, per_proposal, forbidden, existing)
    have = dict.fromkeys(proposal_ids, 0)
    load = dict.fromkeys(reviewer_ids, 0)
    for proposal_id, reviewer_id in existing:
        if proposal_id in have:
            have[proposal_id] += 1
        if reviewer_id in load:
            load[reviewer_id] += 1
    need = [max(0, per_proposal - have[proposal_id]) for proposal_id in proposal_ids]
    allowed = [
        [
            r
            for r, reviewer_id in enumerate(reviewer_ids)
            if (proposal_id, reviewer_id) not in forbidden
            and (proposal_id, reviewer_id) not in existing
        ]
        for proposal_id in proposal_ids
    ]
    _check_coverage(proposal_ids, reviewer_ids, per_proposal, have, need, allowed)
    if sum(need) == 0:
        return []

    loads = np.array([load[reviewer_id] for reviewer_id in reviewer_ids], dtype=np.int64)
    network = _Network(need, allowed, len(reviewer_ids))
    total = int(loads.sum()) + sum(need)
    reviewers = len(reviewer_ids)

    # Smallest feasible maximum load. With no cap beyond one per proposal the flow is
    # feasible (checked above), so the upper end of the search always works.
    low_u = max(int(loads.max()), -(-total // reviewers))
    high_u = int(loads.max()) + len(proposal_ids)
    while low_u < high_u:
        middle = (low_u + high_u) // 2
        if network.solve(np.zeros_like(loads), middle - loads) is not None:
            high_u = middle
        else:
            low_u = middle + 1
    upper = low_u

    # Largest feasible minimum load under that maximum; the smallest existing load is
    # always feasible because it asks nothing of anyone.
    low_l, high_l = int(loads.min()), max(int(loads.min()), total // reviewers)
    while low_l < high_l:
        middle = (low_l + high_l + 1) // 2
        if network.solve(np.maximum(0, middle - loads), upper - loads) is not None:
            low_l = middle
        else:
            high_l = middle - 1
    pairs = network.solve(np.maximum(0, low_l - loads), upper - loads)
    if pairs is None:  # pragma: no cover - the searches above proved this bound feasible
        raise InfeasibleAssignment("The reviewer assignment could not be completed.")
    return [(proposal_ids[p], reviewer_ids[r]) for p, r in sorted(pairs)]


def _check_input(
    proposal_ids: Sequence[str],
    reviewer_ids: Sequence[str],
    per_proposal: int,
    forbidden: AbstractSet[Pair],
    existing: AbstractSet[Pair],
) -> None:
    if per_proposal < 0:
        raise ValueError("The number of reviewers per proposal cannot be negative.")
    if len(set(proposal_ids)) != len(proposal_ids):
        raise ValueError("A proposal is listed more than once.")
    if len(set(reviewer_ids)) != len(reviewer_ids):
        raise ValueError("A reviewer is listed more than once.")
    clashes = sorted(existing & forbidden)
    if clashes:
        proposal_id, reviewer_id = clashes[0]
        raise ValueError(
            f"Reviewer {reviewer_id} is assigned to proposal {proposal_id} but has a conflict "
            f"with it; remove that assignment before assigning reviewers."
        )


def _check_coverage(
    proposal_ids: Sequence[str],
    reviewer_ids: Sequence[str],
    per_proposal: int,
    have: dict[str, int],
    need: list[int],
    allowed: list[list[int]],
) -> None:
    """Raise InfeasibleAssignment unless every proposal has enough eligible reviewers.

    Reviewers have no load cap, so this per-proposal count is the whole feasibility test.
    """
    short = [p for p in range(len(proposal_ids)) if len(allowed[p]) < need[p]]
    if not short:
        return
    if len(reviewer_ids) < per_proposal and all(have[proposal_ids[p]] == 0 for p in short):
        raise InfeasibleAssignment(
            f"Not enough reviewers: each proposal needs {per_proposal}, but the panel has "
            f"{_count(len(reviewer_ids), 'reviewer')}."
        )
    messages = []
    for p in short[:_LISTED_PROBLEMS]:
        proposal_id, available = proposal_ids[p], len(allowed[p])
        if have[proposal_id] == 0:
            messages.append(
                f"Proposal {proposal_id} has only {_count(available, 'reviewer')} without a "
                f"conflict; {need[p]} {'is' if need[p] == 1 else 'are'} needed."
            )
        else:
            messages.append(
                f"Proposal {proposal_id} needs {need[p]} more "
                f"{'reviewer' if need[p] == 1 else 'reviewers'}, but only {available} "
                f"{'is' if available == 1 else 'are'} available without a conflict or an "
                f"existing assignment."
            )
    if len(short) > _LISTED_PROBLEMS:
        messages.append(
            f"{len(short) - _LISTED_PROBLEMS} more proposals are short of reviewers as well."
        )
    raise InfeasibleAssignment(" ".join(messages))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _Network:
    """The assignment flow network, re-solved for different reviewer load bounds.

    Nodes: 0 source, 1 sink, 2 super-source, 3 super-sink, then proposals, then reviewers.
    Lower bounds are moved onto the super-source/super-sink edges (the standard reduction);
    with a sink-to-source edge of unlimited capacity, bounds are feasible exactly when the
    maximum flow from super-source to super-sink saturates every one of those edges.
    """

    _SOURCE, _SINK, _SUPER_SOURCE, _SUPER_SINK = 0, 1, 2, 3

    def __init__(self, need: list[int], allowed: list[list[int]], reviewers: int) -> None:
        self.need = np.array(need, dtype=np.int64)
        self.proposals = len(need)
        self.reviewers = reviewers
        self.nodes = 4 + self.proposals + reviewers
        first_reviewer = 4 + self.proposals
        pair_rows = [4 + p for p, options in enumerate(allowed) for _ in options]
        pair_cols = [first_reviewer + r for options in allowed for r in options]
        self.pair_rows = np.array(pair_rows, dtype=np.int64)
        self.pair_cols = np.array(pair_cols, dtype=np.int64)
        self.reviewer_nodes = np.arange(first_reviewer, self.nodes, dtype=np.int64)
        self.proposal_nodes = np.arange(4, first_reviewer, dtype=np.int64)

    def solve(self, lower: IntArray, upper: IntArray) -> list[tuple[int, int]] | None:
        """(proposal index, reviewer index) pairs meeting the load bounds, or None."""
        if (lower > upper).any() or (upper < 0).any():
            return None
        total_need = int(self.need.sum())
        total_lower = int(lower.sum())
        unlimited = total_need + total_lower + 1
        n = self.nodes
        rows = np.concatenate(
            [
                self.pair_rows,  # proposal -> reviewer
                self.reviewer_nodes,  # reviewer -> sink, room above the lower bound
                [self._SINK],  # sink -> source
                np.full(self.proposals, self._SUPER_SOURCE),  # demand of each proposal
                [self._SOURCE],  # supply of the source's fixed edges
                [self._SUPER_SOURCE],  # lower bounds arriving at the sink
                self.reviewer_nodes,  # lower bounds leaving each reviewer
            ]
        )
        cols = np.concatenate(
            [
                self.pair_cols,
                np.full(self.reviewers, self._SINK),
                [self._SOURCE],
                self.proposal_nodes,
                [self._SUPER_SINK],
                [self._SINK],
                np.full(self.reviewers, self._SUPER_SINK),
            ]
        )
        capacities = np.concatenate(
            [
                np.ones(len(self.pair_rows), dtype=np.int64),
                upper - lower,
                [unlimited],
                self.need,
                [total_need],
                [total_lower],
                lower,
            ]
        ).astype(np.int32)
        keep = capacities > 0
        graph = csr_array((capacities[keep], (rows[keep], cols[keep])), shape=(n, n))
        result = maximum_flow(graph, self._SUPER_SOURCE, self._SUPER_SINK)
        if result.flow_value < total_need + total_lower:
            return None
        flow = result.flow.tocoo()
        chosen = (
            (flow.data > 0)
            & (flow.row >= 4)
            & (flow.row < 4 + self.proposals)
            & (flow.col >= 4 + self.proposals)
        )
        return [
            (int(row) - 4, int(col) - 4 - self.proposals)
            for row, col in zip(flow.row[chosen], flow.col[chosen], strict=True)
        ]
