"""The Python client for a remote ``shipway server``.

Point ``SHIPWAY_TRACKING_URI`` at ``http://host:port`` (and ``SHIPWAY_TOKEN`` at a token when
the server has tokens) and the fluent API, the registry and the CLI work through the server.
"""

from __future__ import annotations

from shipway.client.registry import RemoteRegistry
from shipway.client.tracking import RemoteTracking
from shipway.client.transport import RemoteError, Transport

__all__ = ["RemoteError", "RemoteRegistry", "RemoteTracking", "Transport"]
