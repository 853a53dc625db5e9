"""A registered version's files never change, and a run is written only by its owner or an admin."""

from __future__ import annotations

from typing import Any

import cloudpickle
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.dummy import DummyClassifier

from shipway.errors import Conflict, IntegrityError
from tests.security.conftest import Secured

FRAME = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})


def _registered(sw: Any, constant: int = 0) -> tuple[str, Any]:
    model = DummyClassifier(strategy="constant", constant=constant).fit(FRAME, [0, 1, 0, 1])
    with sw.start_run(experiment="immutable") as run:
        run.log_model(model, "model", input_example=FRAME)
    return run.run_id, sw.register_model(run, "churn")


def test_an_editor_cannot_replace_a_registered_models_files(secured: Secured) -> None:
    with secured.fluent("alice") as sw:
        run_id, version = _registered(sw)
        assert sorted(version.files) == sorted(
            f"model/{name}"
            for name in ("MODEL.json", "input_example.json", "model.pkl", "requirements.txt")
        )
    evil = cloudpickle.dumps(DummyClassifier(strategy="constant", constant=1).fit(FRAME, [1] * 4))
    with secured.http("alice") as http:
        for path in ("model/model.pkl", "model/MODEL.json", "model/extra.py"):
            refused = http.put(f"/runs/{run_id}/artifacts/{path}", content=evil)
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["code"] == "CONFLICT" and "churn version 1" in error["message"]
        listed = {a["path"]: a["digest"] for a in http.get(f"/runs/{run_id}/artifacts").json()}
    assert listed == version.files  # the records did not move
    with secured.fluent("vera") as sw:  # and what loads is what was registered
        assert sw.load_model("models:/churn/1").predict(FRAME).tolist() == [0, 0, 0, 0]


def test_only_the_owner_or_an_admin_writes_to_a_run(secured: Secured) -> None:
    with secured.http("alice") as alice:
        run = alice.post("/runs", json={"experiment": "owned"}).json()
    with secured.http("ed") as ed:
        for method, path, kwargs in (
            ("POST", f"/runs/{run['run_id']}/log-batch", {"json": {"params": {"a": "1"}}}),
            ("POST", f"/runs/{run['run_id']}/end", {"json": {"status": "FINISHED"}}),
            ("PUT", f"/runs/{run['run_id']}/artifacts/notes.txt", {"content": b"mine now"}),
        ):
            refused = ed.request(method, path, **kwargs)
            assert refused.status_code == 403, refused.text
            assert "belongs to alice" in refused.json()["error"]["message"]
    with secured.http("ada") as admin:
        assert admin.put(f"/runs/{run['run_id']}/artifacts/n.txt", content=b"ok").status_code == 201
    with secured.http("vera") as viewer:
        stored = viewer.get(f"/runs/{run['run_id']}").json()
        assert stored["params"] == {} and stored["status"] == "RUNNING"
        assert [a["path"] for a in viewer.get(f"/runs/{run['run_id']}/artifacts").json()] == [
            "n.txt"
        ]


def test_a_finished_runs_artifacts_do_not_change(sw: Any) -> None:
    with sw.start_run(experiment="done") as run:
        sw.log_text("v1", "notes.txt")
    from shipway.session import current

    client = current().tracking
    with pytest.raises(Conflict, match="FINISHED"):
        client.log_text(run.run_id, "v2", "notes.txt")
    client.log_text(run.run_id, "later", "evaluation.txt")  # a new file is no change
    assert client.download_artifacts(run.run_id, "notes.txt").read_text() == "v1"


def test_loading_checks_the_hashes_pinned_at_registration(sw: Any, settings: Any) -> None:
    """Someone with the store's own credentials rewrites the bytes and the records alike:
    the version still refuses to load, because its registered hashes are what count."""
    from shipway.store import open_stores
    from shipway.store import schema as t
    from shipway.store.artifacts import digest_bytes

    run_id, version = _registered(sw)
    stores = open_stores(settings)
    evil = cloudpickle.dumps(DummyClassifier(strategy="constant", constant=1).fit(FRAME, [1] * 4))
    run = stores.tracking.get_run(run_id)
    key = f"{run.experiment_id}/{run_id}/artifacts/model/model.pkl"
    stores.artifacts.put_bytes(evil, key)
    with stores.db.write() as conn:
        conn.execute(
            t.artifacts.update()
            .where(t.artifacts.c.run_id == run_id, t.artifacts.c.path == "model/model.pkl")
            .values(digest=digest_bytes(evil))
        )
    stores.close()
    with pytest.raises(IntegrityError, match="churn version 1 changed after it was registered"):
        sw.load_model("models:/churn/1")


def test_versions_registered_before_the_upgrade_are_pinned(tmp_path: Any) -> None:
    """The migration pins an existing version to the records as they stand."""
    from shipway.store.database import Database
    from shipway.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    upgrade(engine, "0007_leases")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO experiments VALUES ('e', 'exp', 0)")
        conn.exec_driver_sql(
            "INSERT INTO runs VALUES ('r1', 'e', 'n', 'FINISHED', 0, 1, 'u', NULL, 'a')"
        )
        for path in ("model/MODEL.json", "model/model.pkl", "other.txt"):
            conn.exec_driver_sql(
                f"INSERT INTO artifacts VALUES ('r1', '{path}', 1, 'blake3:{path}')"
            )
        conn.exec_driver_sql("INSERT INTO registered_models VALUES ('m', 0, '', 0, 0)")
        conn.exec_driver_sql(
            "INSERT INTO model_versions VALUES ('m', 1, 'none', 'runs:/r1/model', 'r1', 0, 'u',"
            " '', '{}')"
        )
    engine.dispose()
    db = Database(url)
    from shipway.store.registry_store import RegistryStore

    assert RegistryStore(db).get_version("m", 1).files == {
        "model/MODEL.json": "blake3:model/MODEL.json",
        "model/model.pkl": "blake3:model/model.pkl",
    }
    db.dispose()
