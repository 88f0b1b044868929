"""The self-audit: its fixed items, answer checks, profile and responsibility flags."""

from dataclasses import replace

import pytest

from scoring.self_audit import (
    DIMENSIONS,
    ITEMS,
    RATINGS,
    RESPONSIBILITIES,
    RESPONSIBILITY_EVIDENCE,
    STRATEGIES,
    AuditAnswer,
    missing_items,
    missing_responsibilities,
    profile,
    responsibility_evidence_gaps,
    validate_answers,
)

EXPECTED_KEYS = [
    "experience.high_poverty",
    "experience.turnaround",
    "experience.high_schools",
    "willingness.unionized_staff",
    "willingness.accountability",
    "willingness.district_procedures",
    "willingness.central_services",
    "readiness.ramp_up",
    "readiness.modify_model",
    "readiness.new_location",
    "readiness.capital",
    "competencies.school_model",
    "competencies.culture",
    "competencies.community_engagement",
    "competencies.central_office",
    "competencies.school_leader",
    "competencies.teachers",
    "competencies.multiple_schools",
    "competencies.operations",
]


def met(key: str, evidence: str = "Three turnarounds since 2015.") -> AuditAnswer:
    return AuditAnswer(key, "met", evidence, None, None)


def gap(key: str, rating: str = "partial", strategy: str | None = "hire") -> AuditAnswer:
    return AuditAnswer(key, rating, "Some evidence.", strategy, "Hire a director by June.")


def all_met() -> list[AuditAnswer]:
    return [met(item.key) for item in ITEMS]


def test_items_are_the_nineteen_of_the_model() -> None:
    assert [item.key for item in ITEMS] == EXPECTED_KEYS
    counts = {d: sum(item.dimension == d for item in ITEMS) for d in DIMENSIONS}
    assert counts == {"experience": 3, "willingness": 4, "readiness": 4, "competencies": 8}
    for item in ITEMS:
        assert item.key.startswith(item.dimension + ".")
        assert item.text.strip()
    assert RATINGS == ("met", "partial", "not_met")
    assert STRATEGIES == ("leverage_existing", "hire", "develop", "outsource")


def test_complete_valid_answers_have_no_problems() -> None:
    answers = all_met()
    answers[0] = gap(answers[0].key)
    answers[1] = gap(answers[1].key, rating="not_met", strategy="outsource")
    assert validate_answers(answers) == []
    assert missing_items(answers) == []


def test_every_answer_problem_is_reported() -> None:
    answers = [
        met("experience.unknown_item"),
        met("experience.turnaround"),
        met("experience.turnaround"),
        AuditAnswer("experience.high_schools", "mostly", "", None, None),
        AuditAnswer("readiness.capital", "partial", "We have a line of credit.", None, " "),
        AuditAnswer("readiness.ramp_up", "not_met", "", "borrow", "Borrow staff."),
        AuditAnswer("readiness.new_location", "met", "Opened in Ohio.", "pray", None),
    ]
    assert validate_answers(answers) == [
        ("items", "'experience.unknown_item' is not an item of the self-audit."),
        ("experience.turnaround", "This item is answered more than once."),
        ("experience.high_schools", "The rating 'mostly' is not one of: met, partial, not_met."),
        ("readiness.capital", "An item that is not fully met needs a gap strategy."),
        ("readiness.capital", "An item that is not fully met needs a gap plan text."),
        (
            "readiness.ramp_up",
            "The gap strategy 'borrow' is not one of: leverage_existing, hire, develop, outsource.",
        ),
        (
            "readiness.new_location",
            "The gap strategy 'pray' is not one of: leverage_existing, hire, develop, outsource.",
        ),
    ]


def test_missing_items_in_item_order() -> None:
    answers = [
        met(key)
        for key in EXPECTED_KEYS
        if key not in {"readiness.capital", "experience.turnaround"}
    ]
    assert missing_items(answers) == ["experience.turnaround", "readiness.capital"]
    assert missing_items([]) == EXPECTED_KEYS


def test_profile_counts_shares_and_plans() -> None:
    answers = [
        met("experience.high_poverty"),
        gap("experience.turnaround", rating="partial"),
        # experience.high_schools unanswered
        gap("willingness.unionized_staff", rating="not_met"),
        AuditAnswer("willingness.accountability", "not_met", "", None, None),  # no plan
        AuditAnswer("willingness.district_procedures", "partial", "", "hire", ""),  # no text
        met("willingness.central_services"),
        AuditAnswer("readiness.ramp_up", "unsure", "", None, None),  # unknown rating
        *[met(item.key) for item in ITEMS if item.dimension == "competencies"],
    ]
    result = profile(answers)
    assert result["experience"] == {
        "items": 3,
        "answered": 2,
        "unanswered": 1,
        "met": 1,
        "partial": 1,
        "not_met": 0,
        "share_met": pytest.approx(1 / 3),
        "share_partial": pytest.approx(1 / 3),
        "share_not_met": 0.0,
        "without_plan": 0,
    }
    willingness = result["willingness"]
    assert (willingness["met"], willingness["partial"], willingness["not_met"]) == (1, 1, 2)
    assert willingness["share_not_met"] == pytest.approx(0.5)
    assert willingness["without_plan"] == 2
    assert result["readiness"]["answered"] == 0 and result["readiness"]["unanswered"] == 4
    assert result["competencies"]["share_met"] == pytest.approx(1.0)


def test_profile_keeps_the_last_of_repeated_answers() -> None:
    answers = [met("readiness.capital"), gap("readiness.capital", rating="not_met")]
    readiness = profile(answers)["readiness"]
    assert (readiness["met"], readiness["not_met"]) == (0, 1)


def test_all_met_with_evidence_shows_every_responsibility() -> None:
    assert missing_responsibilities(all_met()) == []


def test_nothing_answered_flags_all_four_responsibilities() -> None:
    assert missing_responsibilities([]) == list(RESPONSIBILITIES)
    assert list(RESPONSIBILITIES) == [
        "accountability",
        "staffing_authority",
        "integrated_services",
        "embedded_presence",
    ]
    assert set(RESPONSIBILITY_EVIDENCE) == set(RESPONSIBILITIES)


@pytest.mark.parametrize(
    ("changed", "rating", "flagged"),
    [
        ("willingness.accountability", "partial", "accountability"),
        ("competencies.school_leader", "partial", "staffing_authority"),
        ("competencies.teachers", "not_met", "staffing_authority"),
        ("competencies.school_model", "partial", "integrated_services"),
        ("competencies.operations", "not_met", "integrated_services"),
        ("competencies.multiple_schools", "not_met", "embedded_presence"),
        ("readiness.ramp_up", "not_met", "embedded_presence"),
    ],
)
def test_each_evidence_rule(changed: str, rating: str, flagged: str) -> None:
    answers = [gap(a.key, rating=rating) if a.key == changed else a for a in all_met()]
    assert missing_responsibilities(answers) == [flagged]
    assert responsibility_evidence_gaps(answers) == {flagged: [changed]}


def test_partial_is_enough_where_the_rule_says_so() -> None:
    partial = {"competencies.operations", "competencies.multiple_schools", "readiness.ramp_up"}
    answers = [gap(a.key) if a.key in partial else a for a in all_met()]
    assert missing_responsibilities(answers) == []


def test_a_rating_without_evidence_text_is_not_evidence() -> None:
    answers = [
        replace(a, evidence="  ") if a.key == "competencies.teachers" else a for a in all_met()
    ]
    assert missing_responsibilities(answers) == ["staffing_authority"]
