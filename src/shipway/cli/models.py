"""``shipway models …``: the registry from the command line."""

from __future__ import annotations

import typer
from rich.markup import escape

from shipway.cli.common import JSON, full_model_uri, registry
from shipway.cli.output import console, emit_json, fmt_number, table, when
from shipway.types import ModelVersion, RegisteredModel

app = typer.Typer(
    help="The model registry: versions, stages, aliases, approvals, audit.", no_args_is_help=True
)
REASON = typer.Option("", "--reason", "-r", help="Why; written to the audit log.")


def _show_version(v: ModelVersion, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(v)
    else:
        console.print(
            f"{verb} [bold]{escape(v.name)}[/] version {v.version}: stage {v.stage.value}"
            + escape(f", aliases {', '.join(v.aliases)}" if v.aliases else "")
        )


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """List registered models with their production and staging versions."""
    found = registry().list_models()
    if as_json:
        emit_json([{"model": m, "versions": n, "stages": s} for m, n, s in found])
        return
    table(
        "registered models",
        ["name", "versions", "production", "staging", "approvals needed", "created (UTC)"],
        [
            (
                m.name,
                n,
                s.get("production"),
                s.get("staging"),
                m.required_approvals,
                when(m.created_at),
            )
            for m, n, s in found
        ],
    )


@app.command()
def show(name: str, as_json: bool = JSON) -> None:
    """Show a model's versions, stages, aliases and lineage."""
    reg = registry()
    model = reg.get_model(name)
    versions = reg.list_versions(name)
    if as_json:
        emit_json({"model": model, "versions": versions})
        return
    policy = f"{model.required_approvals} approval(s) for production" + (
        ", two-person rule" if model.two_person_rule else ""
    )
    if model.required_approvals:
        policy += f", unapproved as {', '.join(model.unapproved_strategies) or 'nothing'}"
    console.print(f"[bold]{escape(model.name)}[/]  policy: {escape(policy)}")
    rows = []
    for v in versions:
        metrics = ", ".join(
            f"{k}={fmt_number(x)}" for k, x in list(v.lineage.get("metrics", {}).items())[:3]
        )
        rows.append(
            (
                v.version,
                v.stage.value,
                ", ".join(v.aliases),
                v.created_by,
                when(v.created_at),
                (v.run_id or "")[:12],
                metrics,
            )
        )
    table(
        "versions", ["version", "stage", "aliases", "by", "created (UTC)", "run", "metrics"], rows
    )


@app.command()
def register(
    source: str = typer.Argument(..., help="A run id (or its unique prefix) or runs:/RUN_ID/PATH."),
    name: str = typer.Option(..., "--name", "-n", help="Registered model name."),
    description: str = typer.Option("", "--description", "-d"),
    as_json: bool = JSON,
) -> None:
    """Register a run's model as the next version of NAME."""
    found = registry().register(full_model_uri(source), name, description)
    _show_version(found, as_json, "registered")


@app.command()
def promote(
    name: str,
    version: int,
    to: str = typer.Option("production", "--to", help="none, staging, production or archived."),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Move a version to a stage (production archives the previous production version)."""
    _show_version(registry().promote(name, version, to, reason), as_json, "moved")


@app.command()
def archive(name: str, version: int, reason: str = REASON, as_json: bool = JSON) -> None:
    """Archive a version."""
    _show_version(registry().archive(name, version, reason), as_json, "archived")


@app.command()
def approve(
    name: str,
    version: int,
    comment: str = typer.Option("", "--comment", "-c"),
    as_json: bool = JSON,
) -> None:
    """Approve a version for production (counts toward the model's policy)."""
    approval = registry().approve(name, version, comment)
    if as_json:
        emit_json(approval)
    else:
        console.print(f"{escape(approval.user)} approved [bold]{escape(name)}[/] version {version}")


@app.command()
def alias(
    name: str,
    alias_name: str = typer.Argument(..., metavar="ALIAS"),
    version: int = typer.Argument(None, help="Version to point at (omit with --delete)."),
    delete: bool = typer.Option(False, "--delete", help="Remove the alias."),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Point an alias (champion, challenger …) at a version, or delete it."""
    reg = registry()
    if delete:
        reg.delete_alias(name, alias_name, reason)
        console.print(f"deleted alias {alias_name} of {name}", markup=False)
        return
    if version is None:
        from shipway.errors import InvalidArgument

        raise InvalidArgument("give the version the alias should point at, or --delete")
    _show_version(reg.set_alias(name, alias_name, version, reason), as_json, f"{alias_name} →")


@app.command()
def rollback(name: str, reason: str = REASON, as_json: bool = JSON) -> None:
    """Return production to the previous production version."""
    _show_version(registry().rollback(name, reason), as_json, "rolled back: production is")


@app.command()
def policy(
    name: str,
    approvals: int = typer.Option(..., "--approvals", help="Approvals required before production."),
    two_person: bool = typer.Option(
        False, "--two-person/--no-two-person", help="The registrant cannot approve."
    ),
    unapproved: str | None = typer.Option(
        None,
        "--unapproved",
        help="Strategies an unapproved version may run as a candidate in, comma-separated "
        "(default shadow,blue-green; 'none' for none).",
    ),
    reason: str = REASON,
) -> None:
    """Set a model's promotion policy: it guards the production stage and a deployment's
    stable version alike."""
    strategies = None
    if unapproved is not None:
        named = [s.strip() for s in unapproved.split(",") if s.strip()]
        strategies = () if named == ["none"] else tuple(named)
    model = registry().set_policy(
        name,
        required_approvals=approvals,
        two_person_rule=two_person,
        reason=reason,
        unapproved_strategies=strategies,
    )
    console.print(_policy_line(model), markup=False, soft_wrap=True)


def _policy_line(model: RegisteredModel) -> str:
    unapproved = ", ".join(model.unapproved_strategies) or "none"
    return (
        f"{model.name}: {model.required_approvals} approval(s) for production, two-person rule "
        f"{'on' if model.two_person_rule else 'off'}, unapproved versions may run as {unapproved}"
    )


@app.command()
def history(name: str, as_json: bool = JSON) -> None:
    """The audit log of a model: who changed what, when, from what to what, and why."""
    events = registry().history(name)
    if as_json:
        emit_json(events)
        return
    table(
        f"audit log of {name}",
        ["when (UTC)", "who", "action", "version", "from", "to", "why"],
        [
            (
                when(e.timestamp),
                e.actor,
                e.action,
                e.details.get("version", ""),
                e.from_value,
                e.to_value,
                e.reason,
            )
            for e in events
        ],
    )
