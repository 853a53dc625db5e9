"""Mergeable profiles of live traffic, written beside the prediction log.

Each time the log writes a segment, the rows of each model version are profiled (inputs and
the ``prediction``) with the bin edges of that version's reference (its training data's
profile, recorded at registration), so every segment's profile merges exactly with every
other's and compares directly with the reference. Columns the reference lacks take the edges
of their first profile on this server. Profiles land at
``profiles/deployment=NAME/date=…/hour=…/version=V/<time>.json``; :func:`read_profile`
merges any range of them, so monitoring reads a month of traffic without its raw rows.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from shipway.errors import InvalidArgument
from shipway.serving.prediction_log import hour_of, log_keys
from shipway.stats.profile import DatasetProfile, build_profile

PROFILES = "profiles"
Reference = Callable[[str, int], DatasetProfile | None]  # (deployment, version) -> profile


class ProfileWriter:
    def __init__(self, artifacts: Any, reference: Reference) -> None:
        self.artifacts = artifacts
        self.reference = reference
        self._templates: dict[tuple[str, int], DatasetProfile] = {}

    def write(self, deployment: str, prefix: str, table: Any) -> None:
        """Profile ``table`` (one prediction-log segment) per model version and store it."""
        hour = prefix.split("/", 2)[2]  # date=…/hour=…
        for version, part in table.groupby("model_version"):
            frame = part[[c for c in part.columns if c.startswith("input.")]]
            frame = frame.rename(columns=lambda c: c.removeprefix("input."))
            frame = frame.assign(prediction=part["output"].to_numpy())
            template = self._template(deployment, int(version), frame)
            profile = build_profile(frame, like=template)
            key = (f"{PROFILES}/deployment={deployment}/{hour}/version={int(version)}/"
                   f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json")  # fmt: skip
            self.artifacts.put_bytes(json.dumps(profile.to_dict()).encode(), key)

    def _template(self, deployment: str, version: int, frame: Any) -> DatasetProfile:
        found = self._templates.get((deployment, version))
        if found is None or any(c not in found.columns for c in frame.columns):
            reference = self.reference(deployment, version)
            first = build_profile(frame, like=found or reference)
            columns = {**first.columns, **(found.columns if found else {})}
            if reference is not None:
                columns.update(reference.columns)
            found = self._templates[(deployment, version)] = DatasetProfile(0, columns)
        return found


def read_profile(
    artifacts: Any,
    deployment: str,
    *,
    version: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> DatasetProfile | None:
    """The merged profile of a deployment's traffic (one version, hours in [start, end))."""
    found = None
    for key in log_keys(artifacts, PROFILES, deployment, ".json", start=start, end=end):
        if version is not None and f"/version={version}/" not in key:
            continue
        profile = DatasetProfile.from_dict(json.loads(artifacts.read_bytes(key)))
        found = profile if found is None else found.merge(profile)
    return found


def window_profiles(
    artifacts: Any,
    deployment: str,
    every: str,
    *,
    start: float | None = None,
    end: float | None = None,
) -> dict[str, DatasetProfile | None]:
    """The merged profile of each ``"hour"`` or ``"day"`` window of traffic, all versions
    together, keyed like :func:`shipway.monitoring.traffic.windows` names windows. A window
    whose profiles do not merge (versions binned differently) maps to None: read its rows.
    Only whole hours are profiled, so a range that cuts an hour counts all of that hour."""
    fmt = "%Y-%m-%d %H:00" if every == "hour" else "%Y-%m-%d"
    merged: dict[str, DatasetProfile | None] = {}
    for key in log_keys(artifacts, PROFILES, deployment, ".json", start=start, end=end):
        hour = hour_of(key)
        if hour is None:
            continue
        label = time.strftime(fmt, time.gmtime(hour))
        profile = DatasetProfile.from_dict(json.loads(artifacts.read_bytes(key)))
        if label not in merged:
            merged[label] = profile
        elif merged[label] is not None:
            try:
                merged[label] = merged[label].merge(profile)  # type: ignore[union-attr]
            except InvalidArgument:
                merged[label] = None
    return merged
