"""The application uvicorn workers import: settings are resolved here, at the edge."""

import os

from shipway.config import Settings
from shipway.server.app import create_app

_minutes = os.environ.get("SHIPWAY_MONITOR_MINUTES")  # set by `shipway server --monitor-every`
app = create_app(Settings.resolve(), monitor_minutes=float(_minutes) if _minutes else None)
