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

The package is split by what each part does: `vocabulary` (grades, needs areas), `inputs`,
`fit`, `exclusions`, `solver` and `explanations`; its public names are all here.
"""

from scoring.matching.exclusions import allowed_matrix, exclusion_reason
from scoring.matching.explanations import explain, first_choice_count, unmatched_reasons
from scoring.matching.fit import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    MISSING_SCORE,
    PREFERENCE_FLOOR,
    checked_weights,
    fit_breakdown,
    fit_matrix,
)
from scoring.matching.inputs import ClusterInput, ProviderInput
from scoring.matching.solver import Assignment, assign
from scoring.matching.vocabulary import (
    GRADE_CODES,
    HIGH_SCHOOL_GRADES,
    NEEDS_AREA_TITLES,
    NEEDS_AREAS,
    grade_index,
    grade_span,
    grades_label,
)

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "GRADE_CODES",
    "HIGH_SCHOOL_GRADES",
    "MISSING_SCORE",
    "NEEDS_AREAS",
    "NEEDS_AREA_TITLES",
    "PREFERENCE_FLOOR",
    "Assignment",
    "ClusterInput",
    "ProviderInput",
    "allowed_matrix",
    "assign",
    "checked_weights",
    "exclusion_reason",
    "explain",
    "first_choice_count",
    "fit_breakdown",
    "fit_matrix",
    "grade_index",
    "grade_span",
    "grades_label",
    "unmatched_reasons",
]
