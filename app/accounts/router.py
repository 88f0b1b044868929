from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import Session

from app.accounts import credentials, policies, service
from app.accounts.models import Organization
from app.accounts.schemas import (
    AcceptInvite,
    AgencyCreate,
    AgencyRead,
    OrganizationProfile,
    OrganizationRead,
    OrganizationSignUp,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    StaffCreate,
    Token,
    UnitCreate,
    UnitCreated,
    UserRead,
)
from app.core.config import get_settings
from app.core.db import get_engine
from app.core.errors import NotFound
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import api_router
from app.core.security import create_access_token
from app.deps import (
    RATE_LIMITED,
    CurrentUser,
    LoginRateLimit,
    SessionDep,
    SignupRateLimit,
    client_address,
)
from app.proposals import policies as proposal_policies

router = api_router()


@router.post(
    "/auth/token",
    response_model=Token,
    tags=["auth"],
    dependencies=[LoginRateLimit],
    responses={**RATE_LIMITED, 401: {"description": "Incorrect email or password"}},
)
def login(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    user = credentials.authenticate(
        session=session,
        email=form.username,
        password=form.password,
        source=client_address(request),
    )
    minutes = get_settings().access_token_minutes
    token = create_access_token(user.id, credentials_version=user.credentials_version)
    return Token(access_token=token, expires_in=minutes * 60)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses={**RATE_LIMITED, 422: {"description": "Wrong current password or a weak new one"}},
)
def change_password(
    request: Request, session: SessionDep, user: CurrentUser, body: PasswordChange
) -> Response:
    credentials.change_password(
        session=session,
        actor=user,
        current_password=body.current_password,
        new_password=body.new_password,
        source=client_address(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _send_reset(email: str) -> None:
    with Session(get_engine(), expire_on_commit=False) as session:
        credentials.request_password_reset(session=session, email=email)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,  # an empty 202: nothing in it may differ between emails
    tags=["auth"],
    dependencies=[LoginRateLimit],
    responses=RATE_LIMITED,
)
def request_password_reset(body: PasswordResetRequest, tasks: BackgroundTasks) -> Response:
    # The lookup and the message happen after the answer is sent: whether the email has an
    # account changes neither the answer nor its timing.
    tasks.add_task(_send_reset, body.email)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses={404: {"description": "Unknown, used or expired link"}},
)
def confirm_password_reset(session: SessionDep, body: PasswordResetConfirm) -> Response:
    credentials.confirm_password_reset(
        session=session, token=body.token, new_password=body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/accept-invite", response_model=UserRead, tags=["auth"])
def accept_invite(session: SessionDep, body: AcceptInvite) -> UserRead:
    user = service.accept_invitation(
        session=session, token=body.invite_token, password=body.password
    )
    return UserRead.model_validate(user, from_attributes=True)


@router.get("/me", response_model=UserRead, tags=["auth"])
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user, from_attributes=True)


@router.post(
    "/agencies", response_model=AgencyRead, status_code=status.HTTP_201_CREATED, tags=["agencies"]
)
def create_agency(session: SessionDep, user: CurrentUser, body: AgencyCreate) -> AgencyRead:
    agency = service.create_agency(session=session, actor=user, data=body)
    return AgencyRead.model_validate(agency, from_attributes=True)


@router.get("/agencies", response_model=Page[AgencyRead], tags=["agencies"])
def list_agencies(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[AgencyRead]:
    rows, total = paginate(session, policies.visible_agencies(user).order_by("name"), page)
    return Page(
        items=[AgencyRead.model_validate(r, from_attributes=True) for r in rows], total=total
    )


@router.get("/agencies/{agency_id}", response_model=AgencyRead, tags=["agencies"])
def get_agency(session: SessionDep, user: CurrentUser, agency_id: str) -> AgencyRead:
    agency = service.get_agency(session=session, user=user, agency_id=agency_id)
    return AgencyRead.model_validate(agency, from_attributes=True)


@router.post(
    "/agencies/{agency_id}/staff",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    tags=["agencies"],
)
def create_staff(
    session: SessionDep, user: CurrentUser, agency_id: str, body: StaffCreate
) -> UserRead:
    staff = service.create_staff(session=session, actor=user, agency_id=agency_id, data=body)
    return UserRead.model_validate(staff, from_attributes=True)


@router.post(
    "/agencies/{agency_id}/units",
    response_model=UnitCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["agencies"],
)
def create_unit(
    session: SessionDep, user: CurrentUser, agency_id: str, body: UnitCreate
) -> UnitCreated:
    """A district's own unit (an internal Lead Partner) and its first user's invitation
    (the district's staff)."""
    organization, member, token = service.create_unit(
        session=session, actor=user, agency_id=agency_id, data=body
    )
    return UnitCreated(
        organization=OrganizationRead.model_validate(organization, from_attributes=True),
        user_id=member.id,
        invite_token=token,
    )


@router.get("/agencies/{agency_id}/units", response_model=Page[OrganizationRead], tags=["agencies"])
def list_units(session: SessionDep, user: CurrentUser, agency_id: str) -> Page[OrganizationRead]:
    units = service.units_of(session=session, actor=user, agency_id=agency_id)
    return Page(
        items=[OrganizationRead.model_validate(u, from_attributes=True) for u in units],
        total=len(units),
    )


@router.post(
    "/organizations",
    response_model=OrganizationRead,
    status_code=status.HTTP_201_CREATED,
    tags=["organizations"],
    dependencies=[SignupRateLimit],
    responses=RATE_LIMITED,
)
def sign_up(session: SessionDep, body: OrganizationSignUp) -> OrganizationRead:
    organization = service.sign_up_organization(session=session, data=body)
    return OrganizationRead.model_validate(organization, from_attributes=True)


def _readable_organization(
    session: SessionDep, user: CurrentUser, organization_id: str
) -> Organization:
    organization = service.get_organization(
        session=session, user=user, organization_id=organization_id
    )
    if organization is None and proposal_policies.staff_may_read_applicant(
        session, user, organization_id
    ):
        organization = service.find_organization(session=session, organization_id=organization_id)
    if organization is None:
        raise NotFound("Organization")
    return organization


@router.get(
    "/organizations/{organization_id}", response_model=OrganizationRead, tags=["organizations"]
)
def get_organization(
    organization: Annotated[Organization, Depends(_readable_organization)],
) -> OrganizationRead:
    return OrganizationRead.model_validate(organization, from_attributes=True)


@router.patch(
    "/organizations/{organization_id}", response_model=OrganizationRead, tags=["organizations"]
)
def update_organization(
    session: SessionDep,
    user: CurrentUser,
    organization: Annotated[Organization, Depends(_readable_organization)],
    body: OrganizationProfile,
) -> OrganizationRead:
    updated = service.update_organization(
        session=session, actor=user, organization=organization, data=body
    )
    return OrganizationRead.model_validate(updated, from_attributes=True)
