from pathlib import Path

import pytest

import tests.architecture as architecture
from tests.architecture import (
    direct_queries,
    local_imports_across_packages,
    role_checks,
    violations,
    web_imports,
)


def test_the_code_keeps_every_architecture_rule() -> None:
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


def test_the_lint_finds_queries_in_pages_and_routers(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text(
        "from sqlmodel import select\n"
        "def f(session, form, user):\n"
        "    rfp = session.get(Rfp, form.get('rfp_id'))\n"
        "    rows = session.exec(select(Proposal)).all()\n"
        "    return rfp_service.get_visible(session=session, user=user, rfp_id=rfp.id), rows\n"
    )
    assert direct_queries(page) == [3, 4, 4]


def _module(root: Path, relative: str, text: str) -> Path:
    path = root / "app" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_lint_finds_function_local_imports_across_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(architecture, "ROOT", tmp_path)
    policies = _module(
        tmp_path,
        "proposals/policies.py",
        "from app.rfps import policies as rfp_policies\n"
        "def f(user):\n"
        "    from app.reviews import policies\n"
        "    from app.core.errors import NotFound\n"
        "    from app.proposals.models import Proposal\n"
        "    import app.schools.service\n"
        "    return policies, NotFound, Proposal, rfp_policies\n",
    )
    assert local_imports_across_packages(policies) == [(3, "reviews"), (6, "schools")]
    command_line = _module(tmp_path, "__main__.py", "def f():\n    from app.ops import backup\n")
    assert local_imports_across_packages(command_line) == []


def test_the_lint_finds_domains_importing_the_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(architecture, "ROOT", tmp_path)
    credentials = _module(
        tmp_path,
        "accounts/credentials.py",
        "from app.web.models import WebSession\nfrom app import web\nfrom app.core import db\n",
    )
    assert web_imports(credentials) == [1, 2]
    pages = _module(tmp_path, "web/pages.py", "from app.web import sessions\n")
    assert web_imports(pages) == []
    assembly = _module(tmp_path, "main.py", "from app.web.router import router\n")
    assert web_imports(assembly) == []
