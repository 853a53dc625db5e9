"""Checks on keys and values, done before anything is written."""

from __future__ import annotations

import math
import re
from typing import Any

from shipway.errors import InvalidArgument

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
_KEY = re.compile(r"^[A-Za-z0-9_\-. /:]+$")


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidArgument(f"{what} name must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY:
        raise InvalidArgument(f"{what} name {key[:40]!r}… is longer than {MAX_KEY} characters")
    if not _KEY.match(key) or ".." in key.split("/") or key.startswith("/"):
        raise InvalidArgument(
            f"{what} name {key!r} has characters that are not allowed",
            hint="use letters, digits, spaces and _ - . / :",
        )
    return key


def check_metric_value(key: str, value: Any) -> float:
    """A metric's value as a float; NaN and infinities are values too (a diverging loss must
    not end the run), and so are their JSON spellings "NaN", "Infinity" and "-Infinity"."""
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"metric {key!r} must be a number, got {value!r}") from exc


NON_FINITE = ("NaN", "Infinity", "-Infinity")  # how JSON, which has no such numbers, spells them


def check_timestamp(value: Any) -> float:
    """A time in seconds since the epoch: a finite, non-negative number."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"a timestamp is a number of seconds, got {value!r}") from exc
    if not math.isfinite(number) or number < 0:
        raise InvalidArgument(f"a timestamp is a finite, non-negative number, got {value!r}")
    return number


def check_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        try:
            if float(step) != int(step):
                raise ValueError
            step = int(step)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"step must be a whole number, got {step!r}") from exc
    if not -(2**63) <= step < 2**63:
        raise InvalidArgument(f"step {step} does not fit in 64 bits")
    return int(step)


def check_text(value: Any, what: str, limit: int = MAX_TAG_VALUE) -> str:
    """Free text (a name, a reason, a comment): at most ``limit`` characters, and no NUL, which
    PostgreSQL cannot store, so both stores refuse it alike."""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise InvalidArgument(f"{what} contains a NUL character (\\x00)", hint="remove it")
    if len(text) > limit:
        raise InvalidArgument(f"{what} is longer than {limit:,} characters")
    return text


def param_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise InvalidArgument(f"param {key!r} contains a NUL character (\\x00)", hint="remove it")
    if len(text) > MAX_PARAM_VALUE:
        raise InvalidArgument(
            f"param {key!r} is longer than {MAX_PARAM_VALUE} characters",
            hint="log it as an artifact instead",
        )
    return text


def tag_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise InvalidArgument(f"tag {key!r} contains a NUL character (\\x00)", hint="remove it")
    if len(text) > MAX_TAG_VALUE:
        raise InvalidArgument(f"tag {key!r} is longer than {MAX_TAG_VALUE} characters")
    return text


def as_number(text: str) -> float | None:
    """The param's numeric value, so filters can compare params that hold numbers."""
    if text.strip().lower() in (
        "nan",
        "inf",
        "-inf",
        "+inf",
        "infinity",
        "-infinity",
        "true",
        "false",
    ):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
