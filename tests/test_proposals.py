"""Proposals through the HTTP API: working copy, attachments, submission, sealed bids."""

import hashlib
import io
import zipfile
from pathlib import Path

from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import get_engine
from tests.support import (
    PDF_BYTES,
    Api,
    assert_problem,
    complete_proposal,
    complete_self_audit,
    pass_deadline,
    published_rfp,
    submitted_proposal,
    upload,
)


def _count(table: str) -> int:
    with get_engine().connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def _stored_files() -> list[Path]:
    root = get_settings().files_dir
    return (
        [p for p in root.rglob("*") if p.is_file() and "documents" not in p.parts]
        if root.exists()
        else []
    )


def test_one_proposal_per_organization_and_only_while_open(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    partner = api.partner()
    url = f"/api/v1/rfps/{rfp['id']}/proposals"
    created = api.client.post(url, headers=partner.headers)
    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    assert_problem(api.client.post(url, headers=partner.headers), 409)
    assert_problem(api.client.post(url, headers=staff.headers), 403)
    pass_deadline(rfp["id"])
    assert_problem(api.client.post(url, headers=api.partner().headers), 409)


def test_sections_count_words_and_honour_if_match(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers)
    pid = proposal.json()["id"]
    key = rfp["sections"][0]["key"]
    etag = proposal.headers["ETag"]
    saved = api.client.put(
        f"/api/v1/proposals/{pid}/sections/{key}",
        json={"text": "Our  model\nhas\tfive words."},
        headers={**partner.headers, "If-Match": etag},
    )
    assert saved.status_code == 200
    section = next(s for s in saved.json()["sections"] if s["key"] == key)
    assert section["word_count"] == 5
    stale = api.client.put(
        f"/api/v1/proposals/{pid}/sections/{key}",
        json={"text": "x"},
        headers={**partner.headers, "If-Match": etag},
    )
    assert_problem(stale, 412)
    assert_problem(
        api.client.put(
            f"/api/v1/proposals/{pid}/sections/nope", json={"text": "x"}, headers=partner.headers
        ),
        404,
    )


def test_attachment_upload_checks_type_by_content(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    pid = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers).json()[
        "id"
    ]
    key = rfp["required_attachments"][1]["key"]  # audited financial statements: PDF only
    ok = upload(api, partner, pid, key)
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert body["content_type"] == "application/pdf" and body["size"] == len(PDF_BYTES)
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
    assert_problem(upload(api, partner, pid, key, content=elf, filename="report.pdf"), 415)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 50
    assert_problem(upload(api, partner, pid, key, content=png, filename="scan.pdf"), 415)
    assert_problem(upload(api, partner, pid, "no_such_key"), 422)
    downloaded = api.client.get(f"/api/v1/attachments/{body['id']}", headers=partner.headers)
    assert downloaded.content == PDF_BYTES
    assert downloaded.headers["content-type"] == "application/pdf"


def test_office_and_csv_files_are_recognized(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    pid = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers).json()[
        "id"
    ]
    budget = rfp["required_attachments"][0]
    assert (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        in budget["content_types"]
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    xlsx = upload(
        api, partner, pid, budget["key"], content=buffer.getvalue(), filename="budget.xlsx"
    )
    assert xlsx.status_code == 201, xlsx.text
    assert xlsx.json()["content_type"].endswith("spreadsheetml.sheet")
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("payload.exe", "MZ")
    assert_problem(
        upload(api, partner, pid, budget["key"], content=plain_zip.getvalue(), filename="b.xlsx"),
        415,
    )


def test_path_traversal_filename_is_stored_safely(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    pid = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers).json()[
        "id"
    ]
    key = rfp["required_attachments"][1]["key"]
    response = upload(api, partner, pid, key, filename="../../../../etc/cron.d/evil\x00.pdf")
    assert response.status_code == 201
    name = response.json()["filename"]
    assert "/" not in name and ".." not in name and "\x00" not in name
    root = get_settings().files_dir.resolve()
    assert all(p.resolve().is_relative_to(root) for p in _stored_files())
    assert not Path("/etc/cron.d/evil.pdf").exists()
    disposition = api.client.get(
        f"/api/v1/attachments/{response.json()['id']}", headers=partner.headers
    ).headers["content-disposition"]
    assert "/" not in disposition.split("''", 1)[1]


def test_oversized_or_truncated_upload_leaves_nothing(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    pid = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers).json()[
        "id"
    ]
    key = rfp["required_attachments"][1]["key"]
    big = PDF_BYTES + b"0" * (get_settings().max_upload_bytes + 10)
    assert_problem(upload(api, partner, pid, key, content=big), 413)
    # A body cut off in the middle of the file part (a dropped connection looks like this).
    boundary = "XyZ"
    truncated = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4 partial"
    ).encode()
    response = api.client.post(
        f"/api/v1/proposals/{pid}/attachments",
        content=truncated,
        headers={**partner.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(response, 422)
    too_many = api.client.post(
        f"/api/v1/proposals/{pid}/attachments",
        data={"key": key, "a": "1", "b": "2", "c": "3", "d": "4"},
        files={"file": ("a.pdf", PDF_BYTES, "application/pdf")},
        headers=partner.headers,
    )
    assert_problem(too_many, 422)
    assert _count("attachments") == 0
    assert _stored_files() == []


def test_delete_attachment_before_the_deadline_only(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    pid = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers).json()[
        "id"
    ]
    key = rfp["required_attachments"][1]["key"]
    first = upload(api, partner, pid, key).json()
    other = api.partner()
    assert_problem(
        api.client.delete(f"/api/v1/attachments/{first['id']}", headers=other.headers), 404
    )
    assert (
        api.client.delete(f"/api/v1/attachments/{first['id']}", headers=partner.headers).status_code
        == 204
    )
    assert _stored_files() == []
    assert_problem(
        api.client.get(f"/api/v1/attachments/{first['id']}", headers=partner.headers), 404
    )
    second = upload(api, partner, pid, key).json()
    pass_deadline(rfp["id"])
    assert_problem(
        api.client.delete(f"/api/v1/attachments/{second['id']}", headers=partner.headers), 409
    )
    assert_problem(upload(api, partner, pid, key), 409)


def test_submit_lists_every_missing_item(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    pid = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=partner.headers).json()[
        "id"
    ]
    first = rfp["sections"][0]
    api.client.put(
        f"/api/v1/proposals/{pid}/sections/{first['key']}",
        json={"text": "word " * (first["word_limit"] + 1)},
        headers=partner.headers,
    )
    body = assert_problem(
        api.client.post(f"/api/v1/proposals/{pid}/submit", headers=partner.headers), 422
    )
    locs = {tuple(e["loc"]) for e in body["errors"]}
    for section in rfp["sections"][1:]:
        if section["required"]:
            assert ("sections", section["key"]) in locs
    assert ("sections", first["key"]) in locs  # over the limit
    assert any("limit" in e["msg"] for e in body["errors"])
    for slot in rfp["required_attachments"]:
        assert ("attachments", slot["key"]) in locs
    assert ("self_audit",) in locs
    assert _count("proposal_versions") == 0


def test_versions_receipts_and_idempotent_retry(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = complete_proposal(api, partner, rfp)
    url = f"/api/v1/proposals/{proposal['id']}"
    first = api.client.post(url + "/submit", headers={**partner.headers, "Idempotency-Key": "k-1"})
    assert first.status_code == 200, first.text
    receipt = first.json()
    assert receipt["status"] == "submitted" and receipt["version"] == 1
    assert len(receipt["receipt"]) == 64 and receipt["submitted_at"].endswith(("+00:00", "Z"))
    # Submitting unchanged content again changes nothing.
    same = api.client.post(url + "/submit", headers=partner.headers).json()
    assert same["version"] == 1 and same["receipt"] == receipt["receipt"]
    key = rfp["sections"][0]["key"]
    api.client.put(
        f"{url}/sections/{key}", json={"text": "A revised answer."}, headers=partner.headers
    )
    retry = api.client.post(
        url + "/submit", headers={**partner.headers, "Idempotency-Key": "k-1"}
    ).json()
    assert retry == receipt  # a retried request returns what the first one did
    second = api.client.post(
        url + "/submit", headers={**partner.headers, "Idempotency-Key": "k-2"}
    ).json()
    assert second["version"] == 2 and second["receipt"] != receipt["receipt"]
    versions = api.client.get(url + "/versions", headers=partner.headers).json()
    assert [v["number"] for v in versions["items"]] == [1, 2]
    pass_deadline(rfp["id"])
    api.client.put(f"{url}/sections/{key}", json={"text": "Too late."}, headers=partner.headers)
    assert_problem(api.client.post(url + "/submit", headers=partner.headers), 409)
    late_retry = api.client.post(
        url + "/submit", headers={**partner.headers, "Idempotency-Key": "k-2"}
    )
    assert late_retry.json() == second


def test_withdraw_before_the_deadline(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = submitted_proposal(api, partner, rfp)
    url = f"/api/v1/proposals/{proposal['id']}"
    withdrawn = api.client.post(url + "/withdraw", headers=partner.headers)
    assert withdrawn.json()["status"] == "withdrawn"
    assert_problem(api.client.post(url + "/withdraw", headers=partner.headers), 409)
    again = api.client.post(url + "/submit", headers=partner.headers).json()
    assert again["status"] == "submitted" and again["version"] == 2
    pass_deadline(rfp["id"])
    assert_problem(api.client.post(url + "/withdraw", headers=partner.headers), 409)


def test_upload_and_submit_refuse_a_missing_bad_or_deactivated_caller(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = complete_proposal(api, partner, rfp)
    url = f"/api/v1/proposals/{proposal['id']}"
    key = rfp["required_attachments"][0]["key"]
    attachments = _count("attachments")
    for headers in ({}, {"Authorization": "Bearer garbage"}):
        assert_problem(api.client.post(url + "/submit", headers=headers), 401)
        refused = api.client.post(
            url + "/attachments",
            data={"key": key},
            files={"file": ("file.pdf", PDF_BYTES, "application/pdf")},
            headers=headers,
        )
        assert_problem(refused, 401)
    # An account switched off keeps no access through a token it signed in with before.
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE users SET is_active = :off WHERE id = :id"),
            {"off": False, "id": partner.id},
        )
    assert_problem(upload(api, partner, proposal["id"], key), 401)
    assert_problem(api.client.post(url + "/submit", headers=partner.headers), 401)
    assert _count("attachments") == attachments
    assert _count("proposal_versions") == 0


def test_bids_are_sealed_until_the_deadline(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    a = api.partner()
    b = api.partner()
    proposal = submitted_proposal(api, a, rfp)
    pid = proposal["id"]
    attachment_id = api.client.get(f"/api/v1/proposals/{pid}", headers=a.headers).json()[
        "attachments"
    ][0]["id"]
    listing = api.client.get(f"/api/v1/rfps/{rfp['id']}/proposals", headers=staff.headers).json()
    assert listing["total"] == 1
    row = listing["items"][0]
    assert (
        row["organization_id"] == a.organization_id
        and row["status"] == "submitted"
        and row["submitted_at"]
    )
    assert "sections" not in row and "attachments" not in row
    for actor in (staff, b, api.staff(state="MD")):
        assert_problem(api.client.get(f"/api/v1/proposals/{pid}", headers=actor.headers), 404)
        assert_problem(
            api.client.get(f"/api/v1/attachments/{attachment_id}", headers=actor.headers), 404
        )
    assert_problem(
        api.client.get(f"/api/v1/organizations/{a.organization_id}/self-audit", headers=b.headers),
        404,
    )
    assert_problem(api.client.get(f"/api/v1/rfps/{rfp['id']}/proposals", headers=a.headers), 403)
    # The partner edits after submitting; the self-audit changes too.
    key = rfp["sections"][0]["key"]
    api.client.put(
        f"/api/v1/proposals/{pid}/sections/{key}",
        json={"text": "Unsubmitted edit."},
        headers=a.headers,
    )
    api.client.put(
        f"/api/v1/organizations/{a.organization_id}/self-audit",
        json={"items": []},
        headers=a.headers,
    )
    pass_deadline(rfp["id"])
    opened = api.client.get(f"/api/v1/proposals/{pid}", headers=staff.headers)
    assert opened.status_code == 200
    body = opened.json()
    assert body["version"] == 1
    assert "Unsubmitted edit." not in {s["text"] for s in body["sections"]}
    assert body["self_audit"]["complete"] is True  # the snapshot taken at submission
    assert (
        api.client.get(f"/api/v1/attachments/{attachment_id}", headers=staff.headers).content
        == PDF_BYTES
    )
    full = api.client.get(f"/api/v1/rfps/{rfp['id']}/proposals", headers=staff.headers).json()
    assert full["items"][0]["sections"]
    assert_problem(api.client.get(f"/api/v1/proposals/{pid}", headers=b.headers), 404)
    assert_problem(
        api.client.get(f"/api/v1/proposals/{pid}", headers=api.staff(state="MD").headers), 404
    )
    # Staff of the RFP's agency may read the applicant's profile; others may not.
    assert (
        api.client.get(
            f"/api/v1/organizations/{a.organization_id}", headers=staff.headers
        ).status_code
        == 200
    )
    assert_problem(
        api.client.get(f"/api/v1/organizations/{b.organization_id}", headers=staff.headers), 404
    )


def test_partner_events_are_audited(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = submitted_proposal(api, partner, rfp)
    api.client.post(f"/api/v1/proposals/{proposal['id']}/withdraw", headers=partner.headers)
    events = api.client.get(
        f"/api/v1/audit?entity=proposal&entity_id={proposal['id']}&limit=200",
        headers=api.admin.headers,
    ).json()["items"]
    actions = [e["action"] for e in events]
    assert actions[0] == "proposal.created"
    assert "proposal.attachment_added" in actions and "proposal.section_saved" in actions
    assert actions[-2:] == ["proposal.submitted", "proposal.withdrawn"]
    org_events = api.client.get(
        f"/api/v1/audit?entity=organization&entity_id={partner.organization_id}",
        headers=api.admin.headers,
    ).json()["items"]
    assert [e["action"] for e in org_events] == ["organization.signed_up", "self_audit.saved"]


def test_self_audit_is_required_complete(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = complete_proposal(api, partner, rfp)
    api.client.put(
        f"/api/v1/organizations/{partner.organization_id}/self-audit",
        json={"items": []},
        headers=partner.headers,
    )
    body = assert_problem(
        api.client.post(f"/api/v1/proposals/{proposal['id']}/submit", headers=partner.headers), 422
    )
    assert [tuple(e["loc"]) for e in body["errors"]] == [("self_audit",)]
    complete_self_audit(api, partner)
    assert (
        api.client.post(
            f"/api/v1/proposals/{proposal['id']}/submit", headers=partner.headers
        ).status_code
        == 200
    )
