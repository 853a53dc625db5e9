"""The application uvicorn workers import: settings are resolved here, at the edge."""

from shipway.config import Settings
from shipway.server.app import create_app

app = create_app(Settings.resolve())
