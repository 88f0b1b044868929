from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class Role(StrEnum):
    platform_admin = "platform_admin"
    agency_staff = "agency_staff"
    reviewer = "reviewer"
    partner = "partner"


class AgencyKind(StrEnum):
    state = "state"
    district = "district"


class OrganizationKind(StrEnum):
    nonprofit = "nonprofit"
    school_management_org = "school_management_org"
    supporting_partner = "supporting_partner"
    local_funder = "local_funder"
    university = "university"
    union = "union"
    district_unit = "district_unit"
    other = "other"


class Agency(SQLModel, table=True):
    __tablename__ = "agencies"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    state: str = Field(max_length=3, index=True)
    parent_id: str | None = Field(default=None, foreign_key="agencies.id", max_length=32)
    nces_id: str | None = Field(default=None, max_length=7)
    cluster_min: int = 3
    cluster_max: int = 5
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    email: str = Field(max_length=254)
    contact_name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=500)
    description: str = Field(default="", max_length=10000)
    states: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    grade_levels: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    capacity_clusters: int = 1
    # A district_unit's district: set by that district's staff when they create the unit.
    district_id: str | None = Field(
        default=None, foreign_key="agencies.id", max_length=32, index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    # None until an invited user sets a password.
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(max_length=32)
    agency_id: str | None = Field(default=None, foreign_key="agencies.id", max_length=32)
    organization_id: str | None = Field(default=None, foreign_key="organizations.id", max_length=32)
    is_active: bool = True
    # Raised by every password change or reset; tokens and web sessions carry the value they
    # were issued under, so a change revokes all of them at once.
    credentials_version: int = 0
    # When the owner last proved they read this email (they used a link mailed to it).
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The agency whose staff were handed the token that set the first password: until the
    # email is proved, only that agency's panels count the account.
    credentials_agency_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InvitationPurpose(StrEnum):
    reviewer = "reviewer"
    unit_member = "unit_member"  # the first user of a district's unit
    password_reset = "password_reset"  # noqa: S105 - a purpose, not a secret


class Invitation(SQLModel, table=True):
    """A single-use, expiring token that lets an invited user set a first password, or the
    owner of an account set a new one (purpose `password_reset`); only its digest is kept."""

    __tablename__ = "invitations"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    token_digest: str = Field(max_length=64, unique=True)
    purpose: str = Field(max_length=32)
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when a newer token for the same purpose replaced this one, or the account's
    # password was set; a revoked token is as dead as a used one.
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


ACCOUNT_WIDE = "*"


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per account email and source address, in the database so every
    worker sees the same state. The row whose source is `ACCOUNT_WIDE` counts the account's
    failures from every source against the daily ceiling; it is also the lock every sign-in
    for that email takes first, so one email's attempts are checked one at a time."""

    __tablename__ = "login_throttles"

    email: str = Field(primary_key=True, max_length=254)
    source: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    window_started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last correct sign-in from this source: a source the owner has used keeps working
    # when the account-wide ceiling pauses everyone else.
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table only its digest."""

    __tablename__ = "web_sessions"

    token_digest: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    # The account's credentials_version when the session began; a password change raises it.
    credentials_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
