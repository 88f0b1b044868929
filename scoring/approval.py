"""The approval rule of an RFP and the decision, with its reason, for each proposal.

A proposal is approved when all of these hold:

1. its weighted total is at least the threshold;
2. every criterion with a minimum level has a value at least that minimum;
3. with ``all_sections_meet``, every criterion's value is its top level (the "Meets"
   level; a mean gets there only when every reviewer gave the top level, or through
   consensus);
4. with ``top_n``, it is within the top N of the proposals that pass rules 1-3. The cap
   limits the size of the list, so a high-scoring proposal that fails a minimum does not
   take a place on it. Proposals tied at the cut are all approved (competition ranks, so
   totals 90, 85, 85, 80 with N = 2 approve three), because nothing fair separates them.

``Decision.rank`` is the rank among all of the RFP's proposals, as shown with results.
Comparisons allow 1e-9 of floating-point slack, so a computed 69.99999999999 meets 70.
Reasons are written for the partner's debrief: every failing rule, in plain English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.ranking import competition_rank
from scoring.rubric import TOLERANCE, Criterion, ProposalResult

# The weighted total an RFP's approval rule asks for unless its staff choose another.
DEFAULT_THRESHOLD = 70.0


@dataclass(frozen=True)
class ApprovalRule:
    threshold: float  # on the 0-100 weighted total
    top_n: int | None = None
    all_sections_meet: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 100.0:
            raise ValueError(f"The threshold {self.threshold} must be between 0 and 100.")
        if self.top_n is not None and self.top_n < 1:
            raise ValueError(f"The list cap {self.top_n} must be at least 1.")


@dataclass(frozen=True)
class Decision:
    proposal_id: str
    approved: bool
    reason: str
    rank: int | None
    weighted_total: float | None


def decide(
    criteria: Sequence[Criterion], results: Sequence[ProposalResult], rule: ApprovalRule
) -> list[Decision]:
    """Apply ``rule`` to every result; decisions come back in the order of ``results``."""
    ids = [result.proposal_id for result in results]
    if len(set(ids)) != len(ids):
        raise ValueError("Each proposal may appear only once in the results.")
    ranks = competition_rank({r.proposal_id: r.weighted_total for r in results})
    failures = {r.proposal_id: _rule_failures(criteria, r, rule) for r in results}

    qualifying = {r.proposal_id: r.weighted_total for r in results if not failures[r.proposal_id]}
    list_ranks = competition_rank(qualifying)
    if rule.top_n is not None:
        for proposal_id, list_rank in list_ranks.items():
            if list_rank is not None and list_rank > rule.top_n:
                failures[proposal_id].append(
                    f"it ranks {_ordinal(list_rank)} among the {len(qualifying)} proposals "
                    f"that pass every other rule, and the list is capped at the top "
                    f"{rule.top_n}"
                )

    decisions: list[Decision] = []
    for result in results:
        failed = failures[result.proposal_id]
        if failed:
            reason = _sentence(failed)
        else:
            reason = _approval_reason(
                criteria, result, rule, list_ranks[result.proposal_id], len(qualifying)
            )
        decisions.append(
            Decision(
                proposal_id=result.proposal_id,
                approved=not failed,
                reason=reason,
                rank=ranks[result.proposal_id],
                weighted_total=result.weighted_total,
            )
        )
    return decisions


def _rule_failures(
    criteria: Sequence[Criterion], result: ProposalResult, rule: ApprovalRule
) -> list[str]:
    """Rules 1-3 (see the module docstring) that ``result`` fails, as clauses."""
    values = {c.key: c.value for c in result.criteria}
    failures: list[str] = []
    unscored = [c.title for c in criteria if values.get(c.key) is None]
    total = result.weighted_total
    if total is None or unscored:
        failures.append(
            f"it has no weighted total, because {_titles(unscored)} "
            f"{'has' if len(unscored) == 1 else 'have'} no score"
            if unscored
            else "it has no weighted total"
        )
    elif total < rule.threshold - TOLERANCE:
        failures.append(
            f"weighted total {_below(total, rule.threshold)} is below the threshold of "
            f"{_number(rule.threshold)}"
        )
    for criterion in criteria:
        value = values.get(criterion.key)
        if value is None:
            continue
        minimum = criterion.min_level
        if minimum is not None and value < minimum - TOLERANCE:
            failures.append(
                f"'{criterion.title}' scored {_below(value, minimum)}, below the minimum "
                f"of {minimum}"
            )
        top = criterion.max_value
        if rule.all_sections_meet and value < top - TOLERANCE:
            failures.append(
                f"'{criterion.title}' scored {_below(value, top)}, short of the top level "
                f"of {top} that every section must reach"
            )
    return failures


def _approval_reason(
    criteria: Sequence[Criterion],
    result: ProposalResult,
    rule: ApprovalRule,
    list_rank: int | None,
    qualifying: int,
) -> str:
    total = result.weighted_total if result.weighted_total is not None else 0.0
    clauses = [f"weighted total {_number(total)} meets the threshold of {_number(rule.threshold)}"]
    if any(criterion.min_level is not None for criterion in criteria):
        clauses.append("every criterion with a minimum level reaches it")
    if rule.all_sections_meet:
        clauses.append("every section is at its top level")
    if rule.top_n is not None and list_rank is not None:
        clauses.append(
            f"it ranks {_ordinal(list_rank)} among the {qualifying} proposals that pass "
            f"every other rule, within the top {rule.top_n}"
        )
    return _sentence(clauses)


def _sentence(clauses: list[str]) -> str:
    text = "; ".join(clauses)
    return text[:1].upper() + text[1:] + "."


def _titles(titles: list[str]) -> str:
    quoted = [f"'{title}'" for title in titles]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _number(value: float) -> str:
    """One decimal, or as many (up to 4) as the value needs to be shown exactly."""
    for decimals in range(1, 5):
        if abs(round(value, decimals) - value) < TOLERANCE:
            return f"{value:.{decimals}f}"
    return f"{value:.4f}"


def _below(value: float, bound: float) -> str:
    """``value`` with enough decimals that it visibly stays below ``bound``.

    One decimal would print 69.96 as 70.0 and state "70.0 is below 70.0".
    """
    for decimals in range(1, 7):
        text = f"{value:.{decimals}f}"
        if float(text) < bound:
            return text
    return repr(value)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
