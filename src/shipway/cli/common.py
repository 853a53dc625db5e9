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


def full_run_id(run_id: str) -> str:
    """The full run id from a unique prefix (``runs list`` shows 12 characters)."""
    from shipway.errors import InvalidArgument

    if len(run_id) == 32 or not run_id:
        return run_id
    pattern = run_id.replace("'", "").replace("%", "").replace("_", "")
    if pattern != run_id:
        return run_id  # not an id: the verb says it does not exist
    found = tracking().search_runs(
        None, f"attributes.run_id LIKE '{pattern}%'", None, 2, output="list"
    )
    if len(found) == 1:
        return str(found[0].run_id)
    if not found:
        return run_id  # the verb says it does not exist
    raise InvalidArgument(f"run id prefix {run_id!r} is ambiguous", hint="give more characters")


def full_model_uri(source: str) -> str:
    """``runs:/PREFIX/PATH`` or a bare run-id prefix with the run's full id in it."""
    if source.startswith("runs:/"):
        run_id, slash, path = source.removeprefix("runs:/").partition("/")
        return f"runs:/{full_run_id(run_id)}{slash}{path}"
    if "/" in source or ":" in source:
        return source
    return full_run_id(source)
