"""An organization's self-audit is written and read by its own partners; reviewers and staff
see it only as sealed into a submitted proposal (the proposals domain decides when)."""

from app.accounts.models import User
from app.accounts.policies import is_member_of


def can_edit(user: User | None, organization_id: str) -> bool:
    return is_member_of(user, organization_id)
