"""Single sign-on to the web UI through an OpenID Connect provider the test starts
(oidc-provider-mock), in Debian's Chromium: the provider's groups decide the role, a user
in no mapped group is refused with a reason, the role holds at the API, the session is the
same HttpOnly cookie a token gives, and a forged session is refused."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipway.config import OidcSettings, ServerSettings, Settings
from tests.client.conftest import LiveServer
from tests.ui.conftest import chromium

USERS = {
    "alice": {"email": "alice@example.com", "groups": ["staff", "ml-approvers"]},
    "bob": {"email": "bob@example.com", "groups": ["staff"]},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    with run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def server(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("sso")
    settings = Settings.resolve({"home": root / "home", "user": "tester"}, environ={}, cwd=root)
    oidc = OidcSettings(
        issuer=provider,
        client_id="shipway",
        name="Example ID",
        scopes=("openid", "email", "profile", "groups"),
        roles={"ml-approvers": "approver", "ml-admins": "admin"},
    )
    settings = dataclasses.replace(settings, server=ServerSettings(oidc=oidc))
    os.environ["SHIPWAY_OIDC_CLIENT_SECRET"] = "the-client-secret"
    try:
        live = LiveServer(settings)
        yield live
        live.stop()
    finally:
        del os.environ["SHIPWAY_OIDC_CLIENT_SECRET"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


def _sign_in(browser: Any, server: LiveServer, sub: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(server.url + "/")
    page.click("text=Sign in with Example ID")
    page.fill("input[name=sub][type=text]", sub)  # the provider's own form
    page.click("button:text('Authorize')")
    page.wait_for_url(f"{server.url}/**")
    return page


def test_a_user_signs_in_with_the_providers_group_as_role(browser: Any, server: LiveServer) -> None:
    page = _sign_in(browser, server, "alice")
    page.wait_for_selector(".who >> text=alice@example.com · approver")
    assert "code=" not in page.url and "token" not in page.url
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["shipway_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    refused = page.evaluate(
        """async () => {
            const session = await (await fetch('/ui/session')).json();
            const answer = await fetch('/api/v1/tokens', {method: 'POST',
                headers: {'content-type': 'application/json', 'x-shipway-csrf': session.csrf},
                body: JSON.stringify({user: 'mallory', role: 'admin'})});
            return [answer.status, (await answer.json()).error.message];
        }"""
    )
    assert refused[0] == 403 and "this needs the admin role" in refused[1]
    with httpx.Client(base_url=server.url) as http:  # the same cookie outside the browser
        http.cookies.set("shipway_session", session["value"])
        assert http.get("/api/v1/me").json()["user"] == "alice@example.com"
        forged = session["value"][:-4] + (
            "AAAA" if not session["value"].endswith("AAAA") else "BBBB"
        )
        http.cookies.set("shipway_session", forged)
        assert http.get("/api/v1/me").status_code == 401


def test_a_user_in_no_mapped_group_is_refused_with_the_reason(
    browser: Any, server: LiveServer
) -> None:
    page = _sign_in(browser, server, "bob")
    error = page.locator("[role=alert]")
    error.wait_for()
    assert (
        "bob@example.com is in no group that maps to a shipway role (groups: staff)"
        in error.inner_text()
    )
    assert page.locator("#token").count() == 1  # still at the sign-in page
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/api/v1/experiments").status_code == 401  # the server is not open


def test_a_server_with_single_sign_on_needs_its_secret(
    tmp_path: Any, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipway.errors import ConfigError
    from shipway.server.app import create_app

    monkeypatch.delenv("SHIPWAY_OIDC_CLIENT_SECRET", raising=False)
    settings = Settings.resolve({"home": tmp_path / "home"}, environ={}, cwd=tmp_path)
    oidc = OidcSettings(issuer=provider, client_id="shipway")
    with pytest.raises(ConfigError, match="SHIPWAY_OIDC_CLIENT_SECRET"):
        create_app(dataclasses.replace(settings, server=ServerSettings(oidc=oidc)))


def test_a_callback_that_matches_no_sign_in_is_refused_with_the_reason(
    browser: Any, server: LiveServer
) -> None:
    """A callback whose state matches nothing (a replayed or forged link) is refused, with
    the reason on the sign-in page, not a 500."""
    page = browser.new_context().new_page()
    page.goto(f"{server.url}/ui/sso/callback?code=stolen&state=forged")
    error = page.locator("[role=alert]")
    error.wait_for()
    assert "the sign-in was refused" in error.inner_text()
    assert page.locator(".who").count() == 0
