"""The documentation keeps up with the code: every public name has its API entry, every
command its line at a glance, and the README's links lead somewhere. (``make docs`` builds
the site with warnings as errors, which catches broken links between its pages.)"""

from __future__ import annotations

import re
from pathlib import Path

import shipway

ROOT = Path(__file__).parents[1]


def test_every_public_name_has_an_api_entry() -> None:
    api = (ROOT / "docs/reference/api.md").read_text()
    listed = set(re.findall(r"^::: shipway\.(\w+)$", api, flags=re.M))
    assert listed == set(shipway.__all__) - {"__version__"}


def test_every_command_has_its_line_at_a_glance() -> None:
    glance = (ROOT / "docs/reference/commands.md").read_text()
    import typer.main

    from shipway.cli.app import app

    command = typer.main.get_command(app)
    names = set(command.commands) - {"version"}  # type: ignore[attr-defined]
    missing = sorted(n for n in names if f"shipway {n}" not in glance)
    assert not missing, f"docs/reference/commands.md lacks {missing}"


def test_the_readme_is_a_front_door_whose_links_lead_somewhere() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 160
    assert "pip install" in readme and "make demo" in readme and "make test" in readme
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert len(links) >= 15
    broken = [link for link in links if not link.startswith("http") and not (ROOT / link).exists()]
    assert not broken


def test_every_guide_page_is_in_the_site() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages and all(page in nav for page in pages)


def test_the_cli_reference_is_generated_from_every_command() -> None:
    import importlib.util

    import typer.main

    from shipway.cli.app import app

    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "docs/hooks/cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = hook.on_page_markdown((ROOT / "docs/reference/cli.md").read_text())
    assert hook.MARKER not in page
    group = typer.main.get_command(app)
    for name, sub in group.commands.items():  # type: ignore[attr-defined]
        assert f"## `shipway {name}`" in page
        for inner in getattr(sub, "commands", {}):
            assert f"### `shipway {name} {inner}`" in page
    assert "--keep-running" in page and "--strategy" in page  # options, not only names
