"""Pages for one's own account: change the password, and set a new one through an emailed
link when it is forgotten. They call the same account services as the JSON API."""

from typing import Annotated

from fastapi import BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts import credentials
from app.core.db import get_engine
from app.core.errors import ProblemError, Unprocessable
from app.core.routing import page_router
from app.deps import LoginRateLimit, SessionDep, client_address
from app.web import sessions
from app.web.pages import (
    Csrf,
    FormDep,
    SignedIn,
    WebUser,
    field_errors,
    keep_on_form,
    page,
    redirect,
)

router = page_router()


def _same_twice(form: FormDep, name: str) -> str:
    value = str(form.get(name) or "")
    if value != str(form.get(f"{name}_again") or ""):
        raise Unprocessable.at([f"{name}_again"], "The two passwords differ.")
    return value


# --- change (signed in) --------------------------------------------------------------------


@router.get("/account/password", response_class=HTMLResponse)
def change_password_form(request: Request, user: SignedIn, changed: bool = False) -> Response:
    return page(request, user, "account/change_password.html", {"changed": changed})


@router.post("/account/password", response_class=HTMLResponse, dependencies=[Csrf])
def change_password(
    request: Request, session: SessionDep, user: SignedIn, form: FormDep
) -> Response:
    try:
        new_password = _same_twice(form, "new_password")
        changed = credentials.change_password(
            session=session,
            actor=user,
            current_password=str(form.get("current_password") or ""),
            new_password=new_password,
            source=client_address(request),
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return page(
            request,
            user,
            "account/change_password.html",
            {"changed": False, "errors": field_errors(exc), "alert": exc.detail},
            status=exc.status,
        )
    # Every earlier session, this one included, has ended; this browser gets a new one.
    response = redirect("/account/password?changed=true")
    sessions.start(response, changed)
    return response


# --- forgotten (signed out) ----------------------------------------------------------------


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_password_form(request: Request, user: WebUser) -> HTMLResponse:
    return page(request, user, "account/forgot_password.html", {"sent": False, "email": ""})


def _send_reset(email: str) -> None:
    with Session(get_engine(), expire_on_commit=False) as session:
        credentials.request_password_reset(session=session, email=email)


@router.post("/forgot-password", response_class=HTMLResponse, dependencies=[Csrf, LoginRateLimit])
def forgot_password(
    request: Request,
    user: WebUser,
    tasks: BackgroundTasks,
    email: Annotated[str, Form(max_length=254)] = "",
) -> HTMLResponse:
    # The same page whether or not the email has an account, and the lookup runs after it
    # is sent, so neither the words nor the timing tell.
    if email.strip():
        tasks.add_task(_send_reset, email.strip())
    return page(request, user, "account/forgot_password.html", {"sent": True, "email": email})


@router.get("/reset-password", response_class=HTMLResponse)
def reset_password_form(request: Request, user: WebUser, token: str = "") -> HTMLResponse:
    return page(request, user, "account/reset_password.html", {"token": token, "done": False})


@router.post("/reset-password", response_class=HTMLResponse, dependencies=[Csrf])
def reset_password(request: Request, session: SessionDep, form: FormDep) -> Response:
    token = str(form.get("token") or "")
    try:
        new_password = _same_twice(form, "new_password")
        credentials.confirm_password_reset(session=session, token=token, new_password=new_password)
    except ProblemError as exc:
        keep_on_form(session, exc)
        errors = field_errors(exc)
        if exc.status == 404 or "token" in errors:
            errors = {"form": "This link is not valid: it may have been used or have expired."}
        return page(
            request,
            None,
            "account/reset_password.html",
            {"token": token, "done": False, "errors": errors, "alert": exc.detail},
            status=exc.status,
        )
    return page(request, None, "account/reset_password.html", {"token": "", "done": True})
