"""The prediction log through ``shipway server``: read as Arrow IPC, labels posted, and a log
writer whose segments are uploaded to the server (so batch jobs and model servers can run
with only the server's address and a token)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from shipway.client.deployments import seg, transport_of
from shipway.client.transport import Transport
from shipway.services import PredictionBackend
from shipway.session import Session


class RemoteLogSink:
    """Where a ``PredictionLog`` writes when it runs through a server: ``put_bytes`` only."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def put_bytes(self, data: bytes, key: str) -> Any:

        headers = {"content-type": "application/octet-stream"}
        return self.transport.request(
            "PUT", f"/logs/{quote(key)}", content=lambda: data, headers=headers
        )


class RemotePredictions(PredictionBackend):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.transport = transport_of(session)

    def read(
        self,
        deployment: str,
        kind: str = "predictions",
        *,
        start: float | None = None,
        end: float | None = None,
        columns: Sequence[str] | None = None,
    ) -> Any:
        import pyarrow as pa

        params: dict[str, Any] = {"kind": kind}
        if start is not None:
            params["from"] = start
        if end is not None:
            params["to"] = end
        if columns is not None:
            params["columns"] = list(columns)
        answer = self.transport.request("GET", f"/deployments/{seg(deployment)}/log", params=params)
        return pa.ipc.open_stream(answer.content).read_all().to_pandas()

    def log_ground_truth(self, deployment: str, labels: Any) -> int:
        import pandas as pd

        from shipway.serving.predictions import ground_truth_frame

        frame = labels if isinstance(labels, pd.DataFrame) else pd.DataFrame(labels)
        ground_truth_frame(frame)  # the same checks, before anything is sent
        records = json.loads(frame.to_json(orient="records"))
        path = f"/deployments/{seg(deployment)}/ground-truth"
        return int(self.transport.json("POST", path, json={"records": records})["accepted"])

    def writer(self) -> Any:
        from shipway.serving.prediction_log import PredictionLog
        from shipway.serving.predictions import reference_profiles
        from shipway.serving.profiles import ProfileWriter

        sink = RemoteLogSink(self.transport)
        profiles = ProfileWriter(sink, reference_profiles(self.session))
        return PredictionLog(sink, max_pending=10**9, profiles=profiles)

    def traffic_profile(
        self,
        deployment: str,
        *,
        version: int | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> Any:
        from shipway.stats.profile import DatasetProfile

        given = {"version": version, "from": start, "to": end}
        params = {k: v for k, v in given.items() if v is not None}
        found = self.transport.json("GET", f"/deployments/{seg(deployment)}/profile", params=params)
        return None if found is None else DatasetProfile.from_dict(found)
