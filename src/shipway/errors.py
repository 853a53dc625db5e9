"""Every error a user can cause, in one tree.

ShipwayError                 base: a message that says what to fix, an exit code, an HTTP status
├── ConfigError              settings that cannot be used
├── InvalidArgument          a value of the wrong kind or shape
│   └── FilterSyntaxError    a search filter that does not parse (points at the token)
├── NotFound                 an experiment, run, model, version, alias or artifact that does not exist
├── AlreadyExists            a name that is taken
├── Conflict                 a write that contradicts what is stored (a param logged twice)
│   └── AnswerLost           a retried write that the server applied but never answered
├── PolicyViolation          a transition the model's policy forbids (missing approvals)
├── Unauthenticated          a server that needs a token got none, or an unknown one
├── Forbidden                a token whose role does not allow the operation
├── IntegrityError           stored bytes that no longer match their recorded hash
├── MissingDependency        an optional extra that is not installed
├── ModelRefusedInput        input the signature let in, but the model could not predict (422)
└── PlatformError            a fault of the platform, not of the caller (5xx)
    ├── StoreUnavailable     a store that cannot be reached (503)
    ├── NotReady             a deployment whose model is not loaded (yet) (503)
    └── ModelFailed          a model that raised while predicting (500)
"""

from __future__ import annotations

import importlib
from typing import Any


class ShipwayError(Exception):
    """Base of every error a user can cause; carries how to show itself.

    The command line exits 2 for a user's error (as click does for a usage error) and 3 for
    a platform failure; 1 stays free for a verdict, such as drift found or data invalid."""

    code = "SHIPWAY_ERROR"
    http_status = 400
    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self), "details": self.details}}


class ConfigError(ShipwayError):
    code = "CONFIG_ERROR"


class InvalidArgument(ShipwayError):
    code = "INVALID_ARGUMENT"


class UnsupportedMediaType(InvalidArgument):
    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


class FilterSyntaxError(InvalidArgument):
    code = "INVALID_FILTER"


class NotFound(ShipwayError):
    code = "NOT_FOUND"
    http_status = 404


class AlreadyExists(ShipwayError):
    code = "ALREADY_EXISTS"
    http_status = 409


class Conflict(ShipwayError):
    code = "CONFLICT"
    http_status = 409


class AnswerLost(Conflict):
    code = "ANSWER_LOST"


class PolicyViolation(ShipwayError):
    code = "POLICY_VIOLATION"
    http_status = 403


class Unauthenticated(ShipwayError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(ShipwayError):
    code = "FORBIDDEN"
    http_status = 403


class IntegrityError(ShipwayError):
    code = "INTEGRITY_ERROR"
    http_status = 409


class MissingDependency(ShipwayError):
    code = "MISSING_DEPENDENCY"

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this feature needs the optional package '{module}'",
            hint=f"install it with: pip install 'shipway[{extra}]'",
        )


class ModelRefusedInput(ShipwayError):
    """The values passed the signature's checks, but the model does not accept them."""

    code = "MODEL_REFUSED_INPUT"
    http_status = 422

    def __init__(self, name: str, version: int, exc: Exception) -> None:
        self.version = version
        super().__init__(
            f"{name} version {version} could not predict this input: {exc}",
            hint="the values passed the signature's checks, but the model does not accept them",
        )


class PlatformError(ShipwayError):
    """Not the caller's fault: something shipway runs is broken or not ready."""

    code = "PLATFORM_ERROR"
    http_status = 500
    exit_code = 3


class StoreUnavailable(PlatformError):
    code = "STORE_UNAVAILABLE"
    http_status = 503


class NotReady(PlatformError):
    code = "NOT_READY"
    http_status = 503

    def __init__(self, name: str, problem: str | None) -> None:
        super().__init__(f"deployment {name!r} is not ready" + (f": {problem}" if problem else ""))


class ModelFailed(PlatformError):
    code = "MODEL_FAILED"

    def __init__(self, name: str, version: int, exc: Exception) -> None:
        self.version = version
        super().__init__(
            f"{name} version {version} failed: {type(exc).__name__}: {exc}",
            hint="the model raised an error; the server log has its traceback",
        )


def require(module: str, extra: str) -> Any:
    """Import an optional dependency, or say which extra provides it."""

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module, extra) from exc
