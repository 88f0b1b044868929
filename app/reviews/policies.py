"""Reviewers see only proposals assigned to them, never one they declared a conflict with."""

from sqlmodel import Session

from app.accounts.models import User
from app.proposals.models import Proposal


def may_review(session: Session, user: User, proposal: Proposal) -> bool:
    # Assignments arrive with the review stage; until a reviewer holds one, they see nothing.
    return False
