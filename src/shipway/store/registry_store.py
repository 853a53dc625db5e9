"""Registered models, versions, stages, aliases, approvals and the append-only audit log.

Each public write is one transaction that also appends its audit events, so the log and the
state can never disagree. Policy decisions are passed in as ``guard`` callables and run
inside the transaction, on the state they are about to change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import AlreadyExists, InvalidArgument, NotFound
from shipway.store import schema as t
from shipway.store.audit import append_event
from shipway.store.database import Database
from shipway.store.statements import next_number, upsert
from shipway.store.validation import check_key
from shipway.types import Approval, AuditEvent, ModelVersion, RegisteredModel, Stage, Strategy

Guard = Callable[[RegisteredModel, ModelVersion, list[Approval]], None]


def model_entity(name: str) -> str:
    return f"model:{name}"


class RegistryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- models ------------------------------------------------------------------------
    def get_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            return self._model(conn, name)

    def list_models(self) -> list[tuple[RegisteredModel, int, dict[str, int]]]:
        """Every model with its number of versions and its versions by stage."""
        with self.db.read() as conn:
            models = [
                self._model_from_row(r)
                for r in conn.execute(
                    sa.select(t.registered_models).order_by(t.registered_models.c.name)
                )
            ]
            counts: dict[str, int] = {}
            stages: dict[str, dict[str, int]] = {}
            for name, version, stage in conn.execute(
                sa.select(
                    t.model_versions.c.name, t.model_versions.c.version, t.model_versions.c.stage
                )
            ):
                counts[name] = counts.get(name, 0) + 1
                if stage in (Stage.STAGING, Stage.PRODUCTION):
                    stages.setdefault(name, {})[stage] = version
        return [(m, counts.get(m.name, 0), stages.get(m.name, {})) for m in models]

    def _model(self, conn: Connection, name: str, *, lock: bool = False) -> RegisteredModel:
        query = sa.select(t.registered_models).where(t.registered_models.c.name == name)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no registered model named {name!r}", hint="see `shipway models list`")
        return self._model_from_row(row)

    @staticmethod
    def _model_from_row(row: Any) -> RegisteredModel:
        return RegisteredModel(
            row.name,
            row.created_at,
            row.description,
            row.required_approvals,
            bool(row.two_person_rule),
            unapproved_strategies=tuple(s for s in row.unapproved_strategies.split(",") if s),
        )

    def set_policy(
        self,
        name: str,
        *,
        required_approvals: int,
        two_person_rule: bool,
        actor: str,
        reason: str = "",
        unapproved_strategies: tuple[str, ...] | None = None,
    ) -> RegisteredModel:
        """Set the model's policy; ``unapproved_strategies`` None keeps the stored ones."""
        if required_approvals < 0:
            raise InvalidArgument("required approvals cannot be negative")
        allowed = [s.value for s in Strategy if s != Strategy.DIRECT]
        wrong = [s for s in unapproved_strategies or () if s not in allowed]
        if wrong:
            raise InvalidArgument(
                f"unknown strategy {wrong[0]!r} for unapproved versions",
                hint=f"choose among {', '.join(allowed)} (or none)",
            )
        with self.db.write() as conn:
            before = self._model(conn, name, lock=True)
            if unapproved_strategies is None:
                unapproved_strategies = before.unapproved_strategies
            conn.execute(
                t.registered_models.update()
                .where(t.registered_models.c.name == name)
                .values(
                    required_approvals=required_approvals,
                    two_person_rule=two_person_rule,
                    unapproved_strategies=",".join(unapproved_strategies),
                )
            )
            self._audit(
                conn,
                actor,
                model_entity(name),
                "set_policy",
                _policy_text(before),
                _policy_text(self._model(conn, name)),
                reason,
                {},
            )
            return self._model(conn, name)

    # -- versions ----------------------------------------------------------------------
    def create_version(
        self,
        name: str,
        *,
        source: str,
        run_id: str | None,
        actor: str,
        lineage: dict[str, Any],
        files: dict[str, str] | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Register the next version; concurrent registrations get distinct numbers.

        ``files`` (artifact path -> hash) pins what the version is: loading checks them."""
        check_key(name, "model")
        now = time.time()
        with self.db.write() as conn:
            exists = conn.execute(
                sa.select(t.registered_models.c.name).where(t.registered_models.c.name == name)
            ).first()
            if not exists:
                conn.execute(
                    upsert(
                        conn,
                        t.registered_models,
                        [
                            {
                                "name": name,
                                "created_at": now,
                                "description": "",
                                "required_approvals": 0,
                                "two_person_rule": False,
                            }
                        ],
                        ["name"],
                        ["name"],
                    )
                )
                self._audit(conn, actor, model_entity(name), "create_model", None, name, "", {})
            self._model(conn, name, lock=True)  # serialises version numbering on PostgreSQL
            version = next_number(conn, t.model_versions.c.version, t.model_versions.c.name, name)
            conn.execute(
                t.model_versions.insert().values(
                    name=name,
                    version=version,
                    stage=Stage.NONE.value,
                    source=source,
                    run_id=run_id,
                    created_at=now,
                    created_by=actor,
                    description=description,
                    lineage=lineage,
                    files=files or {},
                )
            )
            self._audit(
                conn,
                actor,
                model_entity(name),
                "register",
                None,
                str(version),
                description,
                {"version": version, "run_id": run_id, "source": source},
            )
            return self._version(conn, name, version)

    def get_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as conn:
            return self._version(conn, name, version)

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            self._model(conn, name)
            versions = conn.execute(
                sa.select(t.model_versions.c.version)
                .where(t.model_versions.c.name == name)
                .order_by(t.model_versions.c.version)
            ).scalars()
            return [self._version(conn, name, v) for v in versions]

    def resolve(self, name: str, alias_or_stage: str) -> ModelVersion:
        """The version an alias or a stage (``production``, ``staging``) points to."""
        with self.db.read() as conn:
            self._model(conn, name)
            version = conn.execute(
                sa.select(t.model_aliases.c.version).where(
                    t.model_aliases.c.name == name, t.model_aliases.c.alias == alias_or_stage
                )
            ).scalar()
            if version is None and alias_or_stage.lower() in {s.value for s in Stage}:
                version = conn.execute(
                    sa.select(sa.func.max(t.model_versions.c.version)).where(
                        t.model_versions.c.name == name,
                        t.model_versions.c.stage == alias_or_stage.lower(),
                    )
                ).scalar()
            if version is None:
                raise NotFound(
                    f"model {name!r} has no version with alias or stage {alias_or_stage!r}",
                    hint=f"see `shipway models show {name}`",
                )
            return self._version(conn, name, version)

    def _version(self, conn: Connection, name: str, version: int) -> ModelVersion:
        row = conn.execute(
            sa.select(t.model_versions).where(
                t.model_versions.c.name == name, t.model_versions.c.version == int(version)
            )
        ).first()
        if row is None:
            raise NotFound(
                f"model {name!r} has no version {version}", hint=f"see `shipway models show {name}`"
            )
        aliases = tuple(
            conn.execute(
                sa.select(t.model_aliases.c.alias)
                .where(t.model_aliases.c.name == name, t.model_aliases.c.version == row.version)
                .order_by(t.model_aliases.c.alias)
            ).scalars()
        )
        return ModelVersion(
            row.name,
            row.version,
            Stage(row.stage),
            row.source,
            row.run_id,
            row.created_at,
            row.created_by,
            row.description,
            aliases,
            dict(row.lineage or {}),
            dict(row.files or {}),
        )

    # -- stages ------------------------------------------------------------------------
    def transition(
        self,
        name: str,
        version: int,
        stage: Stage,
        *,
        actor: str,
        reason: str = "",
        guard: Guard | None = None,
        action: str = "transition",
    ) -> ModelVersion:
        """Move a version to ``stage``; a new production version archives the previous one."""
        with self.db.write() as conn:
            return self.transition_within(
                conn, name, version, stage, actor=actor, reason=reason, guard=guard, action=action
            )

    def transition_within(
        self,
        conn: Connection,
        name: str,
        version: int,
        stage: Stage,
        *,
        actor: str,
        reason: str = "",
        guard: Guard | None = None,
        action: str = "transition",
    ) -> ModelVersion:
        """:meth:`transition` inside a transaction the caller holds (a deployment's change)."""
        model = self._model(conn, name, lock=True)
        target = self._version(conn, name, version)
        if guard is not None:
            guard(model, target, self._approvals(conn, name, version))
        return self._move(conn, model, target, stage, actor=actor, reason=reason, action=action)

    def check_within(self, conn: Connection, name: str, version: int, guard: Guard) -> None:
        """Run ``guard`` on a version as stored now, inside the caller's transaction."""
        model = self._model(conn, name)
        guard(model, self._version(conn, name, version), self._approvals(conn, name, version))

    def _move(
        self,
        conn: Connection,
        model: RegisteredModel,
        target: ModelVersion,
        stage: Stage,
        *,
        actor: str,
        reason: str,
        action: str,
    ) -> ModelVersion:
        name, version = model.name, target.version
        if target.stage == stage:
            return target
        if stage == Stage.PRODUCTION:
            for previous in conn.execute(
                sa.select(t.model_versions.c.version).where(
                    t.model_versions.c.name == name,
                    t.model_versions.c.stage == Stage.PRODUCTION.value,
                )
            ).scalars():
                self._set_stage(conn, name, previous, Stage.ARCHIVED)
                self._audit(
                    conn,
                    actor,
                    model_entity(name),
                    "transition",
                    Stage.PRODUCTION.value,
                    Stage.ARCHIVED.value,
                    f"replaced by version {version}",
                    {"version": previous},
                )
        self._set_stage(conn, name, version, stage)
        self._audit(
            conn,
            actor,
            model_entity(name),
            action,
            target.stage.value,
            stage.value,
            reason,
            {"version": int(version)},
        )
        return self._version(conn, name, version)

    def _set_stage(self, conn: Connection, name: str, version: int, stage: Stage) -> None:
        conn.execute(
            t.model_versions.update()
            .where(t.model_versions.c.name == name, t.model_versions.c.version == int(version))
            .values(stage=stage.value)
        )

    def production_history(self, name: str) -> list[int]:
        """Versions in the order they entered production, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(t.audit_log.c.details)
                .where(
                    t.audit_log.c.entity == model_entity(name),
                    t.audit_log.c.to_value == Stage.PRODUCTION.value,
                )
                .order_by(t.audit_log.c.event_id)
            ).scalars()
            return [int(d["version"]) for d in rows]

    # -- approvals ---------------------------------------------------------------------
    def approve(
        self, name: str, version: int, *, actor: str, comment: str = "", guard: Guard | None = None
    ) -> Approval:
        now = time.time()
        with self.db.write() as conn:
            model = self._model(conn, name, lock=True)
            target = self._version(conn, name, version)
            approvals = self._approvals(conn, name, version)
            if guard is not None:
                guard(model, target, approvals)
            if any(a.user == actor for a in approvals):
                raise AlreadyExists(f"{actor} has already approved {name} version {version}")
            conn.execute(
                t.approvals.insert().values(
                    name=name, version=int(version), user=actor, created_at=now, comment=comment
                )
            )
            self._audit(
                conn,
                actor,
                model_entity(name),
                "approve",
                None,
                str(version),
                comment,
                {"version": int(version)},
            )
        return Approval(name, int(version), actor, now, comment)

    def approvals(self, name: str, version: int) -> list[Approval]:
        with self.db.read() as conn:
            self._version(conn, name, version)
            return self._approvals(conn, name, version)

    def _approvals(self, conn: Connection, name: str, version: int) -> list[Approval]:
        rows = conn.execute(
            sa.select(t.approvals)
            .where(t.approvals.c.name == name, t.approvals.c.version == int(version))
            .order_by(t.approvals.c.created_at)
        )
        return [Approval(r.name, r.version, r.user, r.created_at, r.comment) for r in rows]

    # -- aliases -----------------------------------------------------------------------
    def set_alias(
        self, name: str, alias: str, version: int, *, actor: str, reason: str = ""
    ) -> ModelVersion:
        check_key(alias, "alias")
        meaning = (
            "a stage name"
            if alias.lower() in {s.value for s in Stage}
            else "how models:/NAME@latest names the newest version"
            if alias.lower() == "latest"
            else "a version number"
            if alias.isdigit()
            else None
        )
        if meaning is not None:
            raise InvalidArgument(
                f"{alias!r} cannot be an alias: it is {meaning}",
                hint="choose another name, such as champion",
            )
        with self.db.write() as conn:
            self._model(conn, name, lock=True)
            self._version(conn, name, version)
            before = conn.execute(
                sa.select(t.model_aliases.c.version).where(
                    t.model_aliases.c.name == name, t.model_aliases.c.alias == alias
                )
            ).scalar()
            conn.execute(
                upsert(
                    conn,
                    t.model_aliases,
                    [{"name": name, "alias": alias, "version": int(version)}],
                    ["name", "alias"],
                    ["version"],
                )
            )
            self._audit(
                conn,
                actor,
                model_entity(name),
                "set_alias",
                None if before is None else str(before),
                str(version),
                reason,
                {"alias": alias, "version": int(version)},
            )
            return self._version(conn, name, version)

    def delete_alias(self, name: str, alias: str, *, actor: str, reason: str = "") -> None:
        with self.db.write() as conn:
            before = conn.execute(
                sa.select(t.model_aliases.c.version).where(
                    t.model_aliases.c.name == name, t.model_aliases.c.alias == alias
                )
            ).scalar()
            if before is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            conn.execute(
                t.model_aliases.delete().where(
                    t.model_aliases.c.name == name, t.model_aliases.c.alias == alias
                )
            )
            self._audit(
                conn,
                actor,
                model_entity(name),
                "delete_alias",
                str(before),
                None,
                reason,
                {"alias": alias},
            )

    # -- audit -------------------------------------------------------------------------
    def _audit(
        self,
        conn: Connection,
        actor: str,
        entity: str,
        action: str,
        from_value: str | None,
        to_value: str | None,
        reason: str,
        details: dict[str, Any],
    ) -> None:
        append_event(conn, actor, entity, action, from_value, to_value, reason, details)

    def record_event(
        self,
        entity: str,
        action: str,
        *,
        actor: str,
        from_value: str | None = None,
        to_value: str | None = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append an event about anything (deployments use this too)."""
        with self.db.write() as conn:
            self._audit(conn, actor, entity, action, from_value, to_value, reason, details or {})

    def history(self, entity: str | None = None, limit: int = 1000) -> list[AuditEvent]:
        with self.db.read() as conn:
            query = sa.select(t.audit_log).order_by(t.audit_log.c.event_id)
            if entity is not None:
                query = query.where(t.audit_log.c.entity == entity)
            rows = conn.execute(query.limit(limit)).all()
        return [
            AuditEvent(
                r.event_id,
                r.timestamp,
                r.actor,
                r.entity,
                r.action,
                r.from_value,
                r.to_value,
                r.reason,
                dict(r.details or {}),
            )
            for r in rows
        ]


def _policy_text(model: RegisteredModel) -> str:
    unapproved = ",".join(model.unapproved_strategies) or "none"
    return (
        f"approvals={model.required_approvals} two_person={model.two_person_rule} "
        f"unapproved={unapproved}"
    )
