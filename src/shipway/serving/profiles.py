"""Mergeable profiles of live traffic, written beside the prediction log.

Each time the log writes a segment, the rows of each model version are profiled (inputs and
the ``prediction``) with the bin edges of that version's reference (its training data's
profile, recorded at registration), so every segment's profile merges exactly with every
other's and compares directly with the reference. Columns the reference lacks take the edges
of their first profile on this server.

A server keeps one running profile per deployment, hour and version, merging each segment
into it, and saves it at most once a minute, overwriting its own file:
``profiles/deployment=NAME/date=…/hour=…/version=V/<server>-<n>.json``. So an hour costs one
small file per server and version however busy it was, and a kill loses at most a minute of
profile (the log keeps the rows). :func:`read_profile` merges any range of them, so
monitoring reads a month of traffic without its raw rows.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipway.errors import InvalidArgument
from shipway.serving.prediction_log import hour_of, log_keys, quarantine
from shipway.stats.columns import NUMERIC
from shipway.stats.profile import ColumnProfile, DatasetProfile, build_profile

if TYPE_CHECKING:
    from shipway.store.artifacts import ArtifactStore, BytesSink

PROFILES = "profiles"
Reference = Callable[[str, int], DatasetProfile | None]  # (deployment, version) -> profile


Slot = tuple[str, str, int]  # (deployment, "date=…/hour=…", version)
Running = tuple[str, DatasetProfile]  # a slot's file key, and its profile so far


class ProfileWriter:
    def __init__(
        self, artifacts: BytesSink, reference: Reference, *, save_seconds: float = 60.0
    ) -> None:
        self.artifacts = artifacts
        self.reference = reference
        self.save_seconds = save_seconds
        self.writer = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"  # this server's files
        self._templates: dict[tuple[str, int], DatasetProfile] = {}
        self._open: dict[Slot, Running] = {}
        self._dirty: set[Slot] = set()
        self._files = 0
        self._lock = threading.Lock()
        self._saved = time.monotonic()

    def add(self, deployment: str, prefix: str, table: Any) -> None:
        """Profile ``table`` (one prediction-log segment) per model version, into the hour's."""
        hour = prefix.split("/", 2)[2]  # date=…/hour=…
        for version, part in table.groupby("model_version"):
            frame = part[[c for c in part.columns if c.startswith("input.")]]
            frame = frame.rename(columns=lambda c: c.removeprefix("input."))
            frame = frame.assign(prediction=part["output"].to_numpy())
            template = self._template(deployment, int(version), frame)
            profile = build_profile(frame, like=template)
            slot = (deployment, hour, int(version))
            with self._lock:
                found = self._open.get(slot)
                try:
                    merged = profile if found is None else found[1].merge(profile)
                except InvalidArgument:  # binned otherwise (a new template): a file of its own
                    self._put(*found)  # type: ignore[misc]
                    found, merged = None, profile
                self._open[slot] = (found[0] if found else self._key(slot), merged)
                self._dirty.add(slot)

    def save(self, force: bool = False) -> None:
        """Write the running profiles that changed (at most once a minute unless forced), and
        forget the hours that are over."""
        if not force and time.monotonic() - self._saved < self.save_seconds:
            return
        self._saved = time.monotonic()
        with self._lock:
            changed = {slot: self._open[slot] for slot in self._dirty}
            self._dirty.clear()
        for index, (key, profile) in enumerate(changed.values()):
            try:
                self._put(key, profile)
            except Exception:
                with self._lock:  # this one and those after it: tried again next time
                    self._dirty.update(list(changed)[index:])
                raise
        with self._lock:
            for slot in list(self._open):
                started = hour_of(slot[1])
                if slot not in self._dirty and started is not None and started + 3720 < time.time():
                    del self._open[slot]  # a late row for it starts a new file, not a smaller one

    def _key(self, slot: Slot) -> str:
        self._files += 1
        deployment, hour, version = slot
        return f"{PROFILES}/deployment={deployment}/{hour}/version={version}/{self.writer}-{self._files}.json"

    def _put(self, key: str, profile: DatasetProfile) -> None:
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
    artifacts: ArtifactStore,
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
        profile = _profile(artifacts, deployment, key)
        if profile is None:
            continue
        found = profile if found is None else found.merge(profile)
    return found


def _profile(artifacts: ArtifactStore, deployment: str, key: str) -> DatasetProfile | None:
    """A stored profile, or None for one that does not read (quarantined and counted)."""
    data = artifacts.read_bytes(key)  # a failing store raises: only a bad document is set aside
    try:
        return DatasetProfile.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        quarantine(artifacts, deployment, key, None)  # the other hours still merge
        return None


def window_profiles(
    artifacts: ArtifactStore,
    deployment: str,
    every: str,
    *,
    start: float | None = None,
    end: float | None = None,
    columns: list[str] | None = None,
) -> dict[str, DatasetProfile | None]:
    """The merged profile of each ``"hour"`` or ``"day"`` window of traffic, all versions
    together, keyed like :func:`shipway.monitoring.traffic.windows` names windows.

    Versions trained on different data bin their columns differently. A column that does not
    merge is left out of the window's profile, unless it is one of ``columns`` (default:
    all), in which case the window maps to None: read its rows. Only whole hours are profiled,
    so a range that cuts an hour counts all of that hour."""
    fmt = "%Y-%m-%d %H:00" if every == "hour" else "%Y-%m-%d"
    merged: dict[str, DatasetProfile | None] = {}
    dropped: dict[str, set[str]] = {}
    for key in log_keys(artifacts, PROFILES, deployment, ".json", start=start, end=end):
        hour = hour_of(key)
        if hour is None:
            continue
        label = time.strftime(fmt, time.gmtime(hour))
        profile = _profile(artifacts, deployment, key)
        if profile is None:
            continue
        if label not in merged:
            merged[label], dropped[label] = profile, set()
            continue
        so_far = merged[label]
        if so_far is None:
            continue
        clash = {
            c
            for c, found in profile.columns.items()
            if c in so_far.columns and not _mergeable(so_far.columns[c], found)
        }
        if clash and (columns is None or clash & set(columns)):
            merged[label] = None
            continue
        dropped[label] |= clash
        merged[label] = _without(so_far, dropped[label]).merge(_without(profile, dropped[label]))
    return merged


def _mergeable(a: ColumnProfile, b: ColumnProfile) -> bool:
    return a.kind == b.kind and (a.kind != NUMERIC or a.edges == b.edges)


def _without(profile: DatasetProfile, names: set[str]) -> DatasetProfile:
    if not names:
        return profile
    return DatasetProfile(
        profile.rows, {c: p for c, p in profile.columns.items() if c not in names}
    )
