"""The metadata store's tables (SQLAlchemy Core). Alembic migrations mirror this file."""

from __future__ import annotations

import math

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for big tables.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class MetricValue(sa.types.TypeDecorator[float]):
    """A metric's value: NaN is kept as NULL, which SQLite and PostgreSQL treat alike (it
    matches no comparison and sorts last); infinities are stored as themselves."""

    impl = sa.Float
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: sa.Dialect) -> float | None:
        return None if value is None or math.isnan(value) else value

    def process_result_value(self, value: float | None, dialect: sa.Dialect) -> float:
        return math.nan if value is None else float(value)


experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column(
        "experiment_id", sa.String(32), sa.ForeignKey("experiments.experiment_id"), primary_key=True
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column(
        "experiment_id", sa.String(32), sa.ForeignKey("experiments.experiment_id"), nullable=False
    ),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("end_time", sa.Float),
    sa.Column("user", sa.String(250), nullable=False),
    sa.Column("parent_run_id", sa.String(32)),
    sa.Column("artifact_uri", sa.Text, nullable=False),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    sa.Index("ix_runs_parent", "parent_run_id"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    # The value as a number when it is one, so filters can compare params numerically.
    sa.Column("value_num", sa.Float),
    sa.Index("ix_params_key_value", "key", "value"),
    sa.Index("ix_params_key_num", "key", "value_num"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tags_key_value", "key", "value"),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", MetricValue),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

# The value at the highest step of each metric: what search and tables show.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", MetricValue),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("digest", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Column("rows", sa.BigInteger),
    sa.Column("source", sa.Text),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("path", sa.String(1000), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("digest", sa.String(128), nullable=False),
)

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("required_approvals", sa.Integer, nullable=False, default=0),
    sa.Column("two_person_rule", sa.Boolean, nullable=False, default=False),
    # Rollout strategies that may run a version that has not passed the policy (comma-separated)
    sa.Column(
        "unapproved_strategies", sa.String(100), nullable=False, server_default="shadow,blue-green"
    ),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.String(250), sa.ForeignKey("registered_models.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(32)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("lineage", sa.JSON, nullable=False),
    # Every file of the model (artifact path -> hash) as registered: what loading checks.
    sa.Column("files", sa.JSON),
    sa.Index("ix_model_versions_stage", "name", "stage"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("name", sa.String(250), sa.ForeignKey("registered_models.name"), primary_key=True),
    sa.Column("alias", sa.String(250), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("user", sa.String(250), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("event_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("actor", sa.String(250), nullable=False),
    sa.Column("entity", sa.String(500), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("from_value", sa.Text),
    sa.Column("to_value", sa.Text),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_audit_entity", "entity", "event_id"),
)


datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("name", sa.String(250), sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # frame, file or directory
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("files", sa.Integer, nullable=False),
    sa.Column("rows", sa.BigInteger),
    # The object key: the file itself, or the manifest listing a directory's files.
    sa.Column("object_key", sa.Text, nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("schema", sa.JSON),
    sa.Column("profile", sa.JSON),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.UniqueConstraint("name", "digest", name="uq_dataset_versions_digest"),
)


api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),
    sa.Column("user", sa.String(250), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    # SHA-256 of the secret part: the secret itself is shown once and never stored.
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)


# Write requests a server has seen, by the client's Idempotency-Key, so a retried request is
# answered from here instead of being applied twice. status is NULL while the first is running.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("body", sa.LargeBinary),
    sa.Column("content_type", sa.String(100)),
    sa.Column("created_at", sa.Float, nullable=False),
    # While the first request runs, its server renews the lease; a lapsed lease means it died.
    sa.Column("lease_until", sa.Float),
    # Set inside the request's own write transaction: the request changed the store.
    sa.Column("applied", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_idempotency_keys_created_at", "created_at"),
)


# What each deployment serves and how it routes; model servers poll the revision.
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("stable", sa.Integer),
    sa.Column("strategy", sa.String(16), nullable=False),
    sa.Column("candidate", sa.Integer),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Column("sticky_key", sa.String(250)),
    sa.Column("follow", sa.String(250)),
    sa.Column("previous", sa.Integer),
    sa.Column("max_batch", sa.Integer, nullable=False),
    sa.Column("max_wait_ms", sa.Float, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("updated_by", sa.String(250), nullable=False),
)


# Alerts raised by monitoring: open until their condition clears or a person resolves them.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(250), nullable=False),
    sa.Column("deployment", sa.String(250), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open, acknowledged, resolved
    sa.Column("metric", sa.String(250), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("window", sa.String(64), nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("opened_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("resolved_at", sa.Float),
    sa.Column("acknowledged_by", sa.String(250)),
    sa.Column("fired_value", sa.Float),  # what fired it; value and window follow the latest
    sa.Column("fired_window", sa.String(64)),
    sa.Index("ix_alerts_open", "deployment", "rule", "status"),
)

# Who does a job that only one process may do (the monitoring rounds), and until when.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("holder", sa.String(250), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


# Each continuous-training loop's state, so a restarted controller carries on where it stopped.
loop_states = sa.Table(
    "loop_states",
    metadata,
    sa.Column("deployment", sa.String(250), primary_key=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("seen", sa.JSON, nullable=False),  # the events the loop has acted on
    sa.Column("candidate", sa.Integer),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("step_started_at", sa.Float),
    sa.Column("detail", sa.JSON, nullable=False),  # reasons, verdict, evidence
    sa.Column("updated_at", sa.Float, nullable=False),
)


def append_only_ddl(dialect: str) -> list[str]:
    """Triggers that make the audit log append-only in the database itself."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{op.lower()} BEFORE {op} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql",
            "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        ]
    return []
