"""A continuous-training loop's state as a record: its phase (with the moves allowed from
each, written once here), the candidate and canary step, and the typed details of the move
it is on. :mod:`shipway.store.loop_store` keeps it; :mod:`shipway.automation.controller`
moves it.

::

    idle ──trigger──▶ training ──▶ gated ──▶ (waiting for approval) ──▶ ready ──▶ canary step 1…N ──▶ promoted
                          │           │                                             │
                          ▼           ▼                                             ▼
                        failed     rejected                                    rolled back
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """Where a loop is: stored, compared and printed as its value."""

    IDLE = "idle"
    TRAINING = "training"
    GATED = "gated"
    WAITING_APPROVAL = "waiting_approval"
    READY = "ready"  # approved: its rollout starts
    CANARY = "canary"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    REJECTED = "rejected"


# Where a loop rests until its next trigger; in all but promoted the champion never stopped
# serving.
RESTING = frozenset({Phase.IDLE, Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED, Phase.REJECTED})
# Every phase the controller may move a loop to from each. A loop that rests starts on a
# trigger (training) or on a canary deployed by hand (canary); every phase under way may
# fail (the loop gives up after its rounds keep failing, and the champion serves on).
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    **{resting: frozenset({Phase.TRAINING, Phase.CANARY}) for resting in RESTING},
    Phase.TRAINING: frozenset({Phase.GATED, Phase.REJECTED, Phase.FAILED}),
    Phase.GATED: frozenset({Phase.READY, Phase.WAITING_APPROVAL, Phase.FAILED}),
    Phase.WAITING_APPROVAL: frozenset({Phase.READY, Phase.REJECTED, Phase.FAILED}),
    Phase.READY: frozenset({Phase.CANARY, Phase.PROMOTED, Phase.REJECTED, Phase.FAILED}),
    # canary → canary: the next step (or a stalled step told once)
    Phase.CANARY: frozenset(
        {Phase.CANARY, Phase.PROMOTED, Phase.ROLLED_BACK, Phase.IDLE, Phase.FAILED}
    ),
}


class IllegalMove(RuntimeError):
    """A move the loop's phases do not allow: a bug in the controller, never a user's error."""


def check_move(before: Phase, to: Phase) -> None:
    if to not in TRANSITIONS[before]:
        allowed = ", ".join(sorted(p.value for p in TRANSITIONS[before]))
        raise IllegalMove(f"a loop in {before} cannot move to {to} (only to {allowed})")


@dataclass
class LoopDetail:
    """What a loop's current move has learnt, kept with its state. ``verdict``, ``evidence``
    and ``wide_margin`` are the gate's verdict, the canary's evidence and the wide-margin
    decision as plain data (what ``shipway loops status --json`` prints)."""

    message: str = ""  # the last move's reason, or what the loop waits for
    trigger: str | None = None  # why the loop started
    started: float | None = None  # when it started (a training's timeout counts from here)
    attempts: int = 0  # trainings begun: a process that died mid-pipeline is counted
    faults: int = 0  # rounds in a row that failed
    error: str | None = None
    # the champion the gate judged against; ``champion_known`` False: no gate judged yet
    champion: int | None = None
    champion_known: bool = False
    verdict: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None
    reference: str | None = None  # what the candidate is monitored against
    refit_of: int | None = None  # the version that passed, which this candidate refits
    wide_margin: dict[str, Any] | None = None
    warned: bool = False  # a stalled canary step was told
    told: list[str] = field(default_factory=list)  # alerts of a held promotion, each once

    def judged_against(self, champion: int | None) -> None:
        self.champion, self.champion_known = champion, True

    def to_dict(self) -> dict[str, Any]:
        """As stored: only what is set, under the names ``loops status --json`` shows."""
        out: dict[str, Any] = {"message": self.message}
        for key in (
            "trigger",
            "started",
            "error",
            "verdict",
            "evidence",
            "reference",
            "refit_of",
            "wide_margin",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        for key in ("attempts", "faults", "warned", "told"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.champion_known:
            out["champion"] = self.champion
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopDetail:
        """As stored (keys this version does not know are dropped)."""
        return cls(
            message=str(data.get("message", "")),
            trigger=data.get("trigger"),
            started=data.get("started"),
            attempts=int(data.get("attempts", 0)),
            faults=int(data.get("faults", 0)),
            error=data.get("error"),
            champion=data.get("champion"),
            champion_known="champion" in data,
            verdict=data.get("verdict"),
            evidence=data.get("evidence"),
            reference=data.get("reference"),
            refit_of=data.get("refit_of"),
            wide_margin=data.get("wide_margin"),
            warned=bool(data.get("warned", False)),
            told=[str(t) for t in data.get("told", [])],
        )


@dataclass
class LoopState:
    deployment: str
    state: Phase = Phase.IDLE
    seen: dict[str, Any] = field(default_factory=dict)  # what its triggers have acted on
    candidate: int | None = None
    step: int = 0
    step_started_at: float | None = None
    detail: LoopDetail = field(default_factory=LoopDetail)
    updated_at: float = 0.0
