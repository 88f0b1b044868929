"""Default MOU terms, from the Lead Partner model report (autonomies and the example split
of responsibilities between a district and its Lead Partner)."""

from typing import Any

LEAD_PARTNER_RESPONSIBILITIES: tuple[str, ...] = (
    "Sign a 3-5 year performance contract for student achievement and be held accountable "
    "for improving it across the cluster.",
    "Assume authority over school staffing (hiring or confirming the principal and supporting "
    "the principal in hiring and replacing teachers), time, money and program.",
    "Provide core academic and student support services directly or by aligning the services "
    "of Supporting Partners under sub-contract, building capacity within the schools.",
    "Maintain an embedded, consistent and intense presence in each school, five days a week, "
    "throughout the turnaround period.",
)

# (key, title, on by default)
AUTONOMIES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "people": (
        ("choose_principal", "Choose or confirm the principal", True),
        ("reassign_staff", "Reassign at least half of the school staff", True),
        (
            "modified_bargaining",
            "Modified collective bargaining terms for more flexible conditions",
            True,
        ),
        ("manage_pd", "Manage professional development", True),
        (
            "additional_compensation",
            "Offer additional compensation for extended time and hard-to-staff roles",
            False,
        ),
    ),
    "time": (
        ("extended_day_year", "Extended school day and/or year", True),
        ("schedule_control", "Control over the school schedule", True),
        ("planning_time", "Time for professional development and common teacher planning", True),
        ("launch_planning", "Planning time before the turnaround school year starts", True),
    ),
    "money": (
        (
            "per_pupil_funds",
            "Control of school-level per-pupil funds and the school's share of central office "
            "budget",
            True,
        ),
        ("streamlined_procurement", "Streamlined procurement", True),
    ),
    "program": (
        (
            "school_design",
            "Control of school design: instructional framework, socio-emotional supports, "
            "co-curriculars",
            True,
        ),
        ("supporting_partners", "Selection and management of Supporting Partners", True),
        ("district_services", "Choice of which district central office services to use", True),
    ),
}

MATRIX_AREAS: tuple[tuple[str, str], ...] = (
    ("instruction", "Instruction"),
    ("support_services", "Non-instructional support services"),
    ("campus_operations", "Campus operations"),
    ("it_data", "IT / Data"),
    ("finance", "Finance"),
    ("facilities", "Facilities"),
    ("human_resources", "Human resources"),
    ("co_curriculars", "Co-curriculars"),
)

# The report's example: the Lead Partner leads instruction, staffing and co-curriculars; the
# district keeps facilities; the rest is split.
DEFAULT_MATRIX: dict[str, str] = {
    "instruction": "lead_partner",
    "support_services": "shared",
    "campus_operations": "shared",
    "it_data": "shared",
    "finance": "shared",
    "facilities": "district",
    "human_resources": "lead_partner",
    "co_curriculars": "shared",
}

PARTY_TITLES = {"district": "District", "lead_partner": "Lead Partner", "shared": "Shared"}


def default_autonomies() -> dict[str, list[dict[str, Any]]]:
    return {
        area: [{"key": key, "title": title, "enabled": enabled} for key, title, enabled in clauses]
        for area, clauses in AUTONOMIES.items()
    }


def default_benchmarks(term_years: int) -> list[dict[str, Any]]:
    return [
        {
            "metric": "Student attendance rate (%)",
            "kind": "leading",
            "baseline": 88.0,
            "targets": {"1": 91.0, "2": 93.0},
        },
        {
            "metric": "Teacher retention of effective teachers (%)",
            "kind": "leading",
            "baseline": 70.0,
            "targets": {"1": 75.0, "2": 80.0},
        },
        {
            "metric": "Students proficient in reading and mathematics on the state assessment (%)",
            "kind": "achievement",
            "baseline": 25.0,
            "targets": {str(y): 25.0 + 7.0 * (y - 2) for y in range(3, term_years + 1)},
        },
    ]
