"""What a fired alert's rule does besides telling its sinks: ``notify`` nothing more,
``rollback`` rolls the deployment back at once (audited), ``retrain`` runs the rule's
``command`` with the alert in ``SHIPWAY_ALERT``."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess

from shipway.monitoring.alerts import AlertChange, payload, summary
from shipway.services import DeploymentBackend

log = logging.getLogger("shipway.alerts")


def act(change: AlertChange, deployments: DeploymentBackend) -> None:
    """Run the action of the rule that fired ``change`` (a failure is said, never raised)."""
    rule, alert = change.rule, change.alert
    if rule.action == "rollback":
        try:
            deployments.rollback(
                alert.deployment, reason=f"alert {alert.alert_id}: {summary(alert)}"
            )
        except Exception as exc:  # nothing to roll back to: say so, keep the alert
            log.error("alert %s could not roll back %s: %s", alert.alert_id, alert.deployment, exc)
    elif rule.action == "retrain" and rule.command:
        env = {**os.environ, "SHIPWAY_ALERT": json.dumps(payload("fired", alert))}
        try:
            subprocess.Popen(shlex.split(rule.command), env=env, stdin=subprocess.DEVNULL)
        except OSError as exc:
            log.error("alert %s could not start %r: %s", alert.alert_id, rule.command, exc)
