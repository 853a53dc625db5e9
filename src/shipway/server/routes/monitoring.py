"""``/api/v1/monitoring`` and ``/api/v1/alerts``: a deployment's windows as JSON or as the HTML
report, and its alerts, listed, acknowledged and resolved."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from shipway.errors import Forbidden
from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, many, one, plain, session
from shipway.server.schemas import ERROR_RESPONSES, ErrorBody, MonitorIn
from shipway.types import Alert

router = APIRouter(tags=["monitoring"])
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]

WINDOW = Query("day", description="hour, day, or a number of rows")
FROM = Query(None, alias="from", description="only traffic from this time (ISO or epoch seconds)")
TO = Query(None, alias="to", description="only traffic before this time (ISO or epoch seconds)")
LABEL = Query(None, description="the training data's label column (default: [monitoring] labels)")
SENSITIVE = Query(None, description="columns to compare groups of for fairness (repeatable)")
SOURCE = Query("auto", description="auto (profiles where they exist) or rows")
REFERENCE = Query(
    None,
    description="a logged dataset NAME@VERSION (default: [monitoring] reference, or the training data)",
)


def _options(
    window: str,
    start: str | None,
    end: str | None,
    label: str | None,
    sensitive: list[str] | None,
    source: str,
    reference: str | None,
) -> dict[str, Any]:
    from shipway.monitoring.service import parse_time

    return {
        "window": window,
        "label": label,
        "sensitive": tuple(sensitive) if sensitive else None,
        "start": parse_time(start),
        "end": parse_time(end),
        "source": source,
        "reference": reference,
    }


@router.get("/monitoring/{deployment}/windows")
def windows(
    deployment: str,
    request: Request,
    window: str = WINDOW,
    start: str | None = FROM,
    end: str | None = TO,
    label: str | None = LABEL,
    sensitive: list[str] | None = SENSITIVE,
    source: str = SOURCE,
    reference: str | None = REFERENCE,
    who: Principal = Depends(requires("viewer")),
) -> list[dict[str, Any]]:
    """Each window's report: drift, quality, performance realised and estimated, fairness, health."""
    options = _options(window, start, end, label, sensitive, source, reference)
    reports = session(request, who).monitoring.monitor(deployment, rules=[], **options)
    return [plain(_finite(r.to_dict())) for r in reports]


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: a value that is not a number says so with null."""

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


_REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "the report page"},
    **{
        status: {
            "model": ErrorBody,
            "content": {"application/json": {}},
            "description": about["description"],
        }
        for status, about in ERROR_RESPONSES.items()
    },
}


@router.get(
    "/monitoring/{deployment}/report",
    response_class=HTMLResponse,
    responses=_REPORT_RESPONSES,
)
def report(
    deployment: str,
    request: Request,
    window: str = WINDOW,
    start: str | None = FROM,
    end: str | None = TO,
    label: str | None = LABEL,
    sensitive: list[str] | None = SENSITIVE,
    source: str = SOURCE,
    reference: str | None = REFERENCE,
    who: Principal = Depends(requires("viewer")),
) -> HTMLResponse:
    """The self-contained HTML report, the same page as ``shipway monitor report``."""
    options = _options(window, start, end, label, sensitive, source, reference)
    return HTMLResponse(session(request, who).monitoring.report(deployment, **options))


@router.get("/alerts")
def list_alerts(
    request: Request,
    deployment: str | None = None,
    all: bool = False,
    who: Principal = Depends(requires("viewer")),
) -> list[dict[str, Any]]:
    """Open and acknowledged alerts, newest first; resolved ones too with ``all=true``."""
    found = session(request, who).alerts.list(include_resolved=all, deployment=deployment)
    return [plain(a) for a in found]


@router.get("/alerts/{alert_id}", **answers(Alert))
def get_alert(
    alert_id: AlertId, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    return one(session(request, who).alerts.get(alert_id))


@router.post("/alerts/{alert_id}/ack", **answers(Alert))
def ack_alert(
    alert_id: AlertId, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    """Acknowledge: someone is on it. It stays open until its condition clears or it is resolved."""
    return one(session(request, who).alerts.acknowledge(alert_id))


@router.post("/alerts/{alert_id}/resolve", **answers(Alert))
def resolve_alert(
    alert_id: AlertId, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    return one(session(request, who).alerts.resolve(alert_id))


@router.post("/monitoring/{deployment}/evaluate")
def evaluate(
    deployment: str, body: MonitorIn, request: Request, who: Principal = Depends(requires("editor"))
) -> list[dict[str, Any]]:
    """Judge the windows and apply alert rules: ``[[alerts]]`` of the server's shipway.toml
    when ``rules`` is null (their alerts fire, tell their sinks and run their actions), or the
    request's own rules, which only check: each window's verdicts come back in
    ``extra.rules`` and nothing is stored, told or done. Sinks, commands, actions and the
    alerts they act on come only from the server's configuration."""
    from shipway.monitoring.service import parse_time

    checks = None if body.rules is None else _checks_only(body.rules)
    reports = session(request, who).monitoring.monitor(
        deployment,
        window=body.window,
        label=body.label,
        rules=None if checks is None else [],
        replay=body.replay,
        reference=body.reference,
        sensitive=body.sensitive,
        start=parse_time(body.start),
        end=parse_time(body.end),
        source=body.source,
    )
    judged = [r.to_dict() for r in reports]
    if checks is not None:
        from shipway.monitoring.rules import verdicts

        for report in judged:
            report.setdefault("extra", {})["rules"] = verdicts(checks, report, body.window)
    return [plain(_finite(r)) for r in judged]


def _checks_only(data: list[dict[str, Any]]) -> list[Any]:
    from shipway.monitoring.rules import AlertRule, acts_beyond_checking

    rules = [AlertRule.from_dict(r) for r in data]
    for rule in rules:
        beyond = acts_beyond_checking(rule)
        if beyond:
            raise Forbidden(
                f"rule {rule.name!r} names {beyond}: a request's rules may only check",
                hint="sinks, commands and actions run only from [[alerts]] in the server's "
                "shipway.toml; send rules = null to apply those",
            )
    return rules


@router.post("/monitoring/rounds", **answers(list[Alert]))
def run_round(
    request: Request,
    replay: bool = Query(False, description="Judge every window in order (a backfill)."),
    who: Principal = Depends(requires("editor")),
) -> list[Any]:
    """One monitoring round over every deployment now; the alerts that opened or resolved."""
    return many(session(request, who).monitoring.run_round(replay=replay))
