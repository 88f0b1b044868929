"""What the service hands the matching: one cluster, one provider."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scoring.matching.vocabulary import NEEDS_POSITION, grade_index

FloatMatrix = NDArray[np.float64]
BoolMatrix = NDArray[np.bool_]
IntVector = NDArray[np.int64]
PairSet = AbstractSet[tuple[str, str]]


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
        unknown = self.needs - NEEDS_POSITION.keys()
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


def check_unique_ids(clusters: Sequence[ClusterInput], providers: Sequence[ProviderInput]) -> None:
    # Pairs and preferences are keyed by id, so a repeated id would be ambiguous.
    if len({c.id for c in clusters}) != len(clusters):
        raise ValueError("cluster ids must be unique")
    if len({p.id for p in providers}) != len(providers):
        raise ValueError("provider ids must be unique")
