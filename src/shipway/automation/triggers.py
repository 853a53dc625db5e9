"""What starts a loop's pipeline: its triggers, one small class per kind, registered by name,
and the decision of which are due (pure functions of the trigger, what the loop has seen and
the facts of now).

A trigger starts the loop's pipeline once per event:

- ``schedule:CRON``: each time the schedule passes (``0 3 * * 1``: Mondays at 03:00 UTC);
- ``dataset:NAME``: a new version of the dataset;
- ``alert:RULE``: an alert of that rule on the deployment (one that stays open does not start
  it again);
- ``labels:N``: N new labelled rows of the deployment's traffic since the last training.

A new kind is one class with ``@trigger_kind`` (its name, an example, its check and when it
is due) and its test; what it reads of the world comes in :class:`Facts`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from shipway.errors import InvalidArgument

MAX_LABELS = 10**12  # labels:N beyond this could never fire


@dataclass
class Seen:
    """What a loop has acted on, so each event starts it once (kept in the store)."""

    started_at: float  # when the loop was first seen: schedules count from here
    schedule_checked: float | None = None  # the last time its schedules were checked
    dataset_versions: dict[str, int] = field(default_factory=dict)
    alerts: set[int] = field(default_factory=set)
    labels_at_training: int = 0
    labels_until: float | None = None  # the newest label counted: later ones are new

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "schedule_checked": self.schedule_checked,
            "dataset_versions": dict(self.dataset_versions),
            "alerts": sorted(self.alerts),
            "labels_at_training": self.labels_at_training,
            "labels_until": self.labels_until,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seen:
        return cls(
            float(data["started_at"]),
            data.get("schedule_checked"),
            {str(k): int(v) for k, v in data.get("dataset_versions", {}).items()},
            {int(a) for a in data.get("alerts", [])},
            int(data.get("labels_at_training", 0)),
            data.get("labels_until"),
        )

    @classmethod
    def starting(cls, facts: Facts) -> Seen:
        """A new loop: what exists when it starts is not news (a dataset's current version,
        an alert already open, the labels already there); what comes after is."""
        return acted(cls(started_at=facts.now), facts)


@dataclass
class Facts:
    """The state of the world a controller round sees."""

    now: float
    dataset_versions: dict[str, int] = field(default_factory=dict)  # name -> newest version
    open_alerts: dict[str, list[int]] = field(default_factory=dict)  # rule -> alert ids
    labelled_rows: int = 0  # counted up from the loop's start (old labels expire, counts stay)
    newest_label: float | None = None  # when the newest label arrived


class TriggerKind:
    """One kind of trigger: ``name:VALUE`` in a loop's ``triggers``."""

    name: ClassVar[str]
    example: ClassVar[str]  # how the kind is written, for errors: ``schedule:CRON``

    def check(self, text: str, value: str) -> None:
        """Refuse a value this kind cannot act on (``text``: the whole trigger, for errors)."""

    def due(self, value: str, seen: Seen, facts: Facts) -> str | None:
        """Why the pipeline starts now (None: not due)."""
        raise NotImplementedError


KINDS: dict[str, TriggerKind] = {}


def trigger_kind(cls: type[TriggerKind]) -> type[TriggerKind]:
    """Register a kind by its name."""
    KINDS[cls.name] = cls()
    return cls


@trigger_kind
class ScheduleTrigger(TriggerKind):
    name, example = "schedule", "schedule:CRON"

    def check(self, text: str, value: str) -> None:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise InvalidArgument(
                f"trigger {text!r}: {value!r} is not a cron schedule",
                hint="five fields: minute hour day month weekday, e.g. 0 3 * * 1",
            )

    def due(self, value: str, seen: Seen, facts: Facts) -> str | None:
        from croniter import croniter

        since = seen.schedule_checked or seen.started_at
        passed = croniter(value, since).get_next(float)
        return f"the schedule passed at {passed:.0f}" if passed <= facts.now else None


@trigger_kind
class DatasetTrigger(TriggerKind):
    name, example = "dataset", "dataset:NAME"

    def due(self, value: str, seen: Seen, facts: Facts) -> str | None:
        newest = facts.dataset_versions.get(value)
        known = seen.dataset_versions.get(value)
        if newest is not None and (known is None or newest > known):
            return f"version {newest} is new"
        return None


@trigger_kind
class AlertTrigger(TriggerKind):
    name, example = "alert", "alert:RULE"

    def due(self, value: str, seen: Seen, facts: Facts) -> str | None:
        fresh = [a for a in facts.open_alerts.get(value, []) if a not in seen.alerts]
        return f"alert {min(fresh)} fired" if fresh else None


@trigger_kind
class LabelsTrigger(TriggerKind):
    name, example = "labels", "labels:N"

    def check(self, text: str, value: str) -> None:
        if not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_LABELS):
            raise InvalidArgument(
                f"trigger {text!r}: labels:N takes a whole number of rows from 1 to {MAX_LABELS:,}"
            )

    def due(self, value: str, seen: Seen, facts: Facts) -> str | None:
        new = facts.labelled_rows - seen.labels_at_training
        return f"{new} new labelled rows" if new >= int(value) else None


@dataclass(frozen=True)
class Trigger:
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Trigger:
        kind, colon, value = str(text).partition(":")
        if kind not in KINDS:
            near = difflib.get_close_matches(kind, list(KINDS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            examples = [k.example for k in KINDS.values()]
            raise InvalidArgument(
                f"unknown trigger {text!r}{hint}: use {', '.join(examples[:-1])} or {examples[-1]}"
            )
        value = value.strip()
        if not colon or not value:
            raise InvalidArgument(f"trigger {text!r} names no {kind}")
        KINDS[kind].check(text, value)
        return cls(kind, value)

    def due(self, seen: Seen, facts: Facts) -> str | None:
        why = KINDS[self.kind].due(self.value, seen, facts)
        return None if why is None else f"{self}: {why}"


class Triggered(Protocol):
    """What has triggers: a :class:`shipway.automation.loops.Loop`."""

    @property
    def triggers(self) -> tuple[Trigger, ...]: ...


def due(loop: Triggered, seen: Seen, facts: Facts) -> list[str]:
    """The triggers of ``loop`` that fire now, each said as why the pipeline starts."""
    return [why for trigger in loop.triggers if (why := trigger.due(seen, facts)) is not None]


def acted(seen: Seen, facts: Facts) -> Seen:
    """What the loop has seen once it started on ``facts``: no event starts it twice."""
    seen.schedule_checked = facts.now
    seen.dataset_versions.update(facts.dataset_versions)
    seen.alerts |= {a for ids in facts.open_alerts.values() for a in ids}
    seen.labels_at_training = facts.labelled_rows
    if facts.newest_label is not None:
        seen.labels_until = facts.newest_label
    return seen
