"""What ``shipway loops status`` says of each loop: its state in words, with its evidence."""

from __future__ import annotations

from typing import Any

from shipway.automation.loops import Loop, loops_from_settings
from shipway.automation.records import ControlRecords
from shipway.errors import InvalidArgument
from shipway.services import LoopBackend
from shipway.session import Session
from shipway.store.loop_state import LoopState

SHOWN = {
    "idle": "idle",
    "training": "training",
    "gated": "gated",
    "ready": "gated, approved",
    "waiting_approval": "waiting for approval",
    "canary": "canary",
    "promoted": "promoted",
    "rolled_back": "rolled back",
    "failed": "failed",
    "rejected": "rejected by the gate",
}


def loop_status(
    loop: Loop, state: LoopState | None, stable: int | None, weight: float | None = None
) -> dict[str, Any]:
    """One loop's status as plain data (``--json`` prints it as is); ``weight``: the
    canary's share of traffic now, which a canary deployed by hand sets off the steps."""
    if state is None:
        return {
            "deployment": loop.deployment,
            "state": "idle",
            "shown": "idle (no controller round yet)",
            "pipeline": loop.pipeline,
            "triggers": [str(t) for t in loop.triggers],
            "champion": stable,
            "candidate": None,
            "message": "run `shipway controller --once`, or `shipway server`",
            "updated_at": None,
        }
    shown = SHOWN.get(state.state, state.state)
    if state.state == "canary":
        steps = loop.rollout.steps
        step = min(state.step, len(steps) - 1)  # the steps may have been edited since
        share = steps[step] if weight is None else weight
        shown = f"canary step {step + 1}/{len(steps)} at {share:g}%"
    detail = state.detail.to_dict()
    out: dict[str, Any] = {
        "deployment": loop.deployment,
        "state": str(state.state),
        "shown": shown,
        "pipeline": loop.pipeline,
        "triggers": [str(t) for t in loop.triggers],
        "champion": stable,
        "candidate": state.candidate,
        "message": detail.get("message", ""),
        "trigger": detail.get("trigger"),
        "updated_at": state.updated_at,
    }
    for key in ("verdict", "evidence", "error", "reference", "wide_margin"):
        if key in detail:
            out[key] = detail[key]
    return out


def loops_status(
    session: Session, loops: dict[str, Loop], deployment: str | None = None
) -> list[dict[str, Any]]:
    if deployment is not None and deployment not in loops:
        known = ", ".join(sorted(loops)) or "none"
        raise InvalidArgument(
            f"no loop for deployment {deployment!r} (loops: {known})",
            hint="declare it as [loops.DEPLOYMENT] in shipway.toml",
        )
    states = ControlRecords(session).loop_states()
    deployments = {d.name: d for d in session.deployments.list()}
    out = []
    for name, loop in sorted(loops.items()):
        if deployment is not None and name != deployment:
            continue
        found = deployments.get(name)
        if found is None:
            out.append(loop_status(loop, states.get(name), None))
            continue
        weight = found.weight if found.candidate is not None else None
        out.append(loop_status(loop, states.get(name), found.stable, weight))
    return out


class LocalLoops(LoopBackend):
    """The loops of this session's ``[loops.*]``, each as the controller left it."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def status(self, deployment: str | None = None) -> list[dict[str, Any]]:
        return loops_status(self.session, loops_from_settings(self.session.settings), deployment)
