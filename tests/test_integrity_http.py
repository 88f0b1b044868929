"""HTTP hygiene, tried as an outsider and a rival would: private answers are never cached,
CSRF tokens belong to one web session, the pages and the API take the same uploads (any
Unicode file name, no inflating Office bombs), and no number, date, NUL character or body
size answers with a 5xx."""

import html
import io
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx

from app.core.config import get_settings
from tests.support import (
    PDF_BYTES,
    Actor,
    Api,
    assert_problem,
    future,
    published_rfp,
    upload,
)
from tests.web_support import Person, text_of

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _draft_proposal(api: Api) -> tuple[Actor, dict[str, Any], str]:
    """A partner's draft proposal on a published RFP and an attachment slot that takes PDF
    and Office files."""
    slot = {"key": "plan", "title": "Work plan", "content_types": ["application/pdf", DOCX]}
    rfp = published_rfp(api, api.staff(), required_attachments=[slot])
    partner = api.partner()
    created = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers)
    assert created.status_code == 201, created.text
    return partner, {**created.json(), "rfp": rfp}, "plan"


def _signed_in(client: httpx.Client, actor: Actor) -> Person:
    return Person(client).sign_in(actor.email)


# --- 1. Cache-Control ----------------------------------------------------------------------


def _cacheable(response: httpx.Response) -> bool:
    return "no-store" not in response.headers.get("cache-control", "") and (
        "set-cookie" not in response.headers
    )


def test_private_answers_are_no_store_and_public_reads_stay_cacheable(
    api: Api, client: httpx.Client
) -> None:
    partner, proposal, key = _draft_proposal(api)
    rfp = proposal["rfp"]
    attachment = upload(api, partner, proposal["id"], key).json()

    # Anything read with a bearer token: the caller's own data, and public data read by them.
    for path in (
        "/api/v1/me",
        f"/api/v1/proposals/{proposal['id']}",
        f"/api/v1/attachments/{attachment['id']}",
        "/api/v1/rfps?status=published",
    ):
        response = api.client.get(path, headers=partner.headers)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path

    # Anything read with the web session cookie, public pages included (they name the user).
    person = _signed_in(client, partner)
    for path in ("/dashboard", "/", f"/rfps/{rfp['id']}", f"/proposals/{proposal['id']}"):
        response = person.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path

    # Sign-in, sign-up and password pages and endpoints, even to an anonymous caller.
    anonymous = httpx.Client(transport=client._transport, base_url=client.base_url)
    for path in ("/sign-in", "/sign-up", "/forgot-password"):
        assert anonymous.get(path).headers["cache-control"] == "no-store", path
    token = anonymous.post(
        "/api/v1/auth/token", data={"username": partner.email, "password": "wrong-password-9"}
    )
    assert token.headers["cache-control"] == "no-store"

    # Public anonymous reads stay cacheable, and set no cookie a shared cache could hand on.
    fresh = httpx.Client(
        transport=client._transport, base_url=client.base_url, timeout=client.timeout
    )
    for path in (
        "/",
        f"/rfps/{rfp['id']}",
        f"/rfps/{rfp['id']}/document.pdf",
        "/preferred-providers",
        "/api/v1/rfps?status=published",
        f"/api/v1/rfps/{rfp['id']}",
        "/api/v1/preferred-providers",
        "/static/web/site.css",
    ):
        response = fresh.get(path)
        assert response.status_code == 200, path
        assert _cacheable(response), (path, response.headers)
    # Static files stay cacheable for a signed-in browser too: they are the same for all.
    assert _cacheable(person.client.get("/static/web/site.css"))


# --- 2. CSRF bound to the web session ------------------------------------------------------


