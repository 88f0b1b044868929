"""The words matching speaks: NCES grade codes and spans, and the needs areas of
schools and providers."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

# NCES Common Core of Data grade codes (GSLO/GSHI), lowest first.
GRADE_CODES: tuple[str, ...] = ("PK", "KG", *(f"{g:02d}" for g in range(1, 13)))
HIGH_SCHOOL_GRADES: frozenset[str] = frozenset({"09", "10", "11", "12"})
GRADE_POSITION: dict[str, int] = {code: i for i, code in enumerate(GRADE_CODES)}


def grade_index(code: str) -> int:
    """PK=-1, KG=0, "01".."12" = 1..12."""
    try:
        return GRADE_POSITION[code] - 1
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
NEEDS_POSITION: dict[str, int] = {area: i for i, area in enumerate(NEEDS_AREAS)}
