"""The command line: create-admin and an idempotent seed-demo."""

from tests.support import Api, run_cli


def test_create_admin_then_sign_in(api: Api) -> None:
    result = run_cli(
        "create-admin", "--email", "ops@pipeline.example", "--password", "long-enough-pass"
    )
    assert result.returncode == 0, result.stderr
    assert api.login("ops@pipeline.example", "long-enough-pass").email == "ops@pipeline.example"
    again = run_cli(
        "create-admin", "--email", "ops@pipeline.example", "--password", "long-enough-pass"
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_seed_demo_is_idempotent_and_publishes_one_rfp_per_template(api: Api) -> None:
    first = run_cli("seed-demo")
    assert first.returncode == 0, first.stderr
    listed = api.client.get("/api/v1/rfps?status=published").json()
    assert listed["total"] == 3
    templates = {r["template_key"] for r in listed["items"]}
    assert templates == {
        "state-preferred-provider",
        "district-cluster-partner",
        "internal-lead-partner",
    }
    second = run_cli("seed-demo")
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout and "published" not in second.stdout
    assert api.client.get("/api/v1/rfps?status=published").json()["total"] == 3
    staff = api.login("rfp.staff@state.example", "demo-password-2026")
    assert staff.agency_id is not None
    assert run_cli("verify-audit").returncode == 0
