"""``shipway tokens create|list|revoke``: API tokens for the server."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, table, when

app = typer.Typer(
    help="API tokens for `shipway server` (stored hashed; roles predict < viewer < editor < approver < admin, and labeller and server for services).",
    no_args_is_help=True,
)


def _tokens() -> Any:
    from shipway.session import current

    return current().tokens


@app.command()
def create(
    user: str = typer.Option(
        ..., "--user", "-u", help="Who the token acts as (written to the audit log)."
    ),
    role: str = typer.Option(
        "viewer",
        "--role",
        "-r",
        help="predict (model servers only), viewer, editor, approver or admin; labeller "
        "(labels any request) or server (a model server's or batch job's own identity).",
    ),
    as_json: bool = JSON,
) -> None:
    """Create a token; its secret is printed once, and only its hash is stored."""
    token, info = _tokens().create(user, role)
    if as_json:
        emit_json({"token": token, "token_id": info.token_id, "user": info.user, "role": info.role})
        return
    console.print(
        f"token for [bold]{escape(info.user)}[/] ({info.role}), id {info.token_id}; shown once, keep it secret:"
    )
    console.print(token, markup=False, highlight=False)


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """List tokens (never their secrets)."""
    found = _tokens().list()
    if as_json:
        emit_json(found)
        return
    table(
        "tokens",
        ["id", "user", "role", "created (UTC)", "revoked (UTC)"],
        [
            (
                t.token_id,
                t.user,
                t.role,
                when(t.created_at),
                when(t.revoked_at) if t.revoked_at else "",
            )
            for t in found
        ],
    )


@app.command()
def revoke(token_id: str) -> None:
    """Revoke a token at once."""
    _tokens().revoke(token_id)
    console.print(f"revoked {token_id}", markup=False)
