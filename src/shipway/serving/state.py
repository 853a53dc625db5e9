"""What a model server serves, kept current from the store without a restart.

A watcher thread polls the deployments' revisions (and the stage or alias a deployment
follows) every ``poll_seconds``. A changed deployment's versions are loaded, their hashes
checked, and warmed up with their input example before one assignment swaps them in, so
requests never see a half-loaded version and in-flight requests finish on the old one. A
candidate that fails to load gets no traffic: the deployment goes on serving its stable
version, and the failure shows in ``status()``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from shipway.errors import NotFound, ShipwayError
from shipway.serving import argmax
from shipway.session import Session
from shipway.types import Deployment, Strategy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    version: int
    model: Any  # a LoadedModel
    columns: list[str] | None
    answer_dtype: Any = None  # the numpy dtype of its answer to the input example, if any
    labels_from_probabilities: bool = False  # its label is its most probable class (argmax)

    @property
    def classifier(self) -> bool:
        """Whether it answers class probabilities (the OIP ``probabilities`` output)."""
        return hasattr(self.model.raw, "predict_proba")

    @functools.cached_property
    def classes(self) -> list[Any] | None:
        """A classifier's class labels, in the order of its probabilities, when it says."""
        import numpy as np

        labels = getattr(self.model.raw, "classes_", None) if self.classifier else None
        return None if labels is None else list(np.asarray(labels).tolist())

    def probabilities(self, prepared: Any) -> Any:
        """Each row's probability per class, as an [n, classes] array."""
        import numpy as np

        return np.asarray(self.model.raw.predict_proba(prepared), dtype=float)

    def labels_of(self, scores: Any) -> Any:
        """The labels that ``scores`` (its probabilities) give, for an argmax classifier."""
        from shipway.serving.argmax import labels_of

        return labels_of(scores, self.model.raw.classes_)

    @functools.cached_property
    def scorer(self) -> Any:  # cached: the log groups rows by scorer to score them in bulk
        """Confidence per row for the prediction log, when the model is a classifier."""
        return self.model.score_prepared if hasattr(self.model.raw, "predict_proba") else None

    @functools.cached_property
    def log_types(self) -> dict[str, Any]:
        """The prediction log's Arrow type of each input the signature declares."""
        from shipway.serving.log_encoding import input_types

        return input_types(self.model.signature)

    @property
    def output_spec(self) -> Any:
        """The signature's one output column (a ``ColumnSpec``), when it declares exactly one."""
        signature = self.model.signature
        return signature.outputs[0] if signature and len(signature.outputs) == 1 else None


@dataclass(frozen=True)
class Serving:
    """One deployment as served right now: the routing and its loaded versions."""

    deployment: Deployment
    versions: dict[int, Loaded]
    problem: str | None = None  # why the stored routing is not (fully) in force


@dataclass
class ServerState:
    """The deployments a server serves (``names``), kept current by :meth:`refresh`."""

    session: Session
    names: list[str]
    follows: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (model, alias)
    poll_seconds: float = 2.0
    served: dict[str, Serving] = field(default_factory=dict)
    _cache: dict[tuple[str, int], Loaded] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Bring every deployment up to its stored revision (and followed stage)."""
        deployments = self.session.deployments
        for name, (model, alias) in self.follows.items():
            try:
                deployments.follow(name, model, alias)
            except ShipwayError as exc:
                log.warning("deployment %s cannot follow %s@%s: %s", name, model, alias, exc)
        revisions = deployments.revisions(self.names)
        for name in self.names:
            current = self.served.get(name)
            if name not in revisions:
                if current is None:
                    self.served[name] = Serving(
                        Deployment(name, "", None), {}, f"no deployment {name!r}"
                    )
                continue
            if (
                current is not None
                and current.deployment.revision == revisions[name]
                and current.problem is None
            ):
                continue
            self.served[name] = self._prepare(deployments.get(name), current)

    def _prepare(self, deployment: Deployment, current: Serving | None) -> Serving:
        versions: dict[int, Loaded] = {}
        problem = None
        if deployment.stable is not None:
            try:
                versions[deployment.stable] = self._load(deployment.model, deployment.stable)
            except Exception as exc:  # keep serving what was served before
                message = f"version {deployment.stable} failed to load: {exc}"
                log.error("deployment %s: %s", deployment.name, message)
                if current is not None and current.versions:
                    return dataclasses.replace(current, problem=message)
                return Serving(deployment, {}, message)
        if deployment.candidate is not None:
            try:
                versions[deployment.candidate] = self._load(deployment.model, deployment.candidate)
            except Exception as exc:
                problem = f"candidate version {deployment.candidate} failed to load, so it gets no traffic: {exc}"
                log.error("deployment %s: %s", deployment.name, problem)
                deployment = dataclasses.replace(
                    deployment, candidate=None, strategy=Strategy.DIRECT, weight=0.0
                )
        used = {(deployment.model, v) for v in versions}
        self._cache = {
            k: v for k, v in self._cache.items() if k in used or k[0] != deployment.model
        }
        return Serving(deployment, versions, problem)

    def _load(self, model: str, version: int) -> Loaded:
        import numpy as np

        cached = self._cache.get((model, version))
        if cached is not None:
            return cached
        loaded = self.session.registry.load(f"models:/{model}/{version}")

        answer_dtype = None
        one_pass = argmax.is_argmax_classifier(loaded.raw)
        if loaded.input_example is not None:  # warm up before any request sees it
            prepared = loaded.prepare(loaded.input_example)
            answer = loaded.predict_prepared(prepared)
            answer_dtype = np.asarray(answer).dtype
            one_pass = one_pass and argmax.agrees(loaded.raw, prepared, answer)
        columns = loaded.signature.columns if loaded.signature else None
        entry = Loaded(version, loaded, columns, answer_dtype, one_pass)
        self._cache[(model, version)] = entry
        return entry

    def get(self, name: str) -> Serving:
        found = self.served.get(name)
        if found is None:
            raise NotFound(
                f"this server does not serve {name!r}",
                hint=f"it serves: {', '.join(self.names) or 'nothing'}",
            )
        return found

    @property
    def ready(self) -> bool:
        return bool(self.served) and all(
            s.deployment.stable in s.versions for s in self.served.values()
        )

    def status(self) -> list[dict[str, Any]]:
        return [
            {
                "deployment": name,
                "model": s.deployment.model,
                "revision": s.deployment.revision,
                "strategy": s.deployment.strategy.value,
                "stable": s.deployment.stable,
                "candidate": s.deployment.candidate,
                "weight": s.deployment.weight,
                "loaded": sorted(s.versions),
                "problem": s.problem,
            }
            for name, s in self.served.items()
        ]

    # -- the watcher -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="shipway-routing", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception as exc:  # the store may be briefly unreachable: keep serving
                log.warning("could not refresh the routing: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
