"""Request bodies as JSON, refusing what the parser cannot take with an error that says why."""

from __future__ import annotations

import json
from typing import Any

from shipway.errors import InvalidArgument


def parse_json(raw: bytes | str, what: str = "the body") -> Any:
    """``raw`` as JSON: a 400 for text that is not JSON, nested too deep to parse, or NUL-laden."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise InvalidArgument(
            f"{what} is nested too deeply to read", hint="send a flatter JSON document"
        ) from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise InvalidArgument(f"{what} is not JSON: {exc}") from None