def test_csrf_tokens_belong_to_one_web_session(api: Api, client: httpx.Client) -> None:
    victim_actor = api.partner()
    change = {
        "name": "Taken Over",
        "kind": "nonprofit",
        "contact_name": "Mallory",
        "capacity_clusters": "1",
        "states": ["VA"],
        "grade_levels": ["06"],
    }

    # A token from before signing in (what a login-CSRF or a shared computer leaves behind).
    victim = Person(client)
    victim.get("/sign-in")
    before = victim.token
    victim.sign_in(victim_actor.email)
    assert victim.token != before
    response = victim.client.post("/organization", data={**change, "csrf_token": before})
    assert response.status_code == 403 and "did not come from this site" in response.text

    # A rival who plants a CSRF cookie they know (cookie tossing from a sibling domain) and
    # submits a matching token: double submit alone would accept it.
    rival = Person(client)
    rival.get("/sign-in")
    planted = rival.token
    victim.client.cookies.set("lpp_csrf", planted)
    response = victim.client.post("/organization", data={**change, "csrf_token": planted})
    assert response.status_code == 403

    # Another person's session token, even one of the same organization's pages.
    other = _signed_in(client, api.partner())
    other.get("/organization")
    response = victim.client.post("/organization", data={**change, "csrf_token": other.token})
    assert response.status_code == 403
    profile = api.client.get(
        f"/api/v1/organizations/{victim_actor.organization_id}", headers=victim_actor.headers
    ).json()
    assert profile["name"] != "Taken Over"

    # The session's own token works, and signing in anew gives a new one.
    victim.get("/organization")
    assert victim.post("/organization", change).status_code == 303
    old_token = victim.token
    assert victim.post("/sign-out").status_code == 303
    victim.get("/sign-in")
    victim.sign_in(victim_actor.email)
    assert victim.token != old_token
    response = victim.client.post("/organization", data={**change, "csrf_token": old_token})
    assert response.status_code == 403


# --- 3. One upload limit --------------------------------------------------------------------


