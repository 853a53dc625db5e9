"""HTTP to ``shipway server``: the token, retries with backoff, and errors back into ShipwayErrors.

Every write carries a fresh ``Idempotency-Key`` and its retries carry the same one, so the
server answers a retry with the first answer: a response lost on the way never doubles a
metric or a model version. Connection errors, timeouts and 502/503/504 are retried with
exponential backoff and jitter; a 409 ``REQUEST_IN_PROGRESS`` is waited out for up to
``in_progress_seconds`` (its server renews its claim while it works, and a dead server's
claim lapses within seconds). Any other error is the server's verdict and is raised at once
as the same ShipwayError the local store raises.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from shipway import errors
from shipway.errors import PlatformError, ShipwayError, StoreUnavailable

API = "/api/v1"
_RETRY_STATUS = {502, 503, 504}
_RETRY_ERRORS = (httpx.TransportError,)  # connect, read, write, timeouts, protocol errors
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class RemoteError(ShipwayError):
    """An error the server reported whose code this client does not know."""

    def __init__(self, code: str, message: str, status: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.code = code
        self.http_status = status


def _error_classes() -> dict[str, type[ShipwayError]]:
    found: dict[str, type[ShipwayError]] = {}
    pending: list[type[ShipwayError]] = [ShipwayError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


class Transport:
    """One connection pool to one server."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        retries: int = 8,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        timeout: float = 60.0,
        client: httpx.Client | None = None,
        in_progress_seconds: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"user-agent": "shipway-client"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.http = client or httpx.Client(
            base_url=self.url + API, headers=headers, timeout=httpx.Timeout(timeout, connect=10.0)
        )
        if client is not None:
            self.http.headers.update(headers)
        self.retries = retries
        self.in_progress_seconds = in_progress_seconds
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._codes = _error_classes()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        answer_optional: bool = False,
    ) -> httpx.Response:
        """Send, retrying what can be retried; ``content`` makes a fresh body for each attempt.

        A write carries ``idempotency_key`` (a fresh one by default): whoever sends the same
        request again later passes the same key. With ``answer_optional`` (writes whose
        answer the caller does not read), a write the server applied but could not answer
        counts as done."""
        sent_headers = dict(headers or {})
        if method in _WRITES:
            sent_headers["idempotency-key"] = idempotency_key or uuid.uuid4().hex
        last: Exception | None = None
        attempt, tries = 0, 0
        waiting_since: float | None = None  # while the first request with the key still runs
        while attempt <= self.retries:
            tries += 1
            try:
                response = self.http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    content=content() if content is not None else None,
                    headers=sent_headers,
                )
            except _RETRY_ERRORS as exc:
                last = exc
                self._pause(attempt, None)
                attempt += 1
                continue
            if response.status_code == 409 and _code(response) == "REQUEST_IN_PROGRESS":
                # Not a failure: its server holds the claim, or it lapses within its lease.
                waiting_since = waiting_since or time.monotonic()
                last = self._error(response)
                if time.monotonic() - waiting_since < self.in_progress_seconds:
                    self._pause(0, response.headers.get("retry-after"))
                    continue
                attempt = self.retries + 1
                continue
            if self._retryable(response):
                last = self._error(response)
                self._pause(attempt, response.headers.get("retry-after"))
                attempt += 1
                continue
            if response.is_error:
                if answer_optional and _code(response) == errors.AnswerLost.code:
                    return response
                raise self._error(response)
            return response
        raise StoreUnavailable(
            f"the shipway server at {self.url} did not answer after {tries} tries: {last}",
            hint="check that `shipway server` runs there and that SHIPWAY_TRACKING_URI is right",
        )

    def stream(self, path: str) -> Any:
        """A streamed GET (the caller closes it), with the same retries for the connection."""
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                response = self.http.send(self.http.build_request("GET", path), stream=True)
            except _RETRY_ERRORS as exc:
                last = exc
                self._pause(attempt, None)
                continue
            if response.is_error:
                response.read()
                response.close()
                if self._retryable(response):
                    last = self._error(response)
                    self._pause(attempt, response.headers.get("retry-after"))
                    continue
                raise self._error(response)
            return response
        raise StoreUnavailable(f"the shipway server at {self.url} did not answer: {last}")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    def json_object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """An answer that is a JSON object (a server that says otherwise is a platform error)."""
        found = self.json(method, path, **kwargs)
        if not isinstance(found, dict):
            raise PlatformError(f"{method} {path}: the server answered {type(found).__name__}")
        return found

    def close(self) -> None:
        self.http.close()

    # -- helpers -----------------------------------------------------------------------
    def _retryable(self, response: httpx.Response) -> bool:
        return response.status_code in _RETRY_STATUS or (
            response.status_code == 409 and _code(response) == "REQUEST_IN_PROGRESS"
        )

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        if attempt >= self.retries:
            return
        delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = max(delay, min(float(retry_after), self.max_backoff))
        time.sleep(delay)  # backoff between retries, not a timing assumption

    def _error(self, response: httpx.Response) -> ShipwayError:
        try:
            body = response.json()["error"]
            code, message, details = body["code"], body["message"], body.get("details")
        except (ValueError, KeyError, TypeError):  # no error body (a HEAD, a proxy's page)
            by_status = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}
            code = by_status.get(response.status_code, "HTTP_ERROR")
            message, details = response.text[:500] or response.reason_phrase, None
        cls = self._codes.get(code)
        if cls is None or cls is errors.MissingDependency:
            return RemoteError(code, message, response.status_code, details)
        error = cls.__new__(cls)
        ShipwayError.__init__(error, message, details=details)
        return error


def _code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None
