"""Reference vocabularies shared by every domain (USPS codes, NCES grade codes)."""

US_STATES: frozenset[str] = frozenset(
    (
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
        "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI BIE"
    ).split()
)

# NCES Common Core of Data grade codes, lowest first.
GRADE_CODES: tuple[str, ...] = ("PK", "KG", *(f"{g:02d}" for g in range(1, 13)))
