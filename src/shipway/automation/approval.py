"""A gated candidate released to its rollout: at once when the loop's approval is ``auto``,
or once people approved it in the registry (the model's policy counted, two-person rule
included)."""

from __future__ import annotations

from shipway.automation.gate import Verdict
from shipway.automation.journal import Journal
from shipway.automation.loops import Loop
from shipway.errors import NotFound
from shipway.store.loop_state import LoopState, Phase
from shipway.types import Stage


class Approval:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.registry = journal.session.registry

    def release(self, loop: Loop, state: LoopState) -> None:
        """``gated`` → ``ready`` (auto), or ``waiting_approval`` with the approvers told."""
        if loop.approval == "auto":
            self.journal.move(
                state, Phase.READY, f"version {state.candidate} is approved automatically"
            )
            return
        verdict = state.detail.verdict
        scores = f" ({Verdict(**verdict).summary()})" if verdict else ""
        self.journal.move(
            state,
            Phase.WAITING_APPROVAL,
            f"version {state.candidate} passed the gate{scores} and waits for approval: "
            f"shipway models approve {self.journal.model(loop)} {state.candidate}",
        )
        self.journal.alert(loop, "approval wanted", "info", state)

    def check(self, loop: Loop, state: LoopState) -> None:
        """``waiting_approval`` → ``ready`` once enough people approved; ``rejected`` when
        the version was archived or deleted meanwhile."""
        model = self.journal.model(loop)
        registered = self.registry.get_model(model)
        try:
            version = self.registry.get_version(model, state.candidate or 0)
        except NotFound:
            self.journal.move(
                state, Phase.REJECTED, f"version {state.candidate} is gone: not approved"
            )
            return
        if version.stage == Stage.ARCHIVED:
            self.journal.move(
                state, Phase.REJECTED, f"version {state.candidate} was archived, not approved"
            )
            return
        valid = [
            a
            for a in self.registry.approvals(model, version.version)
            if not (registered.two_person_rule and a.user == version.created_by)
        ]
        if len(valid) >= max(1, registered.required_approvals):
            who = ", ".join(sorted({a.user for a in valid}))
            self.journal.move(state, Phase.READY, f"version {state.candidate} approved by {who}")
