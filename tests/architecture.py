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


# Pages and routers call services and policies; the queries live in the domain's service.
QUERIES_FORBIDDEN_IN = ("app/web/*.py", "app/*/router.py")
QUERY_BUILDERS = {"select", "delete", "update", "insert"}
SESSION_QUERIES = {"get", "get_one", "exec", "execute", "scalar", "scalars", "query"}


def _query_builders_imported(tree: ast.Module) -> set[str]:
    """Local names of sqlmodel's and SQLAlchemy's statement builders imported here."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] in ("sqlmodel", "sqlalchemy")
        ):
            names.update(a.asname or a.name for a in node.names if a.name in QUERY_BUILDERS)
    return names


def _is_session(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id.endswith("session")


def direct_queries(path: Path) -> list[int]:
    """Lines that build a statement (`select(...)`) or query through a session
    (`session.get(Model, ...)`, `session.exec(...)`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    builders = _query_builders_imported(tree)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (isinstance(func, ast.Name) and func.id in builders) or (
            isinstance(func, ast.Attribute)
            and func.attr in SESSION_QUERIES
            and _is_session(func.value)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def _app_package(path: Path) -> str | None:
    """The package of app/ a file belongs to (`rfps`, `web`, `core`...); None for the
    top-level modules (`main.py`, `deps.py`, `__main__.py`), which assemble the packages."""
    parts = path.relative_to(ROOT / "app").parts
    return parts[0] if len(parts) > 1 else None


def _imported_app_packages(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The packages of app/ an import statement names (`app.rfps.service` names `rfps`)."""
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif node.level == 0 and node.module == "app":
        modules = [f"app.{alias.name}" for alias in node.names]
    elif node.level == 0 and node.module:
        modules = [node.module]
    else:
        return []  # relative: within its own package
    return [m.split(".")[1] for m in modules if m.startswith("app.")]


def local_imports_across_packages(path: Path) -> list[tuple[int, str]]:
    """Imports written inside a function body that reach another package of app/ (`core`,
    shared by all, aside): each line and the package it reaches."""
    own = _app_package(path)
    if own is None:
        return []  # the command line defers its imports so that `--help` starts fast
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[tuple[int, str]] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for package in _imported_app_packages(node):
                    if package not in (own, "core"):
                        found.add((node.lineno, package))
    return sorted(found)


def web_imports(path: Path) -> list[int]:
    """Lines of a package other than app/web that import app.web."""
    if _app_package(path) in (None, "web"):
        return []
    tree = ast.parse(path.read_text(), filename=str(path))
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and "web" in _imported_app_packages(node)
    )


def violations() -> list[str]:
    found: list[str] = []
    for path in sorted((ROOT / "scoring").rglob("*.py")):
        bad = _imports(path) & FORBIDDEN_IN_SCORING
        if bad:
            found.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}: scoring/ must stay pure")
    queried = {p for pattern in QUERIES_FORBIDDEN_IN for p in ROOT.glob(pattern)}
    for path in sorted((ROOT / "app").rglob("*.py")):
        name = path.relative_to(ROOT)
        if "create_all(" in path.read_text():
            found.append(f"{name} calls create_all: the schema comes from migrations")
        if not _role_rules_allowed(path):
            for line in role_checks(path):
                found.append(
                    f"{name}:{line} compares a role: authorization rules "
                    "live in the domain's policies.py"
                )
        if path in queried:
            for line in direct_queries(path):
                found.append(
                    f"{name}:{line} queries the database: pages and routers call the domain's "
                    "service (and its policies), which hold the queries"
                )
        for line, package in local_imports_across_packages(path):
            found.append(
                f"{name}:{line} imports app.{package} inside a function: import it at the top "
                "of the module; if that makes a cycle, move what both need to where it belongs"
            )
        for line in web_imports(path):
            found.append(
                f"{name}:{line} imports app.web: the domains know nothing of the pages; "
                "move what it needs out of app/web into the domain"
            )
    return found


if __name__ == "__main__":
    problems = violations()
    for line in problems:
        print(line)
    sys.exit(1 if problems else 0)
