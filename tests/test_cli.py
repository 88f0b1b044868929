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
    district = api.login("turnaround.office@district.example", "demo-password-2026")
    listed = api.client.get("/api/v1/rfps?status=published", headers=district.headers).json()
    assert listed["total"] == 3
    by_template = {r["template_key"]: r for r in listed["items"]}
    assert set(by_template) == {
        "state-preferred-provider",
        "district-cluster-partner",
        "internal-lead-partner",
    }
    # The district's RFPs award its own clusters; the internal one is open to its units only.
    direct = by_template["district-cluster-partner"]
    assert direct["selection"] == "direct_award"
    assert [c["name"] for c in direct["clusters"]] == [
        "Eastside middle schools",
        "Northside high schools",
    ]
    assert all(len(c["schools"]) == 3 for c in direct["clusters"])
    public = api.client.get("/api/v1/rfps?status=published").json()
    assert "internal-lead-partner" not in {r["template_key"] for r in public["items"]}
    second = run_cli("seed-demo")
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout and "published" not in second.stdout
    again = api.client.get("/api/v1/rfps?status=published", headers=district.headers).json()
    assert again["total"] == 3
    staff = api.login("rfp.staff@state.example", "demo-password-2026")
    assert staff.agency_id is not None
    assert run_cli("verify-audit").returncode == 0
