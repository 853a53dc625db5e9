"""The factory uvicorn workers call: ``shipway serve`` passes its targets in the environment."""

from __future__ import annotations

import json
import os
from typing import Any


def create() -> Any:
    from shipway.config import Settings
    from shipway.serving.server import open_model_server

    options = json.loads(os.environ["SHIPWAY_SERVE"])
    server = open_model_server(
        Settings.resolve(),
        options["targets"],
        log_predictions=options["log"],
        poll_seconds=options["poll"],
    )
    return server.app
