"""RFP templates: YAML files in rfp_templates/, validated when loaded."""

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from app.rfps.schemas import RfpTemplate
from scoring import rubric as rubric_math

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "rfp_templates"


class TemplateError(ValueError):
    pass


def load_template(path: Path) -> RfpTemplate:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        template = RfpTemplate.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise TemplateError(f"{path.name}: {exc}") from exc
    if template.key != path.stem:
        raise TemplateError(f"{path.name}: its key '{template.key}' must match the file name")
    # A template must be publishable as it stands, so its rubric is checked in full.
    problems = rubric_math.validate_rubric(template.rubric())
    if problems:
        raise TemplateError(f"{path.name}: " + " ".join(problems))
    return template


@lru_cache
def all_templates() -> dict[str, RfpTemplate]:
    templates = {}
    for path in sorted(TEMPLATES_DIR.glob("*.yaml")):
        template = load_template(path)
        templates[template.key] = template
    return templates
