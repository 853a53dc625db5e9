"""Monitoring through ``shipway server``: the server reads the log and judges the windows.
With no rules it applies its own ``[[alerts]]`` as in its rounds (alerts, sinks, actions);
rules sent from here only check, their verdicts in each report's ``extra["rules"]``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from shipway.client.deployments import seg, transport_of
from shipway.errors import InvalidArgument
from shipway.services import MonitoringBackend
from shipway.session import Session
from shipway.types import Alert, WindowReport, from_plain


class RemoteMonitoring(MonitoringBackend):
    def __init__(self, session: Session) -> None:
        self.transport = transport_of(session)

    def monitor(
        self,
        deployment: str,
        *,
        window: str | int = "day",
        label: str | None = None,
        rules: Sequence[Any] | None = None,
        replay: bool = False,
        reference: Any = None,
        sensitive: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
        source: str = "auto",
    ) -> list[WindowReport]:
        if rules is not None and len(rules) == 0:  # judge and read, nothing else: a viewer may
            params = self._params(window, label, reference, sensitive, start, end, source)
            found = self.transport.json(
                "GET", f"/monitoring/{seg(deployment)}/windows", params=params
            )
            return [from_plain(WindowReport, r) for r in found]
        body = {
            "window": str(window),
            "label": label,
            "rules": None if rules is None else [_rule(r) for r in rules],
            "replay": replay,
            "reference": _reference(reference),
            "sensitive": list(sensitive) if sensitive is not None else None,
            "from": None if start is None else str(start),
            "to": None if end is None else str(end),
            "source": source,
        }
        found = self.transport.json("POST", f"/monitoring/{seg(deployment)}/evaluate", json=body)
        return [from_plain(WindowReport, r) for r in found]

    def report(
        self,
        deployment: str,
        *,
        window: str | int = "day",
        label: str | None = None,
        reference: Any = None,
        sensitive: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
        source: str = "auto",
    ) -> str:
        params = self._params(window, label, reference, sensitive, start, end, source)
        path = f"/monitoring/{seg(deployment)}/report"
        return self.transport.request("GET", path, params=params).text

    @staticmethod
    def _params(
        window: str | int,
        label: str | None,
        reference: Any,
        sensitive: Sequence[str] | None,
        start: float | None,
        end: float | None,
        source: str,
    ) -> dict[str, Any]:
        """The query of the read routes (windows, report): what a viewer may ask."""
        params: dict[str, Any] = {"window": str(window), "source": source}
        given = {"label": label, "reference": _reference(reference), "from": start, "to": end}
        for key, value in given.items():
            if value is not None:
                params[key] = str(value)
        if sensitive:
            params["sensitive"] = list(sensitive)
        return params

    def run_round(self, *, replay: bool = False) -> list[Alert]:
        params = {"replay": "true"} if replay else None
        found = self.transport.json("POST", "/monitoring/rounds", params=params)
        return [from_plain(Alert, a) for a in found]


def _rule(rule: Any) -> dict[str, Any]:

    is_record = dataclasses.is_dataclass(rule) and not isinstance(rule, type)
    data = dataclasses.asdict(rule) if is_record else dict(rule)
    data["sinks"] = list(data.get("sinks", ["log"]))
    return data


def _reference(reference: Any) -> str | None:
    if reference is None or isinstance(reference, str):
        return reference
    raise InvalidArgument(
        "through a server, a reference is a logged dataset NAME@VERSION",
        hint="log the frame with sw.log_dataset(name, frame) and pass 'name@version'",
    )
