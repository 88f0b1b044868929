from pathlib import Path

from tests.architecture import role_checks, violations


def test_scoring_is_pure_and_schema_comes_from_migrations() -> None:
    assert violations() == []


def test_the_lint_finds_role_comparisons_outside_policies(tmp_path: Path) -> None:
    service = tmp_path / "service.py"
    service.write_text(
        "def f(user):\n"
        "    if user.role != Role.partner:\n"
        "        raise Forbidden()\n"
        "    return user.role in (Role.agency_staff,)\n"
        "def g(user):\n"
        "    return is_partner(user)\n"
    )
    assert role_checks(service) == [2, 4]
