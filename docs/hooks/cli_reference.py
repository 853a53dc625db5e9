"""MkDocs hook: the CLI reference, generated from the commands themselves when the site is
built, by typer's own Markdown generator (``typer shipway.cli.app utils docs``). A command
that cannot be documented fails the build rather than leaving the page short."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

MARKER = "<!-- every shipway command, generated -->"


def _generated() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "typer", "shipway.cli.app", "utils", "docs", "--name", "shipway"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines, fenced = [], False
    for line in done.stdout.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        # one level down, under the page's own title
        lines.append(f"#{line}" if line.startswith("#") and not fenced else line)
    return "\n".join(lines)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return markdown.replace(MARKER, _generated()) if MARKER in markdown else markdown
