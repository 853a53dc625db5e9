"""Conformance kit: the behaviour every backend must show.

- ``METADATA_CHECKS`` and ``ARTIFACT_CHECKS`` take fresh, empty
  :class:`shipway.store.Stores` (a metadata database, an artifact store).
- ``CLIENT_CHECKS`` take ``(tracking, registry, stores)``: a tracking backend, the registry on
  the same backend and the stores behind them. They run on the local stores and through a
  ``shipway server`` alike.
- ``SESSION_CHECKS`` take a fresh :class:`shipway.session.Session`: datasets, deployments, the
  prediction log, monitoring, alerts and tokens, local or through a server.

Run it on a backend of yours::

    from shipway.testing import METADATA_CHECKS
    for check in METADATA_CHECKS:
        check(make_fresh_stores())

Each check raises ``AssertionError`` when the backend misbehaves.
"""

from shipway.testing.artifact_checks import ARTIFACT_CHECKS
from shipway.testing.client_checks import CLIENT_CHECKS
from shipway.testing.metadata_checks import METADATA_CHECKS
from shipway.testing.session_checks import SESSION_CHECKS

__all__ = ["ARTIFACT_CHECKS", "CLIENT_CHECKS", "METADATA_CHECKS", "SESSION_CHECKS"]