def test_pages_and_api_take_the_same_largest_file(api: Api, client: httpx.Client) -> None:
    partner, proposal, key = _draft_proposal(api)
    limit = get_settings().max_upload_bytes
    largest = PDF_BYTES + b"0" * (limit - len(PDF_BYTES))
    person = _signed_in(client, partner)
    editor = f"/proposals/{proposal['id']}"
    person.get(editor)

    # Exactly MAX_UPLOAD_MB: the API and the page both accept it.
    assert upload(api, partner, proposal["id"], key, content=largest).status_code == 201
    response = person.post(
        f"{editor}/attachments",
        {"key": key},
        files={"file": ("largest.pdf", largest, "application/pdf")},
    )
    assert response.status_code == 303, response.text[:300]

    # One byte more: the API answers problem+json, the page a plain message.
    over = largest + b"0"
    assert_problem(upload(api, partner, proposal["id"], key, content=over), 413)
    response = person.post(
        f"{editor}/attachments", {"key": key}, files={"file": ("over.pdf", over, "application/pdf")}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert f"larger than the {get_settings().max_upload_mb} MB limit" in text_of(response.text)

    # Far more, announced in Content-Length: refused before it is read, still as a page.
    huge = over + b"0" * (2 * 1024 * 1024)
    response = person.post(
        f"{editor}/attachments", {"key": key}, files={"file": ("huge.pdf", huge, "application/pdf")}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "larger than the" in text_of(response.text)


# --- 4. Unicode file names -----------------------------------------------------------------


def test_unicode_file_names_are_kept_and_only_dangerous_characters_replaced(
    api: Api, client: httpx.Client
) -> None:
    partner, proposal, key = _draft_proposal(api)
    kept = ["Budget – 2027.pdf", "“Final” plan ‘v2’.pdf", "計画書 提案.pdf", "Übersicht.pdf"]
    for name in kept:
        response = upload(api, partner, proposal["id"], key, filename=name)
        assert response.status_code == 201, (name, response.text)
        assert response.json()["filename"] == name
        download = api.client.get(
            f"/api/v1/attachments/{response.json()['id']}", headers=partner.headers
        )
        disposition = download.headers["content-disposition"]
        assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name

    # Control and format characters and path separators are replaced, never refused (sent
    # raw: httpx, like browsers, would percent-escape the control character itself).
    hostile = "..\\..\\report\u202egpj.exe\u0007\u2028.pdf"
    boundary = "hostile-name"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{hostile}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF_BYTES
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = api.client.post(
        f"/api/v1/proposals/{proposal['id']}/attachments",
        content=body,
        headers={**partner.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "report_gpj.exe__.pdf"

    # The web page takes the same names and shows them as text.
    person = _signed_in(client, partner)
    editor = f"/proposals/{proposal['id']}"
    person.get(editor)
    response = person.post(
        f"{editor}/attachments",
        {"key": key},
        files={"file": ("R&D ‘plan’ – 計画.pdf", PDF_BYTES, "application/pdf")},
    )
    assert response.status_code == 303, response.text[:300]
    assert html.escape("R&D ‘plan’ – 計画.pdf") in person.get(editor)


# --- 5. Extreme numbers and dates ----------------------------------------------------------


def test_extreme_numbers_and_dates_never_answer_5xx(api: Api, client: httpx.Client) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    for page_number in ("9223372036854775807", "99999999999999999999999999"):
        response = client.get(f"/?page={page_number}")
        assert response.status_code == 200, response.text[:300]
    assert client.get("/?page=0").status_code == 422
    assert client.get("/?page=-9223372036854775809").status_code == 422
    for query in (
        "offset=18446744073709551616",
        "offset=-1",
        "limit=0",
        "limit=1180591620717411303424",
    ):
        assert_problem(client.get(f"/api/v1/rfps?status=published&{query}"), 422)
    # The largest offset the contract allows reads nothing, on any database.
    far = client.get(f"/api/v1/rfps?status=published&offset={2**62}")
    assert far.status_code == 200 and far.json()["items"] == []

    body = {"template_key": "state-preferred-provider", "title": "Far away"}
    for deadline in (
        "9999-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-05:00",  # past the last representable date once in UTC
        "0001-01-01T00:00:00+05:00",
        "1999-12-31T23:00:00+00:00",
    ):
        response = client.post(
            "/api/v1/rfps", json={**body, "submission_deadline": deadline}, headers=staff.headers
        )
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["loc"][-1] == "submission_deadline", problem
    draft = client.post(
        "/api/v1/rfps", json={**body, "submission_deadline": future()}, headers=staff.headers
    ).json()
    assert_problem(
        client.patch(
            f"/api/v1/rfps/{draft['id']}",
            json={"submission_deadline": "9999-12-31T23:59:59-05:00"},
            headers=staff.headers,
        ),
        422,
    )
    assert_problem(
        client.post(
            f"/api/v1/rfps/{rfp['id']}/addenda",
            json={"text": "Extended.", "submission_deadline": "9999-12-31T23:59:59+00:00"},
            headers=staff.headers,
        ),
        422,
    )

    # The same rule on the staff's web form, shown beside the field.
    person = _signed_in(client, staff)
    person.get("/manage/rfps/new")
    response = person.post(
        "/manage/rfps/new",
        {**body, "submission_deadline": "9999-12-31T23:59"},
    )
    assert response.status_code == 422
    assert "Choose a deadline between" in text_of(response.text)


# --- 6. NUL characters ---------------------------------------------------------------------


def test_nul_characters_are_refused_the_same_on_every_database(
    api: Api, client: httpx.Client
) -> None:
    partner, proposal, key = _draft_proposal(api)
    organization = f"/api/v1/organizations/{partner.organization_id}"
    section = proposal["rfp"]["sections"][0]["key"]
    for path, method, body in (
        (organization, "PATCH", {"description": "before\u0000after"}),
        (organization, "PATCH", {"states": ["VA", "M\u0000D"]}),
        (organization, "PATCH", {"descr\u0000iption": "a key holding one"}),
        (f"/api/v1/proposals/{proposal['id']}/sections/{section}", "PUT", {"text": "a\u0000"}),
    ):
        response = client.request(method, path, json=body, headers=partner.headers)
        problem = assert_problem(response, 422)
        assert "NUL" in problem["detail"]
    problem = assert_problem(
        client.patch(organization, json={"description": "x\u0000"}, headers=partner.headers), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "description"]
    assert_problem(client.get("/api/v1/rfps?status=published%00"), 422)
    assert_problem(
        client.post(
            "/api/v1/organizations",
            json={
                "name": "A\u0000B",
                "kind": "nonprofit",
                "email": "nul@org.example",
                "contact_name": "N",
                "password": "correct-horse-battery",
            },
        ),
        422,
    )

    # A backslash followed by "u0000" is just text; a file may hold NUL bytes.
    literal = client.patch(organization, json={"description": "a\\u0000b"}, headers=partner.headers)
    assert literal.status_code == 200 and literal.json()["description"] == "a\\u0000b"
    assert (
        upload(api, partner, proposal["id"], key, content=PDF_BYTES + b"\x00\x00").status_code
        == 201
    )

    # Form fields on the pages, urlencoded and multipart.
    person = _signed_in(client, partner)
    person.get("/organization")
    response = person.post(
        "/organization", {"name": "Bright\u0000Path", "kind": "nonprofit", "contact_name": "P"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "NUL" in text_of(response.text)
    person.get(f"/proposals/{proposal['id']}")
    response = person.post(
        f"/proposals/{proposal['id']}/attachments",
        {"key": key + "\u0000"},
        files={"file": ("plan.pdf", PDF_BYTES, "application/pdf")},
    )
    assert response.status_code == 422 and "NUL" in text_of(response.text)


# --- 7. A chunked body over the limit ------------------------------------------------------


def _chunks(total: int, prefix: bytes = b"", suffix: bytes = b"") -> Iterator[bytes]:
    yield prefix
    for _ in range(total // 65536):
        yield b"x" * 65536
    yield suffix


def test_a_chunked_body_over_the_limit_answers_413(api: Api, client: httpx.Client) -> None:
    partner = api.partner()
    over = get_settings().max_json_bytes + 65536
    response = client.patch(
        f"/api/v1/organizations/{partner.organization_id}",
        content=_chunks(over, b'{"description": "', b'"}'),
        headers={**partner.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)

    # A page's form the same way: a 413 page, not a 400 or a 500.
    person = _signed_in(client, partner)
    person.get("/organization")
    response = person.client.post(
        "/organization",
        content=_chunks(over, f"csrf_token={person.token}&description=".encode()),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


# --- 8. Office files that inflate too much -------------------------------------------------


def _docx(parts: dict[str, bytes] | None = None, zeros_mb: int = 0, count: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name, content in (parts or {}).items():
            archive.writestr(name, content)
        if zeros_mb:
            with archive.open("word/media/image1.bin", "w") as media:
                for _ in range(zeros_mb):
                    media.write(bytes(1024 * 1024))
        for n in range(count):
            archive.writestr(f"word/media/part{n}.xml", "")
    return buffer.getvalue()


def test_office_files_that_inflate_too_much_are_refused(api: Api, client: httpx.Client) -> None:
    partner, proposal, key = _draft_proposal(api)
    normal = upload(api, partner, proposal["id"], key, content=_docx(), filename="plan.docx")
    assert normal.status_code == 201 and normal.json()["content_type"] == DOCX

    bomb = _docx(zeros_mb=200)
    assert len(bomb) < 300 * 1024  # about 200 KB on the wire, 200 MB once opened
    for content in (bomb, _docx(zeros_mb=20), _docx(count=2500)):
        response = upload(api, partner, proposal["id"], key, content=content, filename="b.docx")
        problem = assert_problem(response, 413)
        assert "expands to more than" in problem["detail"]

    person = _signed_in(client, partner)
    person.get(f"/proposals/{proposal['id']}")
    response = person.post(
        f"/proposals/{proposal['id']}/attachments",
        {"key": key},
        files={"file": ("bomb.docx", bomb, DOCX)},
    )
    assert response.status_code == 413
    assert "expands to more than" in text_of(response.text)
    listed = api.client.get(f"/api/v1/proposals/{proposal['id']}", headers=partner.headers)
    assert [a["filename"] for a in listed.json()["attachments"]] == ["plan.docx"]


def test_an_office_file_zipfile_cannot_read_is_refused_not_a_500(api: Api) -> None:
    """An archive that claims a zip version the standard library cannot read (zipfile raises
    a RuntimeError subclass for it): that is a refused file (415), not a server error."""
    partner, proposal, key = _draft_proposal(api)
    content = bytearray(_docx())
    central = content.find(b"PK\x01\x02")
    content[central + 6] = 100  # "version needed to extract": 10.0
    response = upload(
        api, partner, proposal["id"], key, content=bytes(content), filename="odd.docx"
    )
    assert_problem(response, 415)
