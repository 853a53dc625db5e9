"""The application uvicorn workers import: the settings ``shipway server`` resolved for them
(one document, see :meth:`Settings.to_json`), else resolved here, at the edge."""

import os

from shipway.config import RESOLVED_ENV, Settings
from shipway.server.app import create_app

_resolved = os.environ.get(RESOLVED_ENV)
app = create_app(Settings.from_json(_resolved) if _resolved else Settings.resolve())
