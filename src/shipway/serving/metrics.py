"""What a model server counts for Prometheus (``/metrics``): requests, rows, latency and
predicted values per deployment and version, errors, requests in flight, shadow failures, and
the prediction log's pending and dropped rows.

Label values come only from what the server serves (a name in a URL that it does not serve
counts as ``deployment="-"``), so no request can create series. With several workers
(``shipway serve --workers N``) the counts go through prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, which ``shipway serve`` sets), so every scrape sees the whole
server whichever worker answers it.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5)
VALUE_BUCKETS = (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 10, 100, 1000)


def with_process(registry: CollectorRegistry) -> CollectorRegistry:
    """``registry`` with the process's own series (``process_*`` CPU, memory and file
    descriptors; ``python_*``), as a default registry has and dashboards expect."""
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def shared_across_workers() -> bool:
    """Whether counts live in files shared by the server's worker processes."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class ServingMetrics:
    def __init__(self, log: Any = None, served: Any = None) -> None:
        self.registry = r = with_process(CollectorRegistry())
        self.log = log
        self.served = served  # the names the server serves (a collection), None for any
        self.shared = shared_across_workers()
        # in flight and pending are sums over the live workers
        live: Literal["livesum", "all"] = "livesum" if self.shared else "all"
        labels = ["deployment", "version"]
        self.requests = Counter(
            "shipway_predict_requests_total", "prediction requests", labels, registry=r
        )
        self.errors = Counter(
            "shipway_predict_errors_total",
            "refused or failed requests",
            ["deployment", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "shipway_predict_seconds", "time to answer", labels, registry=r, buckets=LATENCY_BUCKETS
        )
        self.rows = Counter("shipway_predict_rows_total", "rows predicted", labels, registry=r)
        self.values = Histogram(
            "shipway_prediction_value",
            "predicted values",
            labels,
            registry=r,
            buckets=VALUE_BUCKETS,
        )
        self.in_flight = Gauge(
            "shipway_predict_in_flight",
            "requests being answered",
            registry=r,
            multiprocess_mode=live,
        )
        self.shadow_errors = Counter(
            "shipway_shadow_errors_total", "shadow predictions that failed", labels, registry=r
        )
        self.dropped = self.pending = None
        if log is not None:
            self.dropped = Gauge(
                "shipway_prediction_log_dropped_rows",
                "rows the log could not keep up with",
                registry=r,
                multiprocess_mode=live,
            )
            self.pending = Gauge(
                "shipway_prediction_log_pending_rows",
                "rows waiting to be written",
                registry=r,
                multiprocess_mode=live,
            )
            if not self.shared:  # read when scraped; shared gauges are set as requests come
                self.dropped.set_function(lambda: log.dropped)
                self.pending.set_function(lambda: log.pending)

    def observe(self, name: str, version: int, outputs: Any, elapsed: float, rows: int) -> None:
        """One answered request (or one variant's part of it)."""
        labels = (name, str(version))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(elapsed)
        self.rows.labels(*labels).inc(rows)
        values = self.values.labels(*labels)
        for value in _numbers(outputs)[:100]:
            values.observe(value)
        if self.shared:
            self._set_log_gauges()

    def error(self, name: str, status: int, version: int | None = None) -> None:
        """A refused or failed request: in /metrics, and in the log's health record so
        monitoring sees the error rate. A name the server does not serve counts as "-"."""
        if self.served is not None and name not in self.served:
            name, version = "-", None
        self.errors.labels(name, str(status)).inc()
        if self.log is not None and name != "-":
            self.log.note_error(name, status, version)

    def render(self) -> bytes:
        if not self.shared:
            return generate_latest(self.registry)
        self._set_log_gauges()
        merged = with_process(CollectorRegistry())  # the answering worker's process
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def _set_log_gauges(self) -> None:
        if self.log is not None and self.dropped is not None and self.pending is not None:
            self.dropped.set(self.log.dropped)
            self.pending.set(self.log.pending)

    def close(self) -> None:
        """This worker is stopping: its live gauges leave the shared files."""
        if self.shared:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def _numbers(outputs: Any) -> list[float]:
    import numpy as np

    array = np.asarray(outputs)
    if array.dtype.kind not in "biuf":
        return []
    return array.reshape(-1).astype(float).tolist()
