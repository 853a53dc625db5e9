"""Alert rules and their decisions: pure functions of a rule, a window's report and whether
the rule's alert is open.

A rule fires once when its value crosses the threshold in a window with enough rows; the
alert then stays open while the condition holds and resolves itself only when the value is
back past the *clear* threshold (hysteresis: by default 10% of the threshold inside it), so a
value hovering at the threshold does not flap.
"""

from __future__ import annotations

import difflib
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipway.config import read_table
from shipway.errors import InvalidArgument
from shipway.monitoring import report_paths

if TYPE_CHECKING:
    from shipway.config import Settings

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
SEVERITIES = ("info", "warning", "critical")
ACTIONS = ("notify", "rollback", "retrain")
SINK_KINDS = ("log", "webhook", "slack", "email", "command")
SINK_FORMS = "log, webhook:URL, slack:URL, email:ADDRESS or command:CMD"


def sink_problem(sink: str) -> str | None:
    """What is wrong with a sink's name, or None when it can be delivered to."""
    kind, colon, target = str(sink).partition(":")
    if kind not in SINK_KINDS:
        near = difflib.get_close_matches(kind, SINK_KINDS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"unknown sink {sink!r}{hint}: use {SINK_FORMS}"
    if kind == "log":
        return None if not target else f"sink {sink!r}: log takes no target"
    if not target.strip():
        return f"sink {sink!r} names no target: use {SINK_FORMS}"
    if kind in ("webhook", "slack") and not target.startswith(("http://", "https://")):
        return f"sink {sink!r}: {kind} needs an http:// or https:// URL"
    if kind == "email" and "@" not in target:
        return f"sink {sink!r}: email needs an address"
    return None


@dataclass(frozen=True)
class AlertRule:
    name: str
    metric: str  # a path into the window report: data_drift.share_drifted, estimated.accuracy …
    op: str
    threshold: float
    deployment: str = "*"
    min_rows: int = 100
    severity: str = "warning"
    action: str = "notify"
    clear: float | None = None  # where the alert resolves; None: 10% of the threshold inside
    sinks: tuple[str, ...] = ("log",)
    command: str | None = None  # what the retrain action runs
    window: str | int | None = None  # hour, day or a number of rows; None: the round's window

    def judges(self, window: str | int, default: str | int) -> bool:
        """Whether this rule judges reports of ``window``; a rule that names no window judges
        the ``default`` one (the round's, or the one ``sw.monitor`` was asked for)."""
        return str(self.window if self.window is not None else default) == str(window)

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise InvalidArgument(
                f"rule {self.name!r}: op is one of {', '.join(OPERATORS)}, not {self.op!r}"
            )
        if self.severity not in SEVERITIES:
            raise InvalidArgument(f"rule {self.name!r}: severity is one of {', '.join(SEVERITIES)}")
        if self.action not in ACTIONS:
            raise InvalidArgument(f"rule {self.name!r}: action is one of {', '.join(ACTIONS)}")
        if not self.name or not self.metric:
            raise InvalidArgument("an alert rule needs a name and a metric")
        if (
            self.window is not None
            and self.window not in ("hour", "day")
            and not (str(self.window).isdigit() and int(self.window) > 0)
        ):
            raise InvalidArgument(f"rule {self.name!r}: window is hour, day or a number of rows")
        self._check_targets()
        if self.action == "retrain" and not self.command:
            raise InvalidArgument(f"rule {self.name!r}: action retrain needs a command to run")

    def _check_targets(self) -> None:
        """The metric is a path of the window report and every sink can be delivered to."""
        if not report_paths.is_known(self.metric):
            near = report_paths.nearest(self.metric)
            hint = f"; did you mean {near!r}?" if near else ""
            raise InvalidArgument(
                f"rule {self.name!r}: metric {self.metric!r} is not a value of the window "
                f"report{hint} (docs/guide/monitoring.md lists the paths)"
            )
        if isinstance(self.sinks, str):
            raise InvalidArgument(f"rule {self.name!r}: sinks is a list, e.g. [{self.sinks!r}]")
        for sink in self.sinks:
            problem = sink_problem(sink)
            if problem:
                raise InvalidArgument(f"rule {self.name!r}: {problem}")

    @property
    def clear_at(self) -> float:
        if self.clear is not None:
            return self.clear
        margin = abs(self.threshold) * 0.1 or 0.01
        return self.threshold - margin if self.op in (">", ">=") else self.threshold + margin

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertRule:
        """A rule as ``[[alerts]]`` writes it, checked where every table of shipway.toml is
        (:func:`shipway.config.read_table`): unknown keys, kinds and ranges."""
        name = data.get("name", "?")
        if "threshold" not in data:
            raise InvalidArgument(f"alert rule {name!r} needs a numeric threshold")
        if isinstance(data.get("sinks"), str):  # one sink is still a list of one
            raise InvalidArgument(f"rule {name!r}: sinks is a list, e.g. [{data['sinks']!r}]")
        return read_table(cls, data, f"alert rule {name!r}", error=InvalidArgument)


def acts_beyond_checking(rule: AlertRule) -> str | None:
    """What a rule would do beyond judging a window and recording its alert, or None.

    Such rules come only from the configuration of the process that runs them: a rule sent
    in a request may run no command, take no deployment action and reach no address.
    """
    if rule.action != "notify" or rule.command:
        return f"action {rule.action!r}" + (" with a command" if rule.command else "")
    outbound = [sink for sink in rule.sinks if sink != "log"]
    if outbound:
        return f"sinks {', '.join(outbound)}"
    return None


def value_of(report: dict[str, Any], metric: str) -> float | None:
    """``estimated.accuracy`` reads ``report["estimated"]["accuracy"]["value"]``."""
    found: Any = report
    for part in metric.split("."):
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    if isinstance(found, dict):
        found = found.get("value")
    if isinstance(found, bool):
        return float(found)
    return float(found) if isinstance(found, int | float) else None


def decide(rule: AlertRule, report: dict[str, Any], is_open: bool) -> tuple[str, float | None]:
    """``fire``, ``hold`` (still breached, or not judged), ``clear`` or ``quiet``, and the value."""
    value = value_of(report, rule.metric)
    if value is None or report.get("rows", 0) < rule.min_rows:
        return ("hold" if is_open else "quiet"), value  # not enough evidence either way
    compare = OPERATORS[rule.op]
    if not is_open:
        return ("fire" if compare(value, rule.threshold) else "quiet"), value
    return ("hold" if compare(value, rule.clear_at) else "clear"), value


def verdicts(
    rules: list[AlertRule], report: dict[str, Any], window: str | int
) -> list[dict[str, Any]]:
    """Each rule's verdict on one window, as if no alert of it were open: what
    ``sw.monitor(..., rules=...)`` returns in ``report.extra["rules"]``."""
    out = []
    for rule in rules:
        if rule.judges(window, window):
            decision, value = decide(rule, report, is_open=False)
            out.append({"rule": rule.name, "breached": decision == "fire", "value": value})
    return out


def rules_from_settings(settings: Settings) -> list[AlertRule]:
    """The ``[[alerts]]`` rules of the settings' shipway.toml; a bad rule names itself and the file."""
    rules = []
    for index, table in enumerate(settings.alerts):
        try:
            rules.append(AlertRule.from_dict(dict(table)))
        except InvalidArgument as exc:
            where = f" in {settings.config_file}" if settings.config_file else ""
            raise InvalidArgument(f"[[alerts]] #{index + 1}{where}: {exc}") from None
    return rules
