"""One damaged file never blinds monitoring: a reader that meets a junk or truncated segment,
or one whose pages do not read (or a junk health record or profile), moves it to
``quarantine/``, counts it in its window, raises an alert, and reads on; a segment of another
type is read as text, never set aside (issue 22, item 5)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.cli.conftest import cli as cli  # the fixture, here too
from tests.serving.conftest import serve as serve  # the fixture, here too


def _hour(kind: str) -> str:
    return f"{kind}/deployment=churn-live/" + time.strftime("date=%Y-%m-%d/hour=%H", time.gmtime())


def _plant(artifacts: Any) -> dict[str, str]:
    """Three damaged predictions segments, a mistyped label segment, a junk health record
    and a junk profile, as a broken disk or a hostile writer would leave them."""
    good = next(k for k in artifacts.list("predictions") if k.endswith(".parquet"))
    whole = artifacts.read_bytes(good)
    pages = io.BytesIO()  # a footer that reads, over pages that do not
    pq.write_table(
        pa.table(
            {
                "request_id": [f"r{i}" for i in range(5000)],
                "row": [0] * 5000,
                "timestamp": [time.time()] * 5000,
                "model_version": [1] * 5000,
                "output": [1] * 5000,
            }
        ),
        pages,
    )
    bad_pages = bytearray(pages.getvalue())
    bad_pages[4:2000] = b"\xab" * 1996
    text = io.BytesIO()
    pq.write_table(
        pa.table({"request_id": ["x"], "label": ["spam"], "timestamp": [time.time()]}), text
    )
    planted = {
        "junk": f"{_hour('predictions')}/{time.time_ns()}-junk.parquet",
        "truncated": f"{_hour('predictions')}/{time.time_ns()}-cut.parquet",
        "bad pages": f"{_hour('predictions')}/{time.time_ns()}-pages.parquet",
        "text label": f"{_hour('ground_truth')}/{time.time_ns()}-text.parquet",
        "health": f"{_hour('health')}/{time.time_ns()}-junk.json",
        "profile": f"{_hour('profiles')}/version=1/{time.time_ns()}-junk.json",
    }
    artifacts.put_bytes(b"PAR1 this is not a parquet file PAR1", planted["junk"])
    artifacts.put_bytes(whole[: len(whole) // 2], planted["truncated"])
    artifacts.put_bytes(bytes(bad_pages), planted["bad pages"])
    artifacts.put_bytes(text.getvalue(), planted["text label"])
    artifacts.put_bytes(b"{not json", planted["health"])
    artifacts.put_bytes(b'{"columns": "nope"}', planted["profile"])
    return planted


def _churn_with_its_training_data(sw: Any) -> Any:
    import numpy as np
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(40),
            "spend": rng.normal(size=40),
            "plan": rng.choice(["a", "b"], size=40),
        }
    )
    model = DummyClassifier(strategy="constant", constant=1).fit(frame, np.ones(40, dtype=int))
    with sw.start_run(experiment="churn") as run:
        sw.log_dataset("churn-train", frame, role="train")
        run.log_model(model, "model", input_example=frame.head())
    sw.register_model(run, "churn")
    return frame


def test_damaged_segments_are_quarantined_counted_alerted_and_the_rest_read(
    sw: Any, cli: Any, serve: Any
) -> None:
    frame = _churn_with_its_training_data(sw)
    sw.deploy("churn-live", model="churn", version=1)
    client, server = serve("churn-live")
    records = frame[["customer_id", "spend", "plan"]].to_dict("records")
    ids = [
        client.post("/v1/models/churn-live/predict", json=records).json()["request_id"]
        for _ in range(3)
    ]
    assert client.post(
        "/v1/feedback", json={"records": [{"request_id": i, "label": 1} for i in ids]}
    ).json() == {"accepted": 3, "unknown": 0}
    server.log.flush()
    artifacts = sw.session.current().stores.artifacts
    planted = _plant(artifacts)

    rows = sw.read_predictions("churn-live")
    assert len(rows) == 3 * len(frame), "every readable row, none of the damaged"
    labels = sw.read_predictions("churn-live", kind="ground_truth")
    assert sorted(labels["label"]) == ["1", "1", "1", "spam"], "text and numbers: read as text"
    quarantined = set(artifacts.list("quarantine"))
    for what, key in planted.items():
        if what in ("health", "profile", "text label"):
            continue  # a mistyped file is read; the JSON is read by monitoring, below
        assert f"quarantine/{key}" in quarantined, what
        assert key not in set(artifacts.list(key.split("/")[0])), what

    out = cli("monitor", "run", "churn-live", "--window", "day")
    assert "Traceback" not in out
    (report,) = sw.monitor("churn-live", window="day", rules=[])
    health = report.extra["health"]
    assert health["unreadable_segments"] == 5, health
    assert health["unreadable_rows"] == 5000, "the bad pages' footer told their rows"
    assert report.rows == 3 * len(frame)

    out = cli("monitor", "run", "--json")  # a round, as shipway server runs it
    alerts = [a for a in json.loads(out) if a["rule"] == "log: unreadable segments"]
    assert len(alerts) == 1 and alerts[0]["severity"] == "warning"
    assert alerts[0]["evidence"]["unreadable_segments"] == 5
    assert json.loads(cli("monitor", "run", "--json")) == [], "opened once"
