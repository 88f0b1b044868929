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
    return found


if __name__ == "__main__":
    problems = violations()
    for line in problems:
        print(line)
    sys.exit(1 if problems else 0)
