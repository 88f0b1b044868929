"""Stateless app servers: two `serve` processes with separate data folders, sharing only
PostgreSQL and an S3 bucket (and the settings every server must share), answer requests
alternately as if they were one. Killing one mid-upload loses nothing acknowledged."""

import hashlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import get_settings
from app.core.db import get_engine
from tests.s3_support import Alternating, app_servers, requires_s3, s3_base_url
from tests.support import (
    PDF_BYTES,
    Api,
    complete_proposal,
    invited_reviewer,
    pass_deadline,
    published_rfp,
    start_server,
    submitted_proposal,
    upload,
)
from tests.web_support import Person
from tests.worlds import drafted_mou

pytestmark = [
    requires_s3,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
        reason="two servers share a PostgreSQL database: set TEST_DATABASE_URL",
    ),
]


def _server_env(folder: Path, storage_url: str, **extra: str) -> dict[str, str]:
    settings = get_settings()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"STORAGE_DIR", "AUDIT_ANCHOR_DIR", "PROMETHEUS_MULTIPROC_DIR"}
    }
    return {
        **env,
        "DATA_DIR": str(folder),  # nothing on disk is shared: each its own folder
        "STORAGE_URL": storage_url,
        # What every server must share, from settings: the keys. (The tests' own keys, so
        # the tokens the test helpers sign are good on both.)
        "SECRET_KEY": settings.secret_key,
        "AUDIT_KEY": settings.audit_key,
        **extra,
    }


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[list[str], list[dict[str, str]]]]:
    storage_url = f"{s3_base_url()}/pair-{uuid.uuid4().hex[:12]}"
    envs = [
        _server_env(tmp_path / "a", storage_url),
        # The second sends downloads as presigned links, so both ways are exercised.
        _server_env(tmp_path / "b", storage_url, STORAGE_PRESIGN="true"),
    ]
    for env in envs:
        Path(env["DATA_DIR"]).mkdir()
    with app_servers(envs, tmp_path) as bases:
        yield bases, envs


def _renders(base: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "lpp_pdf_render_seconds_count"
    )


def test_requests_alternate_between_two_servers(
    pair: tuple[list[str], list[dict[str, str]]], tmp_path: Path
) -> None:
    (a, b), envs = pair
    with httpx.Client(base_url=a, timeout=60) as on_a, httpx.Client(base_url=b, timeout=60) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        staff = api_a.staff()
        rfp = published_rfp(api_b, staff)  # a token from one server, used on the other

        # Sign in on one, use the session on the other (API token and web cookie).
        partner = api_a.partner()
        assert on_b.get("/api/v1/me", headers=partner.headers).json()["id"] == partner.id
        person = Person(on_a).sign_in(partner.email)
        on_b.cookies.update(person.client.cookies)
        assert on_b.get("/dashboard").status_code == 200
        on_b.cookies.clear()

        # Upload on one, download on the other (streamed by A, a presigned link from B).
        proposal = complete_proposal(api_a, partner, rfp)
        key = rfp["required_attachments"][0]["key"]
        content = PDF_BYTES + os.urandom(200_000)
        made = upload(api_b, partner, proposal["id"], key, content=content)
        assert made.status_code == 201, made.text
        attachment = made.json()
        url = f"/api/v1/attachments/{attachment['id']}"
        streamed = on_a.get(url, headers=partner.headers)
        assert streamed.status_code == 200 and streamed.content == content
        assert streamed.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
        linked = on_b.get(url, headers=partner.headers)
        assert linked.status_code == 307
        assert linked.headers["location"].startswith(os.environ["S3_ENDPOINT_URL"])
        assert httpx.get(linked.headers["location"]).content == content
        assert on_b.get(url, headers=partner.headers, follow_redirects=True).content == content

        # Render a PDF on one, fetch it from the shared cache on the other.
        before = _renders(a) + _renders(b)
        pdf_a = on_a.get(f"/api/v1/rfps/{rfp['id']}/document.pdf")
        pdf_b = on_b.get(f"/api/v1/rfps/{rfp['id']}/document.pdf")
        assert pdf_a.status_code == pdf_b.status_code == 200
        assert pdf_a.content == pdf_b.content
        assert _renders(a) + _renders(b) == before + 1  # rendered once, on A

        # Submit on the other; the receipt verifies on both.
        submitted = on_b.post(f"/api/v1/proposals/{proposal['id']}/submit", headers=partner.headers)
        assert submitted.status_code == 200, submitted.text
        for http in (on_a, on_b):
            versions = http.get(
                f"/api/v1/proposals/{proposal['id']}/versions", headers=partner.headers
            ).json()["items"]
            assert [v["receipt"] for v in versions] == [submitted.json()["receipt"]]

        # Nothing of the files is on either server's disk but upload temporaries (none now).
        for env in envs:
            files = Path(env["DATA_DIR"]) / "files"
            stored = [p for p in files.rglob("*") if p.is_file()] if files.exists() else []
            assert stored == [], stored


def _slow_multipart(key: str, boundary: str, sent: threading.Event) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + PDF_BYTES
    for _ in range(50):
        yield os.urandom(16384)
        sent.set()
        time.sleep(0.05)
    yield f"\r\n--{boundary}--\r\n".encode()


def _attachments() -> int:
    from sqlalchemy import text

    with get_engine().connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM attachments")).scalar_one())


