"""Operations endpoints and the error contract (problem+json everywhere)."""

import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.storage import LocalStorage
from tests.support import assert_problem


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_openapi_is_served_under_api_v1(client: httpx.Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/auth/token" in spec["paths"]
    assert "/api/v1/organizations/{organization_id}" in spec["paths"]


def test_unknown_route_is_problem_json(client: httpx.Client) -> None:
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["type"].endswith("not-found")


def test_wrong_method_is_problem_json(client: httpx.Client) -> None:
    assert_problem(client.delete("/healthz"), 405)


def test_validation_error_lists_each_field(client: httpx.Client) -> None:
    response = client.post("/api/v1/organizations", json={"name": "", "kind": "pirates"})
    body = assert_problem(response, 422)
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert ("body", "kind") in locs
    assert ("body", "email") in locs
    assert all(set(e) == {"loc", "msg"} for e in body["errors"])


def test_validation_error_never_echoes_the_password(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/organizations",
        json={
            "name": "X",
            "kind": "nonprofit",
            "email": "bad",
            "contact_name": "Y",
            "password": "s3cret-XYZ",
        },
    )
    assert_problem(response, 422)
    assert "s3cret-XYZ" not in response.text


def test_malformed_json_is_problem_json(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/organizations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422)


def test_unexpected_error_is_logged_with_request_id_and_hidden_from_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A route that fails on purpose can only be added to an app in this process.
    from app.main import create_app

    app = create_app()
    client = TestClient(app, raise_server_exceptions=False)

    @app.get("/boom-for-test")  # type: ignore[attr-defined, untyped-decorator]
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR, logger="app.errors"):
        response = client.get("/boom-for-test", headers={"X-Request-ID": "req-123"})
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert body["request_id"] == "req-123"
    assert response.headers["X-Request-ID"] == "req-123"
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


def test_security_headers_present(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert len(response.headers["X-Request-ID"]) >= 16


def test_logs_are_json_with_request_ids_and_never_hold_a_password(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    import json

    from app.core.logging import JsonFormatter

    secret = "Sup3r-Secret-Passw0rd"
    with caplog.at_level(logging.DEBUG):
        client.post("/api/v1/auth/token", data={"username": "who@org.example", "password": secret})
        client.post("/api/v1/organizations", json={"name": "X", "kind": "bad", "password": secret})
        client.post(
            "/api/v1/auth/accept-invite", json={"invite_token": "x" * 20, "password": secret}
        )
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert all(secret not in line for line in lines)
    access = [json.loads(line) for line in lines if '"logger": "app.access"' in line]
    if access:  # in-process: the app's own access log lines are captured here
        assert all(entry["request_id"] and entry["path"].startswith("/api/v1/") for entry in access)


@pytest.mark.parametrize("key", ["../outside", "blobs/../../outside", "/etc/passwd"])
def test_storage_keys_cannot_leave_the_storage_root(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "files")
    with pytest.raises(ValueError, match="escapes the storage root"):
        storage.path(key)
    with pytest.raises(ValueError, match="escapes the storage root"):
        storage.write(key, b"x")
    assert not (tmp_path / "outside").exists()


def test_storage_keeps_files_under_its_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    storage.write("documents/a.pdf", b"%PDF-1.4")
    assert storage.path("documents/a.pdf") == (tmp_path / "files" / "documents/a.pdf").resolve()
    assert storage.read("documents/a.pdf") == b"%PDF-1.4"
    assert list(storage.iter_keys("documents")) == ["documents/a.pdf"]
