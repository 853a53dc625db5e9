"""The prediction path without HTTP: route a request to a version, check its input against
the signature, call the model (alone or in a micro-batch), and hand the rows to the log after
the answer. The endpoints only decode, call :meth:`Predictor.predict` and encode."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipway.errors import InvalidArgument, ModelFailed, ModelRefusedInput, NotFound, NotReady
from shipway.serving import codecs, routing
from shipway.serving.auth import CALLER
from shipway.serving.batching import MicroBatcher
from shipway.serving.labelling import RecentRequests
from shipway.serving.metrics import ServingMetrics
from shipway.serving.prediction_log import Logged, PredictionLog
from shipway.serving.state import Loaded, ServerState, Serving

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    """A model's answer, and what runs after it is sent (the log, a shadow), if anything."""

    loaded: Loaded
    outputs: Any
    after: Callable[[], None] | None = None
    probabilities: Any = None  # [n, classes], when asked for and the version is a classifier
    versions: list[int] | None = None  # each row's version, when an A/B split answered it

    @property
    def single_version(self) -> int | None:
        """The one version that answered every row, or None when an A/B split used two."""
        if self.versions is not None and len(set(self.versions)) > 1:
            return None
        return self.loaded.version

    def row_versions(self, rows: int) -> list[int]:
        """The version that answered each of the request's ``rows`` rows."""
        return list(self.versions) if self.versions is not None else [self.loaded.version] * rows


