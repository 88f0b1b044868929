"""Notice bodies from Jinja2 templates: each kind's template (`<kind>.jinja`, extending the
`layout` it is given) names its subject, heading, opening, button and why-you-get-this; one
layout per format (`_email.txt`, `_email.html`) puts them around the facts."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache
def _environment(html: bool) -> Environment:
    # Two environments over the same files: the HTML one escapes every value, the text one
    # leaves them as written. StrictUndefined: a template naming a missing fact fails loudly.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,  # noqa: S701 - the text part is plain text, never shown as HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(context))).strip()


def render(kind: str, context: dict[str, Any]) -> Rendered:
    """Subject, plain text and HTML of a notice; `context` holds `name`, `link`, `facts`
    (label and value pairs) and what the kind's template names."""
    values = {"facts": [], **context}
    text_template = _environment(False).get_template(f"{kind}.jinja")
    subject = " ".join(_block(text_template, "subject", values).split())
    text = text_template.render(layout="_email.txt", **values)
    html = _environment(True).get_template(f"{kind}.jinja").render(layout="_email.html", **values)
    return Rendered(subject=subject[:300], text=text, html=html)
