"""``shipway server``: the control plane (REST API, health, metrics) on uvicorn."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import threading
import time
import webbrowser

import typer

from shipway.cli.output import console
from shipway.errors import InvalidArgument


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Worker processes (use PostgreSQL for more than one)."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="Allow binding beyond loopback without authentication."
    ),
    monitor_every: float = typer.Option(
        None,
        "--monitor-every",
        min=0,
        help="Minutes between monitoring rounds (default 5, or [monitoring] in shipway.toml; 0: off).",
    ),
) -> None:
    """Run the web UI (``/``), the REST API (``/api/v1``, OpenAPI at ``/api/v1/openapi.json``),
    health checks and metrics."""
    run_server(host, port, workers, insecure, monitor_every)


def ui(
    port: int = typer.Option(5000, "--port", min=0, max=65535, help="Port to listen on."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the UI in a browser."),
) -> None:
    """The web UI on this folder's store, served on loopback, opened in a browser."""
    run_server("127.0.0.1", port, 1, False, None, open_browser=browser)


def run_server(
    host: str,
    port: int,
    workers: int,
    insecure: bool,
    monitor_every: float | None,
    open_browser: bool = False,
) -> None:
    from shipway.config import Settings
    from shipway.session import Session

    settings = Settings.resolve()
    if settings.is_remote:
        raise InvalidArgument(
            f"SHIPWAY_TRACKING_URI is {settings.store.tracking_uri}, another server",
            hint="a server keeps its data in a database: point SHIPWAY_TRACKING_URI at one",
        )
    session = Session(settings)
    try:
        authenticated = session.tokens.any_active() or bool(settings.server.oidc.issuer)
    finally:
        session.close()  # the server opens its own
    if not is_loopback(host) and not authenticated and not insecure:
        raise InvalidArgument(
            f"refusing to serve on {host} without authentication",
            hint="create a token with `shipway tokens create`, bind to 127.0.0.1, or pass --insecure",
        )
    if workers > 1 and settings.metadata_url.startswith("sqlite"):
        raise InvalidArgument(
            "several workers need a PostgreSQL metadata store",
            hint="set SHIPWAY_TRACKING_URI=postgresql://…",
        )
    from shipway.server.runner import check_listen

    check_listen(host, port)  # in use or not ours: one line now, not a traceback later
    url = f"http://{'localhost' if is_loopback(host) else host}:{port}/"
    console.print(
        f"shipway server on http://{host}:{port}  (metadata {settings.metadata_url}, artifacts {settings.artifact_root})",
        markup=False,
    )
    console.print(f"the UI: {url}", markup=False)
    if open_browser:
        threading.Thread(target=_open_when_up, args=(host, port, url), daemon=True).start()

    from shipway.config import RESOLVED_ENV
    from shipway.server.runner import serve

    if monitor_every is not None:
        monitoring = dataclasses.replace(settings.monitoring, interval_minutes=monitor_every)
        settings = dataclasses.replace(settings, monitoring=monitoring)
    os.environ[RESOLVED_ENV] = settings.to_json()  # what the workers serve by

    serve("shipway.server.main:app", host=host, port=port, workers=workers, log_level="warning")


def _open_when_up(host: str, port: int, url: str) -> None:
    """Open the browser once the server accepts connections (for a minute at most)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                webbrowser.open(url)
                return
        except OSError:
            time.sleep(0.2)
