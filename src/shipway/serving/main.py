"""The factory uvicorn workers call: ``shipway serve`` hands them its resolved settings
(one document, see :meth:`Settings.to_json`), whose ``serve`` section says what to serve."""

from __future__ import annotations

import os
from typing import Any


def create() -> Any:
    from shipway.config import RESOLVED_ENV, Settings
    from shipway.serving.server import open_model_server

    settings = Settings.from_json(os.environ[RESOLVED_ENV])
    serve = settings.serve
    server = open_model_server(
        settings,
        list(serve.targets),
        log_predictions=serve.log_predictions,
        poll_seconds=serve.poll_seconds,
    )
    return server.app
