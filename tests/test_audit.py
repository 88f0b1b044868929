"""The hash-chained audit trail: a row for every change, visible to the owning agency,
and `verify-audit` noticing an altered, deleted or reordered row."""

import subprocess

from sqlalchemy import text

from app.core.db import get_engine
from tests.support import PASSWORD, Api, assert_problem, run_cli, unique


def _verify() -> subprocess.CompletedProcess[str]:
    return run_cli("verify-audit")


def _actions(api: Api, headers: dict[str, str], **params: str) -> list[str]:
    response = api.client.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["items"]]


def test_every_account_change_is_audited_and_scoped(api: Api) -> None:
    staff = api.staff()
    other = api.staff(state="MD")
    api.client.post(
        f"/api/v1/agencies/{staff.agency_id}/staff",
        json={"email": f"{unique('x')}@agency.example", "name": "X", "password": PASSWORD},
        headers=staff.headers,
    )
    mine = _actions(api, staff.headers)
    assert mine.count("staff.created") == 2
    assert "agency.created" in mine
    assert _actions(api, other.headers).count("staff.created") == 1  # only its own agency's
    partner = api.partner()
    api.client.patch(
        f"/api/v1/organizations/{partner.organization_id}",
        json={"capacity_clusters": 4},
        headers=partner.headers,
    )
    admin_view = _actions(
        api, api.admin.headers, entity="organization", entity_id=partner.organization_id
    )
    assert admin_view == ["organization.signed_up", "organization.updated"]
    assert_problem(api.client.get("/api/v1/audit", headers=partner.headers), 403)


def test_verify_audit_detects_modification_deletion_and_reordering(api: Api) -> None:
    api.staff()
    api.partner()
    ok = _verify()
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout

    engine = get_engine()
    with engine.begin() as conn:
        original = conn.execute(text("SELECT action FROM audit_events WHERE seq = 2")).scalar_one()
        conn.execute(text("UPDATE audit_events SET action = 'tampered' WHERE seq = 2"))
    altered = _verify()
    assert altered.returncode == 1
    assert "#2 was altered" in altered.stderr

    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = :a WHERE seq = 2"), {"a": original})
    assert _verify().returncode == 0

    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET seq = 1000 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_events SET seq = 2 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 1000"))
    assert _verify().returncode == 1

    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET seq = 1000 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_events SET seq = 2 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 1000"))
    assert _verify().returncode == 0

    with engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
    deleted = _verify()
    assert deleted.returncode == 1
    assert "head" in deleted.stderr


def test_verify_audit_detects_deletion_in_the_middle(api: Api) -> None:
    api.staff()
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    result = _verify()
    assert result.returncode == 1
    assert "#2 is missing" in result.stderr
