"""Experiments, runs, params, metrics, tags, dataset inputs and artifact records."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipway.store import schema as t
from shipway.store.database import Database
from shipway.store.statements import upsert
from shipway.store.validation import (
    MAX_KEY,
    as_number,
    check_key,
    check_metric_value,
    check_step,
    check_text,
    check_timestamp,
    param_text,
    tag_text,
)
from shipway.types import (
    ArtifactInfo,
    DatasetInput,
    Experiment,
    Metric,
    MetricBucket,
    Run,
    RunStatus,
)

DEFAULT_EXPERIMENT = "Default"


class TrackingStore:
    """Persistence of tracking data. Every public write is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- experiments -------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> Experiment:
        check_key(name, "experiment")
        clean_tags = {check_key(k, "tag"): tag_text(k, v) for k, v in (tags or {}).items()}
        experiment_id = uuid.uuid4().hex
        now = time.time()
        with self.db.write() as conn:
            if conn.execute(
                sa.select(t.experiments.c.experiment_id).where(t.experiments.c.name == name)
            ).first():
                raise AlreadyExists(f"experiment {name!r} already exists")
            try:
                conn.execute(
                    t.experiments.insert().values(
                        experiment_id=experiment_id, name=name, created_at=now
                    )
                )
            except sa.exc.IntegrityError as exc:  # created by another writer since the check
                raise AlreadyExists(f"experiment {name!r} already exists") from exc
            if clean_tags:
                conn.execute(
                    t.experiment_tags.insert(),
                    [
                        {"experiment_id": experiment_id, "key": k, "value": v}
                        for k, v in clean_tags.items()
                    ],
                )
        return Experiment(experiment_id, name, now, clean_tags)

    def get_or_create_experiment(self, name: str) -> Experiment:
        found = self.find_experiment(name)
        if found:
            return found
        try:
            return self.create_experiment(name)
        except AlreadyExists:  # created by another process meanwhile
            found = self.find_experiment(name)
            assert found is not None
            return found

    def find_experiment(self, name: str) -> Experiment | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.experiments).where(t.experiments.c.name == name)).first()
            return self._experiment(conn, row) if row else None

    def get_experiment(self, name_or_id: str) -> Experiment:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(t.experiments).where(
                    sa.or_(
                        t.experiments.c.name == name_or_id,
                        t.experiments.c.experiment_id == name_or_id,
                    )
                )
            ).first()
            if row is None:
                raise NotFound(
                    f"no experiment named {name_or_id!r}", hint="see `shipway experiments list`"
                )
            return self._experiment(conn, row)

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        """Every experiment with its number of runs."""
        with self.db.read() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    sa.select(t.runs.c.experiment_id, sa.func.count()).group_by(
                        t.runs.c.experiment_id
                    )
                ).all()
            )
            rows = conn.execute(sa.select(t.experiments).order_by(t.experiments.c.created_at)).all()
            return [(self._experiment(conn, row), counts.get(row.experiment_id, 0)) for row in rows]

    def _experiment(self, conn: Connection, row: Any) -> Experiment:
        tags = dict(
            conn.execute(
                sa.select(t.experiment_tags.c.key, t.experiment_tags.c.value).where(
                    t.experiment_tags.c.experiment_id == row.experiment_id
                )
            ).all()
        )
        return Experiment(row.experiment_id, row.name, row.created_at, tags)

    # -- runs --------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        name: str | None,
        user: str,
        artifact_root: str,
        parent_run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        start_time: float | None = None,
        run_id: str | None = None,
    ) -> Run:
        run_id = run_id or uuid.uuid4().hex
        clean_params = {check_key(k, "param"): param_text(k, v) for k, v in (params or {}).items()}
        clean_tags = {check_key(k, "tag"): tag_text(k, v) for k, v in (tags or {}).items()}
        start = time.time() if start_time is None else start_time
        run_name = check_text(name, "a run name", MAX_KEY) if name else f"run-{run_id[:8]}"
        artifact_uri = f"{artifact_root.rstrip('/')}/{experiment_id}/{run_id}/artifacts"
        with self.db.write() as conn:
            if not conn.execute(
                sa.select(t.experiments.c.name).where(
                    t.experiments.c.experiment_id == experiment_id
                )
            ).first():
                raise NotFound(f"no experiment with id {experiment_id!r}")
            if (
                parent_run_id
                and not conn.execute(
                    sa.select(t.runs.c.run_id).where(t.runs.c.run_id == parent_run_id)
                ).first()
            ):
                raise NotFound(f"no parent run {parent_run_id!r}")
            conn.execute(
                t.runs.insert(),  # parameters apart from the statement: compiled once, cached
                {
                    "run_id": run_id,
                    "experiment_id": experiment_id,
                    "name": run_name,
                    "status": RunStatus.RUNNING.value,
                    "start_time": start,
                    "end_time": None,
                    "user": user,
                    "parent_run_id": parent_run_id,
                    "artifact_uri": artifact_uri,
                },
            )
            self._insert_params(conn, run_id, clean_params)
            self._upsert_tags(conn, run_id, clean_tags)
        return Run(
            run_id,
            experiment_id,
            run_name,
            RunStatus.RUNNING,
            start,
            None,
            user,
            parent_run_id,
            artifact_uri,
            clean_params,
            {},
            clean_tags,
        )

    def end_run(self, run_id: str, status: RunStatus, end_time: float | None = None) -> None:
        with self.db.write() as conn:
            done = conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(
                    status=RunStatus(status).value,
                    end_time=time.time() if end_time is None else end_time,
                )
            )
            if done.rowcount == 0:
                raise NotFound(f"no run {run_id!r}")

    def get_run(self, run_id: str) -> Run:
        runs = self.get_runs([run_id])
        if not runs:
            raise NotFound(f"no run {run_id!r}", hint="see `shipway runs list`")
        return runs[0]

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Runs with their params, latest metrics, tags and inputs, in the order asked for."""
        if not run_ids:
            return []
        with self.db.read() as conn:
            by_id: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(
                list(run_ids), 5000
            ):  # well under SQLite's 32,766 bound parameters
                for row in conn.execute(sa.select(t.runs).where(t.runs.c.run_id.in_(chunk))):
                    by_id[row.run_id] = {
                        "row": row,
                        "params": {},
                        "metrics": {},
                        "tags": {},
                        "inputs": [],
                    }
                for table, slot in (
                    (t.params, "params"),
                    (t.latest_metrics, "metrics"),
                    (t.tags, "tags"),
                ):
                    query = sa.select(table.c.run_id, table.c.key, table.c.value).where(
                        table.c.run_id.in_(chunk)
                    )
                    for rid, key, value in conn.execute(query):
                        by_id[rid][slot][key] = value
                for row in conn.execute(
                    sa.select(t.run_inputs).where(t.run_inputs.c.run_id.in_(chunk))
                ):
                    by_id[row.run_id]["inputs"].append(
                        DatasetInput(row.name, row.digest, row.role, row.rows, row.source)
                    )
        out = []
        for rid in run_ids:
            if rid in by_id:
                d = by_id[rid]
                r = d["row"]
                out.append(
                    Run(
                        r.run_id,
                        r.experiment_id,
                        r.name,
                        RunStatus(r.status),
                        r.start_time,
                        r.end_time,
                        r.user,
                        r.parent_run_id,
                        r.artifact_uri,
                        d["params"],
                        d["metrics"],
                        d["tags"],
                        tuple(d["inputs"]),
                    )
                )
        return out

    def child_runs(self, run_id: str) -> list[str]:
        with self.db.read() as conn:
            return list(
                conn.execute(
                    sa.select(t.runs.c.run_id).where(t.runs.c.parent_run_id == run_id)
                ).scalars()
            )

    # -- values ------------------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Write metrics, params and tags of one run in one transaction, all or nothing."""
        clean_params = {check_key(k, "param"): param_text(k, v) for k, v in (params or {}).items()}
        clean_tags = {check_key(k, "tag"): tag_text(k, v) for k, v in (tags or {}).items()}
        rows = [
            {
                "run_id": run_id,
                "key": check_key(m.key, "metric"),
                "value": check_metric_value(m.key, m.value),
                "step": check_step(m.step),
                "timestamp": check_timestamp(m.timestamp) if m.timestamp else time.time(),
            }
            for m in metrics
        ]
        if not (rows or clean_params or clean_tags):
            return
        with self.db.write() as conn:
            self._require_run(conn, run_id)
            self._insert_params(conn, run_id, clean_params)
            self._upsert_tags(conn, run_id, clean_tags)
            if rows:
                conn.execute(t.metrics.insert(), rows)
                self._update_latest(conn, rows)

    def _require_run(self, conn: Connection, run_id: str) -> None:
        if not conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == run_id)).first():
            raise NotFound(f"no run {run_id!r}")

    def _insert_params(self, conn: Connection, run_id: str, params: Mapping[str, str]) -> None:
        if not params:
            return
        existing = dict(
            conn.execute(
                sa.select(t.params.c.key, t.params.c.value).where(
                    t.params.c.run_id == run_id, t.params.c.key.in_(list(params))
                )
            ).all()
        )
        for key, value in params.items():
            if key in existing and existing[key] != value:
                raise Conflict(
                    f"param {key!r} was already logged as {existing[key]!r}; params are write-once, "
                    f"so it cannot become {value!r}",
                    hint="log a changing value as a metric, or start a new run",
                )
        new = [
            {"run_id": run_id, "key": k, "value": v, "value_num": as_number(v)}
            for k, v in params.items()
            if k not in existing
        ]
        if new:
            conn.execute(t.params.insert(), new)

    def _upsert_tags(self, conn: Connection, run_id: str, tags: Mapping[str, str]) -> None:
        if tags:
            rows = [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
            conn.execute(upsert(conn, t.tags, rows, ["run_id", "key"], ["value"]))

    def _update_latest(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        # Keep per key the value at the highest step (the later one on a tie).
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            key = (row["run_id"], row["key"])
            if key not in latest or row["step"] >= latest[key]["step"]:
                latest[key] = row
        table = t.latest_metrics
        statement = upsert(
            conn,
            table,
            list(latest.values()),
            ["run_id", "key"],
            ["value", "step", "timestamp"],
            where_newer="step",
        )
        conn.execute(statement)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self.db.read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                sa.select(
                    t.metrics.c.key, t.metrics.c.value, t.metrics.c.step, t.metrics.c.timestamp
                )
                .where(t.metrics.c.run_id == run_id, t.metrics.c.key == key)
                .order_by(t.metrics.c.step, t.metrics.c.timestamp, t.metrics.c.id)
            ).all()
        return [Metric(*row) for row in rows]

    def sampled_metric_history(self, run_id: str, key: str, points: int) -> list[MetricBucket]:
        """At most ``points`` buckets of equal step ranges, in step order; each keeps its
        mean, minimum and maximum, so a spike in a long history still shows on a chart.
        Missing (NaN) values are left out of the buckets; a history of at most ``points``
        steps comes back step by step."""
        if points < 1 or points > 10_000:
            raise InvalidArgument(f"points must be between 1 and 10000, got {points}")
        m = t.metrics.c
        where = sa.and_(m.run_id == run_id, m.key == key, m.value.is_not(None))
        # the step range read from the two ends of the (run, key, step) index, stopping at the
        # first value that is a number: min() and max() in one select scan the whole history
        ends = sa.select(m.step).where(where).limit(1)
        first = ends.order_by(m.step.asc()).scalar_subquery()
        last = ends.order_by(m.step.desc()).scalar_subquery()
        with self.db.read() as conn:
            self._require_run(conn, run_id)
            lo, hi = conn.execute(sa.select(first, last)).one()
            if lo is None:
                return []
            span = int(hi) - int(lo) + 1
            width = -(-span // points)  # steps per bucket, so at most ``points`` buckets
            # floor division of integers (no product that could overflow), so SQLite and
            # PostgreSQL cut the buckets alike
            bucket = (m.step - int(lo)) // width if width > 1 else m.step
            rows = conn.execute(
                sa.select(
                    sa.func.min(m.step),
                    sa.func.max(m.step),
                    sa.func.avg(m.value),
                    sa.func.min(m.value),
                    sa.func.max(m.value),
                    sa.func.count(),
                )
                .where(where)
                .group_by(bucket)
                .order_by(sa.func.min(m.step))
            ).all()
        return [
            MetricBucket(int(first), int(last), _number(mean), _number(low), _number(high), int(n))
            for first, last, mean, low, high, n in rows
        ]

    def run_columns(
        self, experiment_ids: Sequence[str], newest: int = 1000
    ) -> dict[str, list[str]]:
        """The param, metric and tag keys of the experiments' ``newest`` runs: what a runs
        table can show as columns, found without reading the whole store."""
        with self.db.read() as conn:
            recent = (
                sa.select(t.runs.c.run_id)
                .where(t.runs.c.experiment_id.in_(list(experiment_ids)))
                .order_by(t.runs.c.start_time.desc())
                .limit(newest)
            )
            found: dict[str, list[str]] = {}
            for name, table in (
                ("params", t.params),
                ("metrics", t.latest_metrics),
                ("tags", t.tags),
            ):
                query = sa.select(table.c.key).where(table.c.run_id.in_(recent)).distinct()
                found[name] = sorted(conn.execute(query).scalars())
        return found

    def log_inputs(self, run_id: str, inputs: Iterable[DatasetInput]) -> None:
        rows = [
            {
                "run_id": run_id,
                "name": i.name,
                "digest": i.digest,
                "role": i.role,
                "rows": i.rows,
                "source": i.source,
            }
            for i in inputs
        ]
        # one row per key, the last given winning: PostgreSQL refuses an upsert that
        # touches a row twice, and two identical inputs are one input
        rows = list({(r["name"], r["digest"], r["role"]): r for r in rows}.values())
        if not rows:
            return
        with self.db.write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                upsert(
                    conn,
                    t.run_inputs,
                    rows,
                    ["run_id", "name", "digest", "role"],
                    ["rows", "source"],
                )
            )

    # -- artifact records --------------------------------------------------------------
    def check_artifact_writes(self, run_id: str, paths: Sequence[str]) -> None:
        """Refuse, before a byte is written, a write to files that may no longer change: those
        of a registered model version, and those a finished run already recorded."""
        with self.db.read() as conn:
            self._guard_artifacts(conn, run_id, {p: None for p in paths})

    def record_artifacts(self, run_id: str, infos: Iterable[ArtifactInfo]) -> None:
        rows = [
            {"run_id": run_id, "path": i.path, "size": i.size, "digest": i.digest} for i in infos
        ]
        if not rows:
            return
        with self.db.write() as conn:
            # Checked again inside the transaction: a registration may have happened meanwhile.
            self._guard_artifacts(conn, run_id, {str(r["path"]): str(r["digest"]) for r in rows})
            conn.execute(upsert(conn, t.artifacts, rows, ["run_id", "path"], ["size", "digest"]))

    def _guard_artifacts(
        self, conn: Connection, run_id: str, digests: Mapping[str, str | None]
    ) -> None:
        """``digests`` maps each path to write to its new hash (None: not known yet, which only
        an unchanged record would allow)."""
        status = conn.execute(sa.select(t.runs.c.status).where(t.runs.c.run_id == run_id)).scalar()
        if status is None:
            raise NotFound(f"no run {run_id!r}")
        versions = conn.execute(
            sa.select(
                t.model_versions.c.name, t.model_versions.c.version, t.model_versions.c.source
            )
            .where(t.model_versions.c.run_id == run_id)
            .order_by(t.model_versions.c.name, t.model_versions.c.version)
        ).all()
        for name, version, source in versions:
            folder = source.split("/", 2)[2].strip("/") if source.startswith("runs:/") else ""
            for path in digests:
                if folder and (path == folder or path.startswith(folder + "/")):
                    raise Conflict(
                        f"{path!r} is a file of {name} version {version}; the files of a "
                        "registered version never change",
                        hint="log the new model in a new run and register it as a new version",
                        details={"model": name, "version": version, "path": path},
                    )
        if status == RunStatus.RUNNING.value:
            return
        recorded = conn.execute(
            sa.select(t.artifacts.c.path, t.artifacts.c.digest).where(
                t.artifacts.c.run_id == run_id, t.artifacts.c.path.in_(list(digests))
            )
        ).all()
        for path, digest in recorded:
            if digests[path] != digest:
                raise Conflict(
                    f"run {run_id} is {status}, and the artifact {path!r} it recorded cannot change",
                    hint="log the new file under another path, or in a new run",
                    details={"run_id": run_id, "path": path},
                )

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        with self.db.read() as conn:
            self._require_run(conn, run_id)
            query = sa.select(t.artifacts.c.path, t.artifacts.c.size, t.artifacts.c.digest).where(
                t.artifacts.c.run_id == run_id
            )
            rows = conn.execute(query.order_by(t.artifacts.c.path)).all()
        clean = prefix.strip("/")
        return [
            ArtifactInfo(*row)
            for row in rows
            if not clean or row.path == clean or row.path.startswith(clean + "/")
        ]

    # -- search ------------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[Run]:
        from shipway.store.filter import parse_filter, parse_order_by
        from shipway.store.search import search_run_ids

        if max_results < 1 or max_results > 100_000:
            raise InvalidArgument(f"max_results must be between 1 and 100000, got {max_results}")
        node = parse_filter(filter_string or "")
        order = parse_order_by(list(order_by or []))
        if not experiment_ids:  # the filter was still checked above
            return []
        with self.db.read() as conn:
            ids = search_run_ids(conn, list(experiment_ids), node, order, max_results, offset)
        return self.get_runs(ids)


def _number(value: float | None) -> float:
    """An aggregate as a float: SQLite answers NULL where it is not a number (the mean of
    +inf and -inf)."""
    return math.nan if value is None else float(value)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
