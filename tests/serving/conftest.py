"""A registered model with two versions, and a model server for it in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from shipway.config import Settings


def register_churn(sw: Any, rows: int = 40) -> Any:
    """``churn`` versions 1 and 2: two classifiers that disagree, so answers show who answered;
    returns the frame they were fitted on."""
    import numpy as np
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "spend": rng.normal(size=rows),
            "plan": rng.choice(["a", "b"], size=rows),
        }
    )
    for label in (0, 1):
        model = DummyClassifier(strategy="constant", constant=label).fit(
            frame, np.full(rows, label)
        )
        with sw.start_run(experiment="churn") as run:
            run.log_model(model, "model", input_example=frame.head())
        sw.register_model(run, "churn")
    return frame


@pytest.fixture
def churn(sw: Any) -> Any:
    """``churn`` versions 1 and 2 in the test's store (see :func:`register_churn`)."""
    return register_churn(sw)


@pytest.fixture
def serve(sw: Any, settings: Settings) -> Iterator[Any]:
    """Open a model server for targets; ``client, server = serve('churn-live')``."""
    from shipway.serving.server import open_model_server

    opened: list[Any] = []

    def start(*targets: str, log_predictions: bool = True) -> tuple[TestClient, Any]:
        server = open_model_server(
            settings, list(targets), log_predictions=log_predictions, poll_seconds=3600
        )  # tests refresh by hand
        client = TestClient(server.app, raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, server))
        return client, server

    yield start
    for client, server in opened:
        client.__exit__(None, None, None)
        server.session.close()
