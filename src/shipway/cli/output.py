"""Showing results: rich tables for people, JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shipway.types import json_number

# Piped into a file or a pager, rich would fold tables at 80 columns; a terminal (or
# COLUMNS) says its own width.
_PIPED = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(width=_PIPED)
errors = Console(stderr=True)


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def plain(obj: Any) -> Any:
    """A JSON-ready copy of records, enums and containers."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, float):  # JSON has no NaN or infinity: name them, as the API does
        return json_number(obj)
    return obj


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(plain(obj), indent=2, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    view = Table(title=title, header_style="bold", title_justify="left")
    for column in columns:
        view.add_column(column, overflow="fold")
    for row in rows:
        # Cells are plain text: a value such as "[check]" is not rich markup.
        view.add_row(
            *[v if isinstance(v, Text) else Text("-" if v is None else str(v)) for v in row]
        )
    console.print(view)


def fmt_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class _RichProgress:
    """A ``shipway.serving.batch.Progress`` drawn as a rich progress bar."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.task: Any = None

    def start(self, description: str, total: int) -> None:
        self.task = self.bar.add_task(description, total=total)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, advance=amount)


@contextmanager
def progress_bar() -> Iterator[_RichProgress]:
    """A progress bar on stderr for a long job; it disappears when the job is done."""
    from rich.progress import Progress

    with Progress(transient=True, console=errors) as bar:
        yield _RichProgress(bar)
