"""Architecture rules `make lint` enforces (run as `python -m tests.architecture`)."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_SCORING = {
    "fastapi",
    "sqlmodel",
    "sqlalchemy",
    "starlette",
    "app",
    "jinja2",
    "weasyprint",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


# Where a rule about roles may be written: each domain's policies.py (and the tables and
# shapes that define the roles, and the demo data and command line that create accounts).
ROLE_RULES_ALLOWED = ("policies.py", "models.py", "schemas.py")
ROLE_RULES_ALLOWED_DIRS = ("demo",)


def _is_role(node: ast.expr) -> bool:
    """`x.role` or `Role.<member>`."""
    return isinstance(node, ast.Attribute) and (
        node.attr == "role" or (isinstance(node.value, ast.Name) and node.value.id == "Role")
    )


def role_checks(path: Path) -> list[int]:
    """Lines that decide something by comparing an account's role (outside policies.py)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Compare)
            and any(_is_role(operand) for operand in [node.left, *node.comparators])
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "require_roles"
            )
        ):
            lines.append(node.lineno)
    return sorted(lines)


def _role_rules_allowed(path: Path) -> bool:
    relative = path.relative_to(ROOT / "app")
    return (
        path.name in ROLE_RULES_ALLOWED
        or relative.parts[0] in ROLE_RULES_ALLOWED_DIRS
        or relative == Path("__main__.py")
    )


def violations() -> list[str]:
    found: list[str] = []
    for path in sorted((ROOT / "scoring").rglob("*.py")):
        bad = _imports(path) & FORBIDDEN_IN_SCORING
        if bad:
            found.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}: scoring/ must stay pure")
    for path in sorted((ROOT / "app").rglob("*.py")):
        if "create_all(" in path.read_text():
            found.append(
                f"{path.relative_to(ROOT)} calls create_all: the schema comes from migrations"
            )
        if not _role_rules_allowed(path):
            for line in role_checks(path):
                found.append(
                    f"{path.relative_to(ROOT)}:{line} compares a role: authorization rules "
                    "live in the domain's policies.py"
                )
    return found


if __name__ == "__main__":
    problems = violations()
    for line in problems:
        print(line)
    sys.exit(1 if problems else 0)
