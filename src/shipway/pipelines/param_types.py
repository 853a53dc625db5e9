"""Parameters checked against the type hints of the function that takes them, so that
``--param rows=abc`` for ``rows: int`` is one clear error before any step runs, not a
``TypeError`` deep inside a step (or a silent string where a number was meant).

Hints are read with pydantic: ``int``, ``float``, ``str``, ``bool``, ``list[int]``,
``Literal[...]``, ``X | None`` and the like are checked; a hint pydantic cannot check (a
DataFrame, a class of the user's) is left alone, as is a parameter with no hint.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Callable
from typing import Any

from shipway.errors import InvalidArgument


def hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """``fn``'s parameter hints, resolved; none when they cannot be."""
    try:
        found = typing.get_type_hints(fn)
    except Exception:  # a hint naming what its module cannot import: nothing to check by
        return {}
    found.pop("return", None)
    return found


@functools.lru_cache(maxsize=256)
def _adapter(hint: Any) -> Any:
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(hint)
    except Exception:  # pydantic has no schema for it (a DataFrame, a user's class)
        return None


def _adapter_for(hint: Any) -> Any:
    try:
        return _adapter(hint)
    except TypeError:  # an unhashable hint
        return None


def _shown(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def from_text(fn: Callable[..., Any], name: str, text: str) -> Any:
    """The value of ``--param name=text`` for ``fn``: read as its hint says when it has one
    (``5`` for ``rows: int``, the text itself for ``label: str``), else as JSON when it reads
    as JSON (5, 0.1, true, [1, 2]), else as text."""
    hint = hints(fn).get(name)
    adapter = _adapter_for(hint) if hint is not None else None
    if adapter is None:
        try:
            return json.loads(text)
        except ValueError:
            return text
    from pydantic import ValidationError

    for read in (adapter.validate_json, adapter.validate_python):
        try:
            return read(text)
        except (ValidationError, ValueError):
            continue
    raise InvalidArgument(
        f"--param {name}={text!r}: {name} is {_shown(hint)}",
        hint=f"give {name} a value of type {_shown(hint)}",
    )


def check(fn: Callable[..., Any], values: dict[str, Any], where: str) -> None:
    """Refuse a value that does not match its parameter's hint (``where`` names the step
    or pipeline in the message). Only plain values are checked: placeholders for other
    steps' outputs are skipped."""
    found = hints(fn)
    for name, value in values.items():
        hint = found.get(name)
        adapter = _adapter_for(hint) if hint is not None else None
        if adapter is None or _holds_placeholder(value):
            continue
        if not _fits(adapter, value):
            raise InvalidArgument(
                f"{where}: parameter {name!r} is {_shown(hint)}, not {value!r}",
                hint=f"pass {name} a value of type {_shown(hint)}",
            )


def _fits(adapter: Any, value: Any) -> bool:
    """Whether ``value`` is what the hint asks for: exactly, or up to a harmless widening
    (a list for a tuple, an int for a float), never text that would pass for a number."""
    from pydantic import ValidationError

    try:
        adapter.validate_python(value, strict=True)
        return True
    except ValidationError:
        if isinstance(value, (str, bytes)):
            return False
    try:
        adapter.validate_python(value)
        return True
    except ValidationError:
        return False


def _holds_placeholder(value: Any) -> bool:
    from shipway.pipelines.graph import Output

    if isinstance(value, Output):
        return True
    if isinstance(value, (list, tuple, set)):
        return any(_holds_placeholder(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_placeholder(v) for v in value.values())
    return False