def test_killing_one_server_mid_upload_loses_nothing_acknowledged(
    pair: tuple[list[str], list[dict[str, str]]], tmp_path: Path
) -> None:
    (_, b), envs = pair
    # A third server of the same deployment, to be killed (the pair's fixture owns A and B).
    victim, c = start_server(
        1, tmp_path / "victim.log", env=envs[0] | {"DATA_DIR": str(tmp_path / "c")}
    )
    with httpx.Client(base_url=b, timeout=60) as on_b, httpx.Client(base_url=c, timeout=60) as on_c:
        api_c = Api(on_c)
        rfp = published_rfp(api_c, api_c.staff())
        partner = api_c.partner()
        proposal = complete_proposal(api_c, partner, rfp)
        key = rfp["required_attachments"][0]["key"]
        acknowledged = []
        for n in range(5):
            content = PDF_BYTES + f"acknowledged {n}".encode() + os.urandom(50_000)
            made = upload(api_c, partner, proposal["id"], key, content=content)
            assert made.status_code == 201
            acknowledged.append((made.json()["id"], content))
        count = _attachments()

        sent = threading.Event()
        errors: list[BaseException] = []

        def cut_upload() -> None:
            try:
                on_c.post(
                    f"/api/v1/proposals/{proposal['id']}/attachments",
                    content=_slow_multipart(key, "cutboundary", sent),
                    headers={
                        **partner.headers,
                        "Content-Type": "multipart/form-data; boundary=cutboundary",
                    },
                )
            except httpx.HTTPError as exc:
                errors.append(exc)

        client = threading.Thread(target=cut_upload)
        client.start()
        assert sent.wait(20)
        time.sleep(0.3)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        client.join(timeout=30)
        assert errors, "the client should see the connection drop"

        # The other server keeps serving, and every acknowledged upload is there.
        assert on_b.get("/readyz").status_code == 200
        assert _attachments() == count
        for attachment_id, content in acknowledged:
            fetched = on_b.get(
                f"/api/v1/attachments/{attachment_id}",
                headers=partner.headers,
                follow_redirects=True,
            )
            assert fetched.status_code == 200 and fetched.content == content
        # The same partner carries on through the other server.
        retry = upload(Api(on_b), partner, proposal["id"], key, content=PDF_BYTES + b"again")
        assert retry.status_code == 201, retry.text


def test_a_whole_selection_through_a_round_robin_pair(
    pair: tuple[list[str], list[dict[str, str]]],
) -> None:
    """Every request of the journey goes to the other server than the one before."""
    (a, b), _ = pair
    transport = Alternating([a, b])
    with httpx.Client(base_url=a, transport=transport, timeout=60) as http:
        api = Api(http)
        staff = api.staff()
        rfp = published_rfp(api, staff, reviewers_per_proposal=1)
        partners = [api.partner() for _ in range(2)]
        proposals = [submitted_proposal(api, partner, rfp) for partner in partners]
        reviewer = invited_reviewer(api, staff, rfp["id"])
        pass_deadline(rfp["id"])
        assigned = http.post(f"/api/v1/rfps/{rfp['id']}/assignments/auto", headers=staff.headers)
        assert assigned.status_code in (200, 201), assigned.text
        for assignment in assigned.json()["items"]:
            scores = [
                {
                    "criterion_key": criterion["key"],
                    "value": sorted(level["value"] for level in criterion["levels"])[-2],
                    "comment": "The plan names who does what, by when, and how it is measured.",
                }
                for criterion in rfp["criteria"]
            ]
            url = f"/api/v1/assignments/{assignment['id']}"
            saved = http.put(f"{url}/scores", json={"scores": scores}, headers=reviewer.headers)
            assert saved.status_code == 200, saved.text
            done = http.post(f"{url}/submit", headers=reviewer.headers)
            assert done.status_code == 200, done.text
        finalized = http.post(f"/api/v1/rfps/{rfp['id']}/finalize", headers=staff.headers)
        assert finalized.status_code == 200, finalized.text
        listed = http.get("/api/v1/preferred-providers").json()["items"]
        assert {item["organization_id"] for item in listed} >= {
            p["organization_id"] for p in proposals
        }
        for partner, proposal in zip(partners, proposals, strict=True):
            read = http.get(f"/api/v1/proposals/{proposal['id']}", headers=partner.headers)
            assert read.json()["attachments"]
            for attachment in read.json()["attachments"]:
                fetched = http.get(
                    f"/api/v1/attachments/{attachment['id']}",
                    headers=partner.headers,
                    follow_redirects=True,
                )
                assert fetched.status_code == 200
                assert hashlib.sha256(fetched.content).hexdigest() == attachment["sha256"]
    assert min(transport.served) >= 20, transport.served


def test_an_mou_drafted_rendered_and_executed_across_the_pair(
    pair: tuple[list[str], list[dict[str, str]]],
) -> None:
    (a, b), _ = pair
    with httpx.Client(base_url=a, timeout=60) as on_a, httpx.Client(base_url=b, timeout=60) as on_b:
        district_staff, partner, mou, _ = drafted_mou(Api(on_a))
        url = f"/api/v1/mous/{mou['id']}"
        before = _renders(a) + _renders(b)
        draft_a = on_a.get(f"{url}/document.pdf", headers=district_staff.headers)
        draft_b = on_b.get(f"{url}/document.pdf", headers=partner.headers)
        assert draft_a.status_code == draft_b.status_code == 200
        assert draft_a.content == draft_b.content  # rendered on A, read from the bucket on B
        assert _renders(a) + _renders(b) == before + 1
        executed = on_b.post(f"{url}/execute", headers=district_staff.headers)
        assert executed.status_code == 200, executed.text
        signed = on_a.get(f"{url}/document.pdf", headers=partner.headers)
        assert signed.status_code == 200 and signed.content != draft_a.content
        assert hashlib.sha256(signed.content).hexdigest() == executed.json()["executed_pdf_sha256"]
