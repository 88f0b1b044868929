"""Reads a shared cache may keep: public headers, strong ETags, 304 without building."""

import httpx
import pytest
from fastapi.testclient import TestClient

from app.rfps import service as rfp_service
from tests.support import Api, create_rfp, finalized_list, pass_deadline, published_rfp

PUBLIC = "public, max-age=60"


def _anonymous(client: httpx.Client) -> httpx.Client:
    return httpx.Client(transport=client._transport, base_url=client.base_url)


def test_published_rfp_is_public_with_a_version_etag_and_304(
    api: Api, client: httpx.Client
) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    anonymous = _anonymous(client)
    url = f"/api/v1/rfps/{rfp['id']}"
    first = anonymous.get(url)
    assert first.status_code == 200
    assert first.headers["cache-control"] == PUBLIC
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")

    again = anonymous.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and again.headers["cache-control"] == PUBLIC
    assert anonymous.get(url, headers={"If-None-Match": f'"other", W/{tag}'}).status_code == 304
    assert anonymous.get(url, headers={"If-None-Match": '"other"'}).status_code == 200

    # A change is a new version: the old copy is no longer confirmed.
    changed = api.client.post(
        f"/api/v1/rfps/{rfp['id']}/addenda",
        json={"text": "The page limit is now 30."},
        headers=staff.headers,
    )
    assert changed.status_code == 201, changed.text
    fresh = anonymous.get(url, headers={"If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != tag

    # Read with credentials: never for a shared cache, 304 or not.
    signed_in = api.client.get(url, headers={**staff.headers, "If-None-Match": tag})
    assert signed_in.headers["cache-control"] == "no-store"
    current = api.client.get(url, headers={**staff.headers, "If-None-Match": fresh.headers["etag"]})
    assert current.status_code == 304 and current.headers["cache-control"] == "no-store"


def test_deadline_closing_is_not_confirmed_by_an_older_copy(api: Api, client: httpx.Client) -> None:
    rfp = published_rfp(api, api.staff())
    anonymous = _anonymous(client)
    url = f"/api/v1/rfps/{rfp['id']}"
    tag = anonymous.get(url).headers["etag"]
    pass_deadline(rfp["id"])  # the status the read shows changes without a new version
    after = anonymous.get(url, headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.json()["status"] == "closed"
    # The PDF is the version's document whatever the clock says.
    pdf = anonymous.get(f"{url}/document.pdf", headers={"If-None-Match": tag})
    assert pdf.status_code == 304


def test_rfp_pdf_is_public_and_answers_304(api: Api, client: httpx.Client) -> None:
    rfp = published_rfp(api, api.staff())
    anonymous = _anonymous(client)
    url = f"/api/v1/rfps/{rfp['id']}/document.pdf"
    first = anonymous.get(url)
    assert first.status_code == 200 and first.content.startswith(b"%PDF-")
    assert first.headers["cache-control"] == PUBLIC
    again = anonymous.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    page_pdf = anonymous.get(
        f"/rfps/{rfp['id']}/document.pdf", headers={"If-None-Match": first.headers["etag"]}
    )
    assert page_pdf.status_code == 304


def test_hidden_rfp_is_404_even_with_a_matching_tag(api: Api, client: httpx.Client) -> None:
    staff = api.staff()
    draft = create_rfp(api, staff)
    tag = api.client.get(f"/api/v1/rfps/{draft['id']}", headers=staff.headers).headers["etag"]
    anonymous = _anonymous(client)
    for path in (f"/api/v1/rfps/{draft['id']}", f"/api/v1/rfps/{draft['id']}/document.pdf"):
        assert anonymous.get(path, headers={"If-None-Match": tag}).status_code == 404
        assert anonymous.get(path, headers={"If-None-Match": "*"}).status_code == 404


def test_preferred_provider_list_is_public_with_a_content_etag(
    api: Api, client: httpx.Client
) -> None:
    anonymous = _anonymous(client)
    url = "/api/v1/preferred-providers"
    empty = anonymous.get(url)
    assert empty.status_code == 200 and empty.headers["cache-control"] == PUBLIC
    assert anonymous.get(url, headers={"If-None-Match": empty.headers["etag"]}).status_code == 304
    finalized_list(api, api.staff(), [api.partner()])
    listed = anonymous.get(url, headers={"If-None-Match": empty.headers["etag"]})
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert listed.headers["etag"] != empty.headers["etag"]
    assert anonymous.get(url, headers={"If-None-Match": listed.headers["etag"]}).status_code == 304


def test_304_builds_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, so the builders can be replaced by ones that fail if called."""
    from app.main import app

    rfp = published_rfp(api, api.staff())
    with TestClient(app) as local:
        tag = local.get(f"/api/v1/rfps/{rfp['id']}").headers["etag"]

        def refuse(**_kwargs: object) -> None:
            raise AssertionError("built the document for a conditional GET that matched")

        monkeypatch.setattr(rfp_service, "read_one", lambda *_a: refuse())
        monkeypatch.setattr(rfp_service, "document_pdf", refuse)
        for path in (
            f"/api/v1/rfps/{rfp['id']}",
            f"/api/v1/rfps/{rfp['id']}/document.pdf",
            f"/rfps/{rfp['id']}/document.pdf",  # the page's link to the same PDF
        ):
            assert local.get(path, headers={"If-None-Match": tag}).status_code == 304


def test_a_kept_body_is_served_only_to_whom_and_while_it_is_current(
    api: Api, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process keeps a version's serialized read (app/rfps/service.read_json): a second
    read builds nothing, yet who may see it and what the clock says still decide."""
    staff = api.staff()
    anonymous = _anonymous(client)
    draft = create_rfp(api, staff)
    draft_url = f"/api/v1/rfps/{draft['id']}"
    assert api.client.get(draft_url, headers=staff.headers).status_code == 200  # kept now
    assert anonymous.get(draft_url).status_code == 404

    rfp = published_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}"
    first = anonymous.get(url)
    assert first.status_code == 200 and first.json()["status"] == "published"
    with monkeypatch.context() as patched:
        patched.setattr(rfp_service, "read_one", lambda *_a: pytest.fail("built again"))
        again = anonymous.get(url)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]

    pass_deadline(rfp["id"])  # the status changes without a new version
    after = anonymous.get(url)
    assert after.status_code == 200 and after.json()["status"] == "closed"
