"""What every command needs: the settings-resolved context."""

from __future__ import annotations

from typing import Any

import typer

JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def tracking() -> Any:
    from shipway.session import current

    return current().tracking


def registry() -> Any:
    from shipway.session import current

    return current().registry
