"""What the controller keeps for itself where the stores are, behind one object: the lease
that lets one process act, each loop's state, the alerts it opens (and the lifecycle of
the ones its rules fire), the events it audits, and what it reads of the prediction log
(whether a span holds any entries, the health records, the upkeep).

This is the one module of the controller that touches the stores: every part (the rounds,
the journal, training, the gate, rollouts, triggers' facts, ``loops status``) receives a
:class:`ControlRecords` (or the session it is built from) and asks it, so a part can be
tested over other records and the stores' shape is known here only. The controller runs
where the stores are: through a ``shipway server`` its own session is local.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipway.monitoring.alerts import AlertLifecycle
from shipway.monitoring.rules import AlertRule
from shipway.serving.log_compaction import Upkeep, upkeep
from shipway.serving.prediction_log import log_keys, read_health
from shipway.session import Session
from shipway.store.alert_store import AlertStore
from shipway.store.audit import append_event
from shipway.store.lease_store import LeaseStore
from shipway.store.loop_state import LoopState, Phase
from shipway.store.loop_store import LoopStore
from shipway.types import Alert


class ControlRecords:
    def __init__(self, session: Session) -> None:
        stores = session.stores  # a remote session says it needs the stores themselves
        self._artifacts = stores.artifacts
        self._db = stores.db
        self._leases = LeaseStore(stores.db)
        self._loops = LoopStore(stores.db)
        self._alerts = AlertStore(stores.db)

    # -- the lease -----------------------------------------------------------------------
    def claim_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew the lease for ``seconds``; False when another holder has it."""
        return self._leases.claim(name, holder, seconds)

    def release_lease(self, name: str, holder: str) -> None:
        self._leases.release(name, holder)

    def lease_holder(self, name: str) -> str | None:
        return self._leases.holder(name)

    # -- loops' states -------------------------------------------------------------------
    def loop_states(self) -> dict[str, LoopState]:
        return self._loops.all()

    def loop_state(self, deployment: str) -> LoopState | None:
        return self._loops.find(deployment)

    def forget_loop(self, deployment: str) -> None:
        """Drop a loop's state: its next round starts it anew (its audit events stay)."""
        self._loops.forget(deployment)

    def save_loop_state(
        self,
        state: LoopState,
        *,
        actor: str,
        action: str | None = None,
        reason: str = "",
        before: Phase | None = None,
    ) -> LoopState:
        """Store ``state``; with ``action``, the move is an audit event in the same
        transaction."""
        return self._loops.save(state, actor=actor, action=action, reason=reason, before=before)

    # -- alerts and the audit log --------------------------------------------------------
    def open_alert(
        self,
        *,
        rule: str,
        deployment: str,
        severity: str,
        metric: str,
        value: float | None,
        threshold: float,
        window: str,
        evidence: dict[str, Any],
    ) -> Alert:
        """An alert the controller raises itself (not monitoring's rules)."""
        return self._alerts.open(
            rule=rule,
            deployment=deployment,
            severity=severity,
            metric=metric,
            value=value,
            threshold=threshold,
            window=window,
            evidence=evidence,
        )

    def alert_lifecycle(self, rules: Iterable[AlertRule], base_url: str | None) -> AlertLifecycle:
        """The lifecycle of the alerts ``rules`` fire, over the stored alerts."""
        return AlertLifecycle(self._alerts, rules, base_url)

    def audit(
        self,
        actor: str,
        entity: str,
        action: str,
        before: str | None,
        after: str | None,
        reason: str,
        details: dict[str, Any],
    ) -> None:
        """One event of the append-only audit log."""
        with self._db.write() as conn:
            append_event(conn, actor, entity, action, before, after, reason, details)

    # -- the prediction log ---------------------------------------------------------------
    def has_log(self, kind: str, deployment: str, *, start: float | None = None) -> bool:
        """Whether the deployment's log of ``kind`` holds entries from ``start`` on (listing
        only the hour partitions that meet it, reading none)."""
        return bool(log_keys(self._artifacts, kind, deployment, ".parquet", start=start))

    def health(self, deployment: str, *, start: float | None = None) -> list[dict[str, Any]]:
        """The deployment's health records (errors by status, dropped rows) since ``start``."""
        return read_health(self._artifacts, deployment, start=start)

    def upkeep(self, deployments: list[str], retention_days: float | None) -> Upkeep:
        """Compact closed hours of the deployments' logs and expire old partitions."""
        return upkeep(self._artifacts, deployments, retention_days)
