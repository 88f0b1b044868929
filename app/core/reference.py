"""Reference vocabularies shared by every domain (USPS codes, NCES grade codes).

The grade codes and spans are the scoring core's (scoring/ stays free of the app, so the
app takes them from there).
"""

from scoring.matching.vocabulary import GRADE_CODES, grade_index, grade_span, grades_label

__all__ = ["GRADE_CODES", "US_STATES", "grade_index", "grade_span", "grades_label"]

US_STATES: frozenset[str] = frozenset(
    (
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
        "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI BIE"
    ).split()
)
