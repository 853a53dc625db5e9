"""The ``shipway`` command as a click command, for the documentation's CLI reference
(``mkdocs-click`` reads its commands, options and help from here, so the reference is
generated from the commands themselves and cannot drift from them)."""

from __future__ import annotations

import typer.main

from shipway.cli.app import app

command = typer.main.get_command(app)
__all__ = ["command"]
