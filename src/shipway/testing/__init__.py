"""Conformance kit: the behaviour every metadata and artifact backend must show.

Run it on a backend of yours::

    from shipway.testing import METADATA_CHECKS, ARTIFACT_CHECKS
    for check in METADATA_CHECKS:
        check(make_fresh_stores())

Each check takes fresh, empty :class:`shipway.store.Stores` and raises ``AssertionError``
when the backend misbehaves.
"""

from shipway.testing.artifact_checks import ARTIFACT_CHECKS
from shipway.testing.metadata_checks import METADATA_CHECKS

__all__ = ["ARTIFACT_CHECKS", "METADATA_CHECKS"]
