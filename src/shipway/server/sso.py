"""Signing in to the web UI through the team's identity provider: OpenID Connect's
authorization code flow with PKCE (authlib's client), the ID token's signature, issuer,
audience and nonce checked, and the provider's groups mapped to shipway's roles by
``[server.oidc] roles``. A signed-in user gets the same session cookie a token gives, holding
a signed, expiring record of who they are and their role instead of a token.

authlib and itsdangerous are the ``sso`` extra, imported only when ``[server.oidc]`` names an
issuer."""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse

from shipway.config import UI_ROLES, OidcSettings, ServerSettings
from shipway.errors import ConfigError
from shipway.server.auth import (
    SESSION_HOURS,
    SSO_PREFIX,
    Principal,
    set_session,
)

SECRET_ENV = "SHIPWAY_OIDC_CLIENT_SECRET"
LOG = logging.getLogger("shipway.server")
STATE_COOKIE = "shipway_sso_state"  # the flow's state, nonce and PKCE verifier, ten minutes


class SingleSignOn:
    """The provider's client, and the signer of the sessions it opens."""

    def __init__(self, settings: ServerSettings) -> None:
        try:
            from authlib.integrations.starlette_client import OAuth
            from itsdangerous import URLSafeTimedSerializer
        except ImportError:
            raise ConfigError(
                "[server.oidc] needs authlib",
                hint="pip install 'shipway[sso]'",
            ) from None
        oidc = settings.oidc
        secret = os.environ.get(SECRET_ENV, "")
        if not secret:
            raise ConfigError(
                f"[server.oidc] needs the client's secret in {SECRET_ENV}",
                hint="the identity provider shows it where the client was registered",
            )
        self.settings = oidc
        self.public_url = settings.public_url
        # One key for every worker, with nothing new to configure; a new client secret
        # signs everyone out.
        self.key = hashlib.sha256(b"shipway-sso\x00" + secret.encode()).hexdigest()
        self.signer = URLSafeTimedSerializer(self.key, salt="shipway-sso-session")
        self.oauth = OAuth()
        self.oauth.register(
            "provider",
            server_metadata_url=f"{(oidc.issuer or '').rstrip('/')}/.well-known/openid-configuration",
            client_id=oidc.client_id,
            client_secret=secret,
            client_kwargs={"scope": " ".join(oidc.scopes), "code_challenge_method": "S256"},
        )

    def session_value(self, user: str, role: str) -> str:
        return SSO_PREFIX + self.signer.dumps({"user": user, "role": role})

    def principal(self, value: str) -> Principal | None:
        """Who a session cookie names, or None when it is forged or expired."""
        from itsdangerous import BadSignature

        try:
            found = self.signer.loads(value.removeprefix(SSO_PREFIX), max_age=SESSION_HOURS * 3600)
        except BadSignature:
            return None
        return Principal(str(found["user"]), str(found["role"]))

    def role_for(self, groups: list[str]) -> str | None:
        """The highest role any of the user's groups maps to (else the default role)."""
        mapped = [self.settings.roles[g] for g in groups if g in self.settings.roles]
        if not mapped:
            return self.settings.default_role
        return max(mapped, key=UI_ROLES.index)


def _claims_groups(claims: dict[str, Any], claim: str) -> list[str]:
    """The user's groups: a list of names, or one name; anything else names no group."""
    found = claims.get(claim) or []
    if isinstance(found, str):
        return [found]
    if isinstance(found, list):
        return [str(g) for g in found if isinstance(g, str | int)]
    return []


def _back_to_page(error: str | None = None) -> RedirectResponse:
    target = "/" if error is None else f"/?sso_error={quote(error)}"
    return RedirectResponse(target, status_code=303)


router = APIRouter(include_in_schema=False)


def _sso(request: Request) -> SingleSignOn:
    sso: SingleSignOn | None = request.app.state.sso
    assert sso is not None  # these routes exist only where single sign-on is set
    return sso


@router.get("/ui/sso/login")
async def login(request: Request) -> Any:
    """Off to the provider, with state, nonce and a PKCE challenge."""
    sso = _sso(request)
    base = (sso.public_url or str(request.base_url)).rstrip("/")
    client = sso.oauth.create_client("provider")
    return await client.authorize_redirect(request, f"{base}/ui/sso/callback")


@router.get("/ui/sso/callback")
async def callback(request: Request) -> Any:
    """Back from the provider: the code exchanged, the ID token checked, the role found."""
    from authlib.integrations.base_client import OAuthError

    sso = _sso(request)
    client = sso.oauth.create_client("provider")
    try:
        token = await client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})  # the ID token's, checked by authlib
        if sso.settings.groups_claim not in claims:  # some providers keep groups for userinfo
            more = dict(await client.userinfo(token=token))
            if more.get("sub") != claims.get("sub"):  # OpenID Connect Core 5.3.2
                return _back_to_page(
                    "the provider's user info names another user than its ID token"
                )
            claims.update({k: v for k, v in more.items() if k not in claims})
    except OAuthError as exc:  # a bad state, a nonce or signature that does not hold, a refusal
        return _back_to_page(f"the sign-in was refused: {exc.description or exc.error}")
    except Exception as exc:  # the provider unreachable or failing: its client raises its own
        LOG.warning("single sign-on: the identity provider failed: %s", exc)
        return _back_to_page(
            f"the identity provider did not answer the sign-in ({type(exc).__name__})"
        )
    user = str(claims.get(sso.settings.user_claim) or claims.get("sub") or "")
    groups = _claims_groups(claims, sso.settings.groups_claim)
    role = sso.role_for(groups)
    if not user or role is None:
        shown = ", ".join(groups) or "none"
        return _back_to_page(
            f"{user or 'this user'} is in no group that maps to a shipway role (groups: {shown}); "
            "ask an admin to map one in [server.oidc] roles"
        )
    response = _back_to_page()
    set_session(request, response, sso.session_value(user, role))
    return response


def install(app: FastAPI, settings: ServerSettings) -> None:
    """Single sign-on where ``[server.oidc]`` names an issuer; ``app.state.sso`` either way."""
    app.state.sso = None
    oidc: OidcSettings = settings.oidc
    if not oidc.issuer:
        return
    from starlette.middleware.sessions import SessionMiddleware

    sso = SingleSignOn(settings)
    app.state.sso = sso
    # The flow's state travels in its own signed cookie; Lax, since the provider sends the
    # browser back from another site.
    app.add_middleware(
        SessionMiddleware,
        secret_key=sso.key,
        session_cookie=STATE_COOKIE,
        max_age=600,
        same_site="lax",
        https_only=bool(settings.public_url and settings.public_url.startswith("https://")),
    )
    app.include_router(router)
