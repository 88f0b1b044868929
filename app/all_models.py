"""Imports every table so SQLModel.metadata is complete (Alembic, test set-up)."""

from sqlmodel import SQLModel

from app.accounts import models as accounts_models
from app.audit import models as audit_models
from app.core import ratelimit as ratelimit_models
from app.jobs import models as jobs_models
from app.matching import models as matching_models
from app.mous import models as mous_models
from app.notifications import models as notifications_models
from app.proposals import models as proposals_models
from app.providers import models as providers_models
from app.reviews import models as reviews_models
from app.rfps import models as rfps_models
from app.schools import models as schools_models
from app.self_audit import models as self_audit_models

metadata = SQLModel.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "jobs_models",
    "matching_models",
    "metadata",
    "mous_models",
    "notifications_models",
    "proposals_models",
    "providers_models",
    "ratelimit_models",
    "reviews_models",
    "rfps_models",
    "schools_models",
    "self_audit_models",
]
