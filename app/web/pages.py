"""What every web page shares: templates, the signed-in user, CSRF, form errors, redirects.

Pages call the same service functions as the JSON API; a refused request comes back as the
service's ProblemError, shown next to its fields instead of as problem+json."""

from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.accounts.models import User
from app.core.documents import APP_DIR, FILE_KINDS, format_when
from app.core.errors import Forbidden, ProblemError, Unauthorized, Unprocessable
from app.web import sessions
from scoring.matching import NEEDS_AREA_TITLES

templates = Jinja2Templates(directory=APP_DIR / "templates" / "web")
templates.env.filters["when"] = format_when
templates.env.filters["file_kind"] = lambda ct: FILE_KINDS.get(ct, ct)
templates.env.filters["needs_title"] = lambda key: NEEDS_AREA_TITLES.get(key, key)
templates.env.filters["score"] = lambda v: "" if v is None else f"{v:.1f}"
PARTY_WORDS = {"district": "District", "lead_partner": "Lead Partner", "shared": "Shared"}


def _readable_value(value: object) -> str:
    """A term's value as a district official reads it in a comparison of versions."""
    if value is True:
        return "granted"
    if value is False:
        return "not granted"
    if value is None:
        return ""
    return PARTY_WORDS.get(value, str(value)) if isinstance(value, str) else str(value)


templates.env.filters["term_value"] = _readable_value
templates.env.filters["term_path"] = lambda path: " › ".join(
    part.replace("_", " ") for part in str(path).split(".") if part != "enabled"
)
PAGE_SIZE = 20

# Confirmations after a redirect, chosen by key so no text from the URL reaches the page.
MESSAGES = {
    "saved": "Your changes are saved.",
    "created": "Created.",
    "uploaded": "The file is uploaded.",
    "deleted": "Deleted.",
    "submitted": "Submitted.",
    "withdrawn": "The proposal is withdrawn. You can submit it again before the deadline.",
    "asked": "Your question is sent. Answers are published on the RFP page.",
    "answered": "The answer is published.",
    "published": "The RFP is published.",
    "addendum": "The addendum is published.",
    "invited": "The reviewer is invited.",
    "assigned": "Assignments are made.",
    "attested": "Thank you. Your assignments are open.",
    "conflict": "The conflict is recorded.",
    "finalized": "The results are final and the preferred-provider list is published.",
    "finalists": "The finalists are marked: assign their interviews on the panel tab.",
    "awarded": "The clusters are awarded: the district accepts or declines each award.",
    "imported": "The schools are imported.",
    "ranked": "Your ranking is saved.",
    "matched": "The matching run is done.",
    "accepted": "The match is accepted.",
    "declined": "The match is declined.",
    "executed": "The MOU is executed.",
    "unit_invited": "The unit is registered and its first user is emailed a link to sign in.",
}


def web_user(request: Request) -> User | None:
    found = sessions.current(request)
    return found[0] if found else None


WebUser = Annotated[User | None, Depends(web_user)]


def signed_in(request: Request) -> User:
    user = web_user(request)
    if user is None:
        raise Unauthorized("Please sign in to continue.")
    return user


SignedIn = Annotated[User, Depends(signed_in)]


def allowed(permitted: bool) -> None:
    """Refuse a page that the caller's kind of account may never use (403, as the API
    answers); which objects they may see, the services decide (404 for the rest)."""
    if not permitted:
        raise Forbidden("Your account may not use this page.")


def page(
    request: Request, user: User | None, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    token = sessions.csrf_token(request)
    done = request.query_params.get("done")
    response = templates.TemplateResponse(
        request,
        name,
        {
            "errors": {},
            "alert": None,
            **context,
            "user": user,
            "csrf_token": token,
            "message": MESSAGES.get(done or ""),
        },
        status_code=status,
    )
    sessions.remember_csrf(request, response, token)
    return response


async def read_form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def require_csrf(request: Request, form: FormDep) -> None:
    check_csrf(request, form.get("csrf_token"))


def check_csrf(request: Request, submitted: object) -> None:
    if not sessions.csrf_matches(request, submitted if isinstance(submitted, str) else None):
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again.",
            slug="csrf-failed",
        )


Csrf = Depends(require_csrf)


def text(form: FormData, name: str) -> str:
    """A field's text, trimmed, with the browser's CRLF line breaks made plain newlines."""
    value = form.get(name)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """A form's values as the API's own schema, refused with field errors like the API's."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"loc": list(e["loc"]), "msg": str(e["msg"]).removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        raise Unprocessable("Please correct the problems below.", errors=errors) from exc


def field_errors(exc: ProblemError) -> dict[str, str]:
    """Each refused field by its dotted path (the names form controls carry)."""
    found: dict[str, str] = {}
    for error in exc.errors or []:
        loc = [str(p) for p in error.get("loc", []) if p != "body"]
        found.setdefault(".".join(loc) or "form", str(error.get("msg", "")))
    return found


def keep_on_form(session: Session, exc: ProblemError) -> None:
    """Every page handler's first step after a refused form: undo what the form wrote, so
    nothing is left half-written and the page can show the refusal next to its fields.

    A 403 refuses the caller, not what they typed: it becomes the error page, as the API
    answers it. Any other refusal (bad input, a wrong state, a choice that is gone, a link's
    token that is not valid) stays on the form; when the page's own object is missing or
    hidden, loading it again for the form answers the 404."""
    if exc.status == 403:
        raise exc
    session.rollback()


def refused(exc: ProblemError) -> dict[str, Any]:
    """The page context that shows a refusal: each field's error and the summary."""
    return {"errors": field_errors(exc), "alert": exc.detail}


ORGANIZATION_KINDS = {
    "nonprofit": "Non-profit organization",
    "school_management_org": "School or charter management organization",
    "supporting_partner": "Supporting partner",
    "local_funder": "Local funder",
    "university": "University",
    "union": "Union",
    "district_unit": "District's internal unit",
    "other": "Other",
}
# What an organization may call itself: a district's unit is registered by the district.
SELF_CHOSEN_KINDS = {k: v for k, v in ORGANIZATION_KINDS.items() if k != "district_unit"}


def redirect(url: str, done: str | None = None) -> RedirectResponse:
    if done:
        path, hash_mark, fragment = url.partition("#")  # the query goes before a #fragment
        path += ("&" if "?" in path else "?") + urlencode({"done": done})
        url = path + hash_mark + fragment
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, detail: str) -> Response:
    """Errors on the web pages are pages too (the JSON API answers problem+json)."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)
    titles = {
        403: "Not allowed",
        404: "Page not found",
        409: "Not possible now",
        413: "Too large",
        422: "Not accepted",
    }
    return page(
        request,
        web_user(request),
        "error.html",
        {"title": titles.get(status, "Something went wrong"), "detail": detail, "status": status},
        status=status,
    )
