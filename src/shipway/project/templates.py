"""The files of a new project, rendered from ``templates/*.tmpl`` (``$name`` placeholders)."""

from __future__ import annotations

from importlib import resources
from string import Template


def render(template: str, **values: str) -> str:
    """``templates/TEMPLATE.tmpl`` with every placeholder filled (a missing one is a bug)."""
    text = (
        resources.files("shipway.project")
        .joinpath(f"templates/{template}.tmpl")
        .read_text(encoding="utf-8")
    )
    return Template(text).substitute(values)
