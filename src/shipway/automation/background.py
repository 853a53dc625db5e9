"""Trainings on threads of their own, so a pipeline of an hour holds up neither the other
loops' canaries nor the monitoring, and the lease kept while one runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shipway.automation.records import ControlRecords
from shipway.automation.rounds import LEASE
from shipway.errors import ShipwayError

log = logging.getLogger("shipway.controller")


class TrainingThreads:
    """A loop's training thread each, and those that ran over their time (``abandoned``):
    Python cannot stop a thread, so such a one runs on, muted."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping  # set when the rounds stop: a training goes no further
        self.running: dict[str, threading.Thread] = {}
        self.abandoned: set[threading.Thread] = set()

    def start(self, deployment: str, work: Callable[[], None]) -> None:
        thread = threading.Thread(target=work, name=f"shipway-train-{deployment}", daemon=True)
        self.running[deployment] = thread
        thread.start()

    def muted(self) -> bool:
        """Whether the calling thread is a training that was abandoned."""
        return threading.current_thread() in self.abandoned

    def abandon(self, deployment: str) -> None:
        self.abandoned.add(self.running.pop(deployment))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no loop trains; False if one still does."""
        for thread in list(self.running.values()):
            thread.join(timeout)
        return not any(t.is_alive() for t in list(self.running.values()))


class LeaseKeeper:
    """Renews the lease while a pipeline runs, so a long training does not let another
    process take it and act on the same loop meanwhile."""

    def __init__(
        self,
        records: ControlRecords,
        holder: str,
        interval: float,
        threads: TrainingThreads,
    ) -> None:
        self.records, self.holder, self.interval, self.threads = records, holder, interval, threads

    @contextmanager
    def kept(self) -> Iterator[None]:
        if self.records.lease_holder(LEASE) != self.holder:
            yield  # a round run by hand (tests, sw API): no lease to keep
            return
        seconds = max(2 * self.interval, 600.0)
        done = threading.Event()
        owner = threading.current_thread()
        threads = self.threads

        def beat() -> None:
            # stopped, or the training ran over its time: the lease is not kept for it
            while (
                not done.wait(30.0)
                and not threads.stopping.is_set()
                and owner not in threads.abandoned
            ):
                try:
                    self.records.claim_lease(LEASE, self.holder, seconds)
                except ShipwayError as exc:
                    log.warning("could not renew the lease: %s", exc)

        thread = threading.Thread(target=beat, name="shipway-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=5)
