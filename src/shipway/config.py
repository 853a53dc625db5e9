"""Settings, resolved once at the edge and passed down.

Precedence, highest first: an explicit argument, a ``SHIPWAY_*`` environment variable,
``shipway.toml`` in the project (this folder or the nearest parent that has one), defaults.
Library code receives a :class:`Settings`; only :meth:`Settings.resolve` reads the
environment.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from shipway.errors import ConfigError

CONFIG_FILE = "shipway.toml"

# field name -> (toml section or "" for top level, key, environment variable)
_SOURCES: dict[str, tuple[str, str, str]] = {
    "home": ("", "home", "SHIPWAY_HOME"),
    "user": ("", "user", "SHIPWAY_USER"),
    "tracking_uri": ("store", "tracking_uri", "SHIPWAY_TRACKING_URI"),
    "artifact_uri": ("store", "artifact_uri", "SHIPWAY_ARTIFACT_URI"),
    "s3_endpoint_url": ("store", "s3_endpoint_url", "SHIPWAY_S3_ENDPOINT_URL"),
    "token": ("store", "token", "SHIPWAY_TOKEN"),
    "flush_seconds": ("tracking", "flush_seconds", "SHIPWAY_FLUSH_SECONDS"),
    "data_link": ("data", "link", "SHIPWAY_DATA_LINK"),
}


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class Settings:
    """Everything shipway needs to know about where things live and who is acting."""

    home: Path = Path(".shipway")
    user: str = field(default_factory=_default_user)
    tracking_uri: str | None = None
    artifact_uri: str | None = None
    s3_endpoint_url: str | None = None
    token: str | None = field(default=None, repr=False)  # a server's API token; never printed
    flush_seconds: float = 1.0
    data_link: str = "auto"
    config_file: Path | None = None

    @property
    def is_remote(self) -> bool:
        """True when ``tracking_uri`` names a ``shipway server`` rather than a database."""
        return (self.tracking_uri or "").startswith(("http://", "https://"))

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata store."""
        uri = self.tracking_uri or f"sqlite:///{self.home / 'shipway.db'}"
        if uri.startswith("postgresql://") or uri.startswith("postgres://"):
            uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
        return uri

    @property
    def artifact_root(self) -> str:
        """Where artifacts live: a local folder or an fsspec URL such as ``s3://bucket/prefix``."""
        return self.artifact_uri or str(self.home / "artifacts")

    @classmethod
    def resolve(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Settings:
        """Combine arguments, environment, ``shipway.toml`` and defaults, in that order."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        config_file = _find_config(cwd or Path.cwd())
        from_file = _read_config(config_file) if config_file else {}
        values: dict[str, Any] = {}
        for name, (_section, _key, var) in _SOURCES.items():
            if name in given:
                values[name] = given[name]
            elif env.get(var):
                values[name] = env[var]
            elif name in from_file:
                values[name] = from_file[name]
        settings = cls(config_file=config_file)
        for name, value in values.items():
            if name != "flush_seconds" and not isinstance(value, str | Path):
                section, key, var = _SOURCES[name]
                where = f"{section}.{key}" if section else key
                raise ConfigError(
                    f"{where} must be text, not {value!r}",
                    hint=f"quote it in {config_file}" if name in from_file else f"check {var}",
                )
        try:
            if "home" in values:
                home = Path(os.path.expanduser(str(values["home"])))
                if (
                    config_file
                    and not home.is_absolute()
                    and "home" in from_file
                    and "home" not in given
                    and not env.get("SHIPWAY_HOME")
                ):
                    home = config_file.parent / home  # relative to the file that says it
                values["home"] = home
            home = values.get("home", settings.home)
            if Path(home).exists() and not Path(home).is_dir():
                raise ConfigError(
                    f"home is {home}, which is a file, not a folder",
                    hint="point SHIPWAY_HOME (or home in shipway.toml) at a folder",
                )
            if "flush_seconds" in values:
                values["flush_seconds"] = float(values["flush_seconds"])
                if values["flush_seconds"] <= 0:
                    raise ValueError
        except ValueError as exc:
            raise ConfigError("flush_seconds must be a positive number of seconds") from exc
        if values.get("data_link", "auto") not in ("auto", "reflink", "hardlink", "copy"):
            raise ConfigError(
                f"data.link must be auto, reflink, hardlink or copy, not {values['data_link']!r}"
            )
        return replace(settings, **values)


def _find_config(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="fix the TOML syntax") from exc
    out: dict[str, Any] = {}
    for name, (section, key, _var) in _SOURCES.items():
        table = document.get(section, {}) if section else document
        if isinstance(table, dict) and key in table:
            out[name] = table[key]
    return out


CONFIG_TEMPLATE = """\
# shipway settings for this project. Precedence: command-line argument >
# SHIPWAY_* environment variable > this file > built-in default.

# Folder for the embedded stores (SQLite database, local artifacts), relative to this file.
home = ".shipway"

# Who is acting, as written to the audit log (default: your login name).
# user = "alice"

[store]
# Metadata store. Default: SQLite under `home`. For a team:
# tracking_uri = "postgresql://user@db-host:5432/shipway"

# Artifact store. Default: a folder under `home`. For a team (any S3-compatible store):
# artifact_uri = "s3://ml-artifacts/shipway"
# s3_endpoint_url = "http://minio.internal:9000"

[tracking]
# Buffered metrics are written at least this often (seconds).
flush_seconds = 1.0

[data]
# How dataset files enter a local store: auto (reflink where the filesystem can, else copy),
# reflink, copy, or hardlink (instant, but the original becomes read-only: editing it in
# place would alter the stored version).
link = "auto"
"""
