from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.accounts.models import AgencyKind, OrganizationKind, Role
from app.core.reference import GRADE_CODES, US_STATES
from app.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, password_problem

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[
    str, StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]


def _password_for_email(password: str, info: ValidationInfo) -> str:
    """The password policy at the field, where the body also names the account's email."""
    problem = password_problem(password, str(info.data.get("email") or ""))
    if problem is not None:
        raise ValueError(problem)
    return password


def _state_code(value: str) -> str:
    code = value.strip().upper()
    if code not in US_STATES:
        raise ValueError(f"'{value}' is not a USPS state or territory code")
    return code


def _grade_codes(values: list[str]) -> list[str]:
    bad = [v for v in values if v not in GRADE_CODES]
    if bad:
        raise ValueError(f"unknown grade codes {bad}; use {', '.join(GRADE_CODES)}")
    return sorted(set(values), key=GRADE_CODES.index)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class UserRead(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    agency_id: str | None
    organization_id: str | None


class AgencyCreate(BaseModel):
    name: Name
    kind: AgencyKind
    state: str
    parent_id: str | None = None
    nces_id: Annotated[str | None, Field(pattern=r"^\d{7}$")] = None
    cluster_min: Annotated[int, Field(ge=1, le=20)] = 3
    cluster_max: Annotated[int, Field(ge=1, le=20)] = 5

    _state = field_validator("state")(_state_code)


class AgencyRead(BaseModel):
    id: str
    name: str
    kind: AgencyKind
    state: str
    parent_id: str | None
    nces_id: str | None
    cluster_min: int
    cluster_max: int
    created_at: datetime


class StaffCreate(BaseModel):
    email: EmailStr
    name: Name
    password: Password

    _password = field_validator("password")(_password_for_email)


class OrganizationProfile(BaseModel):
    """Profile fields a partner may edit; all optional so PATCH can send any subset."""

    name: Name | None = None
    kind: OrganizationKind | None = None
    contact_name: Name | None = None
    phone: Annotated[str | None, StringConstraints(max_length=40)] = None
    website: Annotated[str | None, StringConstraints(max_length=500)] = None
    description: Annotated[str | None, StringConstraints(max_length=10000)] = None
    states: list[str] | None = None
    grade_levels: list[str] | None = None
    capacity_clusters: Annotated[int | None, Field(ge=0, le=100)] = None

    @field_validator("states")
    @classmethod
    def _states(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else sorted({_state_code(v) for v in values})

    @field_validator("grade_levels")
    @classmethod
    def _grades(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _grade_codes(values)

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("a website must start with https:// or http://")
        return value or None


class OrganizationSignUp(OrganizationProfile):
    name: Name
    kind: OrganizationKind
    email: EmailStr
    contact_name: Name
    password: Password

    _password = field_validator("password")(_password_for_email)


class OrganizationRead(BaseModel):
    id: str
    name: str
    kind: OrganizationKind
    email: str
    contact_name: str
    phone: str | None
    website: str | None
    description: str
    states: list[str]
    grade_levels: list[str]
    capacity_clusters: int
    created_at: datetime
    updated_at: datetime
    district_id: str | None = None  # a district's own unit: that district


class UnitCreate(BaseModel):
    """A district's own central-office unit, which may apply to its internal-Lead-Partner
    RFPs, and the person who will hold its first account."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    contact_name: Name
    email: EmailStr
    grade_levels: list[str] = []
    capacity_clusters: Annotated[int, Field(ge=0, le=100)] = 1
    description: Annotated[str, StringConstraints(max_length=10000)] = ""

    @field_validator("grade_levels")
    @classmethod
    def _grades(cls, values: list[str]) -> list[str]:
        return _grade_codes(values)


class UnitCreated(BaseModel):
    organization: OrganizationRead
    user_id: str
    # The single-use link's token, also mailed to the unit's contact.
    invite_token: str


class AcceptInvite(BaseModel):
    invite_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]
    password: Password


class PasswordChange(BaseModel):
    current_password: Annotated[
        str, StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH)
    ]
    new_password: Password


class PasswordResetRequest(BaseModel):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]


class PasswordResetConfirm(BaseModel):
    token: Annotated[str, StringConstraints(min_length=10, max_length=200)]
    new_password: Password