class Arrival:
    """Counts a request from its first byte until it reaches the model (or fails): batching
    waits while requests are on their way."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        predictor.arriving += 1
        self.open = True

    def close(self) -> None:
        if self.open:
            self.open = False
            self.predictor.arriving -= 1


class Predictor:
    def __init__(
        self, state: ServerState, log: PredictionLog | None, metrics: ServingMetrics
    ) -> None:
        self.state = state
        self.log = log
        self.metrics = metrics
        self.arriving = 0  # requests being read and checked, not yet at the model
        self.recent = RecentRequests()  # answered lately, and by whom: labels are checked on it
        self.batchers: dict[tuple[str, int, int, float], MicroBatcher] = {}

    def arrival(self) -> Arrival:
        return Arrival(self)

    def serving(self, name: str) -> Serving:
        """What ``name`` serves now, with its stable version loaded."""
        served = self.state.get(name)
        if served.deployment.stable not in served.versions:
            raise NotReady(name, served.problem)
        return served

    def stable(self, name: str) -> Loaded | None:
        served = self.state.get(name)
        return served.versions.get(served.deployment.stable or -1)

    async def predict(
        self,
        name: str,
        frame: Any,
        *,
        request_id: str,
        pinned: int | None = None,
        arrival: Arrival | None = None,
        probabilities: bool = False,
    ) -> Prediction:
        """Route ``frame`` (one request's rows) and predict it; with ``probabilities``, a
        classifier's probability per class too (from the same version, outside any batch)."""
        arrival = arrival or self.arrival()
        served = self.serving(name)
        started = time.perf_counter()
        deployment = served.deployment
        if (
            pinned is None
            and deployment.strategy.value == "ab"
            and deployment.candidate is not None
        ):
            arrival.close()
            return self._predict_ab(served, frame, request_id, started, probabilities)
        chosen, shadow = self._route(served, pinned)
        prepared = chosen.model.prepare(frame)
        proba = probabilities and chosen.classifier
        batcher = self._batcher(served, chosen) if pinned is None and not proba else None
        arrival.close()
        if proba:  # outside any batch; one model pass where labels follow from probabilities
            outputs, scores = self._with_probabilities(name, chosen, prepared)
        else:
            outputs, scores = await self._call(name, chosen, prepared, batcher), None
        elapsed = time.perf_counter() - started
        self.metrics.observe(name, chosen.version, outputs, elapsed, len(frame))
        caller = CALLER.get().user
        if caller is not None:  # with no token there is no one to bind a label to
            self.recent.remember(name, request_id, caller, len(frame))
        if self.log is None and shadow is None:  # nothing runs after the answer
            return Prediction(chosen, outputs, probabilities=scores)

        def after() -> None:
            self._after(served, prepared, outputs, chosen, shadow, request_id, elapsed, caller)

        return Prediction(chosen, outputs, after, scores)

    def _route(self, served: Serving, pinned: int | None) -> tuple[Loaded, Loaded | None]:
        if pinned is not None:
            if pinned not in served.versions:
                raise NotFound(
                    f"deployment {served.deployment.name!r} does not serve version {pinned}",
                    hint=f"it serves {sorted(served.versions)}",
                )
            return served.versions[pinned], None
        route = routing.route(served.deployment, random.random())
        shadow = served.versions.get(route.shadow) if route.shadow is not None else None
        return served.versions[route.version], shadow

    async def _call(
        self, name: str, chosen: Loaded, prepared: Any, batcher: MicroBatcher | None
    ) -> Any:
        if batcher is not None:
            try:
                return await batcher.submit(prepared)
            except Exception as exc:
                raise _model_error(name, chosen, exc) from exc
        return self._guarded(name, chosen, chosen.model.predict_prepared, prepared)

    def _with_probabilities(self, name: str, chosen: Loaded, prepared: Any) -> tuple[Any, Any]:
        """A classifier's labels and probabilities: from one pass when its labels are the
        most probable class (checked when it was loaded), else from two."""
        scores = self._guarded(name, chosen, chosen.probabilities, prepared)
        if chosen.labels_from_probabilities:
            return chosen.labels_of(scores), scores
        return self._guarded(name, chosen, chosen.model.predict_prepared, prepared), scores

    @staticmethod
    def _guarded(name: str, chosen: Loaded, call: Callable[[Any], Any], prepared: Any) -> Any:
        try:
            return call(prepared)
        except Exception as exc:
            raise _model_error(name, chosen, exc) from exc

    def _batcher(self, served: Serving, loaded: Loaded) -> MicroBatcher | None:
        d = served.deployment
        if d.max_batch <= 1:
            return None
        key = (d.name, loaded.version, d.max_batch, d.max_wait_ms)
        found = self.batchers.get(key)
        if found is None:
            found = self.batchers[key] = MicroBatcher(
                loaded.model.predict_prepared, d.max_batch, d.max_wait_ms, lambda: self.arriving
            )
        return found

    def _predict_ab(
        self, served: Serving, frame: Any, request_id: str, started: float, probabilities: bool
    ) -> Prediction:
        """Each row to its variant by the hash of its sticky key: one user, one variant."""
        import numpy as np
        import pandas as pd

        key = served.deployment.sticky_key
        if key not in frame.columns:
            raise InvalidArgument(f"this A/B test routes by {key!r}: send it with every row")
        variants = routing.route_rows(served.deployment, frame[key].tolist())
        outputs: list[Any] = [None] * len(frame)
        scores: list[Any] = [None] * len(frame)
        name = served.deployment.name
        parts = []
        for version in dict.fromkeys(variants):
            rows = [i for i, v in enumerate(variants) if v == version]
            loaded = served.versions[version]
            part = loaded.model.prepare(frame.iloc[rows])
            if probabilities and loaded.classifier:
                predicted, proba = self._with_probabilities(name, loaded, part)
                for i, row in zip(rows, proba.tolist(), strict=True):
                    scores[i] = row
            else:
                predicted = self._guarded(name, loaded, loaded.model.predict_prepared, part)
            for i, value in zip(rows, np.asarray(predicted).tolist(), strict=True):
                outputs[i] = value
            parts.append(part.assign(_version=version, _row=rows))
        elapsed = time.perf_counter() - started
        for version in set(variants):
            mine = [o for o, v in zip(outputs, variants, strict=True) if v == version]
            self.metrics.observe(name, version, mine, elapsed, len(mine))
        prepared = pd.concat(parts).sort_values("_row")
        versions = prepared.pop("_version").tolist()
        prepared = prepared.drop(columns="_row")
        first = served.versions[variants[0]]
        caller = CALLER.get().user
        if caller is not None:
            self.recent.remember(name, request_id, caller, len(frame))

        def after() -> None:
            self._log_rows(
                name,
                prepared,
                outputs,
                versions,
                request_id,
                elapsed,
                declared=first.log_types,
                caller=caller,
            )

        whole = probabilities and all(s is not None for s in scores)
        widths = {len(s) for s in scores} if whole else set()
        return Prediction(
            first,
            outputs,
            after,
            np.asarray(scores) if len(widths) == 1 else None,
            versions=list(variants),
        )

    def _after(
        self,
        served: Serving,
        prepared: Any,
        outputs: Any,
        chosen: Loaded,
        shadow: Loaded | None,
        request_id: str,
        elapsed: float,
        caller: str | None = None,
    ) -> None:
        """After the answer was sent: the shadow's prediction (the caller never waits for it)
        and the rows for the log."""
        shadow_outputs = None
        if shadow is not None:
            try:
                shadow_outputs = codecs.predictions_list(
                    shadow.model.predict_prepared(shadow.model.prepare(prepared))
                )
            except Exception:
                self.metrics.shadow_errors.labels(served.deployment.name, str(shadow.version)).inc()
        self._log_rows(
            served.deployment.name,
            prepared,
            codecs.predictions_list(outputs),
            [chosen.version] * len(prepared),
            request_id,
            elapsed,
            shadow_version=shadow.version if shadow else None,
            shadow_outputs=shadow_outputs,
            scorer=chosen.scorer,
            declared=chosen.log_types,
            caller=caller,
        )

    def _log_rows(
        self,
        name: str,
        prepared: Any,
        outputs: list[Any],
        versions: list[int],
        request_id: str,
        elapsed: float,
        *,
        shadow_version: int | None = None,
        shadow_outputs: list[Any] | None = None,
        scorer: Any = None,
        declared: dict[str, Any] | None = None,
        caller: str | None = None,
    ) -> None:
        if self.log is None:
            return
        logged = Logged(
            request_id,
            time.time(),
            versions,
            elapsed * 1e3,
            prepared,
            outputs,
            shadow_version,
            shadow_outputs,
            scorer,
            declared,
            caller,
        )
        self.log.append_predictions(name, logged)  # a tuple now; the table once a second

    def status(self) -> dict[str, Any]:
        """What is loaded, why a candidate is not, batching, and the log's counts."""
        batching = [
            {"deployment": k[0], "version": k[1], "batches": b.batches, "rows": b.rows}
            for k, b in self.batchers.items()
        ]
        counts = None
        if self.log is not None:
            counts = {
                "pending": self.log.pending,
                "dropped": self.log.dropped,
                "unencodable": self.log.unencodable,
                "written": self.log.written,
            }
        return {"deployments": self.state.status(), "batching": batching, "prediction_log": counts}


def _model_error(name: str, chosen: Loaded, exc: Exception) -> Exception:
    """A model's failure as the caller should see it: input the signature let in but the
    model refused is the caller's (422); anything else is the model's own (500)."""
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return ModelRefusedInput(name, chosen.version, exc)
    log.error("%s version %s failed", name, chosen.version, exc_info=exc)
    return ModelFailed(name, chosen.version, exc)
