"""The notice kinds: which a person may turn off by email, and which carry a secret link."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # on the preferences page
    optional: bool  # the person may turn its email off (the inbox keeps it)
    secret: bool = False  # a single-use link: never shown in the inbox, scrubbed once sent


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("reviewer_invitation", "Reviewer invitations", optional=False, secret=True),
        Kind("unit_invitation", "District unit invitations", optional=False, secret=True),
        Kind("panel_added", "Added to a review panel", optional=False),
        Kind("email_proof", "Email confirmation links", optional=False, secret=True),
        Kind("password_reset", "Password reset links", optional=False, secret=True),
        Kind("submission_receipt", "Submission receipts", optional=False),
        Kind("addendum_published", "Addenda to RFPs you applied to or follow", optional=True),
        Kind("answer_published", "Answers to questions on those RFPs", optional=True),
        Kind("deadline_reminder", "Deadline reminders", optional=True),
        Kind("rfp_closed", "An RFP of your agency closed", optional=True),
        Kind("reviews_due", "Reviews due", optional=True),
        Kind("decision_available", "Decisions and debriefs", optional=False),
        Kind("listing_published", "Preferred-provider listings published", optional=True),
        Kind("listing_expiring", "Preferred-provider listing expiry", optional=True),
        Kind("match_proposed", "Matches proposed", optional=True),
        Kind("match_decided", "Matches accepted or declined", optional=True),
        Kind("mou_version_shared", "New versions of draft MOUs", optional=True),
        Kind("mou_executed", "MOUs executed", optional=True),
        Kind("mou_term_expiring", "MOU terms ending", optional=True),
    )
}

OPTIONAL = tuple(k.key for k in KINDS.values() if k.optional)
