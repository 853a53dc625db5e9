"""Settings, resolved once at the edge and passed down: one typed section per concern.

Precedence, highest first: an explicit argument, a ``SHIPWAY_*`` environment variable,
``shipway.toml`` in the project (this folder or the nearest parent that has one), defaults.
Library code receives a :class:`Settings`; only :meth:`Settings.resolve` reads the
environment and the file, and it reads the file once, every section of it:

``[store]``, ``[tracking]``, ``[data]``, ``[serve]``, ``[monitoring]`` (with
``[monitoring.smtp]``), ``[[alerts]]``, ``[loops.NAME]`` and ``[features]``.

Every table of the file is checked in one place, :func:`read_table`, against the typed record
it becomes (a section here; a loop's gate and rollout, an alert rule in the packages that
run them): a key that is not a setting, or a value of the wrong kind, is an error that names
the key and the file (and the nearest valid spelling); numbers are taken where numbers are
meant. Each record then checks its own ranges and choices.
Processes started for the same job (``--workers N``) receive the resolved settings as one
document (:meth:`Settings.to_json`), not a variable per setting.
"""

from __future__ import annotations

import dataclasses
import difflib
import getpass
import json
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from shipway.errors import ConfigError, ShipwayError

T = TypeVar("T")

CONFIG_FILE = "shipway.toml"
RESOLVED_ENV = "SHIPWAY_RESOLVED_SETTINGS"  # the resolved settings, handed to worker processes


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class StoreSettings:
    """Where the metadata and the artifacts live."""

    tracking_uri: str | None = None  # a database URL, or http(s):// for a shipway server
    artifact_uri: str | None = None
    s3_endpoint_url: str | None = None
    token: str | None = field(default=None, repr=False)  # a server's API token; never printed


@dataclass(frozen=True)
class TrackingSettings:
    flush_seconds: float = 1.0  # buffered metrics are written at least this often


@dataclass(frozen=True)
class DataSettings:
    link: str = "auto"  # how dataset files enter a local store: auto, reflink, hardlink, copy


@dataclass(frozen=True)
class ServeSettings:
    """What ``shipway serve`` serves and how; the CLI fills in ``targets`` for its workers."""

    targets: tuple[str, ...] = ()
    log_predictions: bool = True
    poll_seconds: float = 2.0
    access_log: bool = False
    retention_days: float | None = None  # prediction-log partitions older than this expire
    # Follow models:/NAME@latest (or @none) of a model whose policy asks for no approval:
    # whatever any editor registers is then served, and unpickled, within a poll.
    follow_unapproved: bool = False


@dataclass(frozen=True)
class SmtpSettings:
    """Where ``email:`` alert sinks send; the password comes from SHIPWAY_SMTP_PASSWORD."""

    host: str = "localhost"
    port: int = 25
    from_address: str = field(default="shipway@localhost", metadata={"key": "from"})
    user: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class MonitoringSettings:
    """Monitoring rounds and, per deployment, what its monitors need."""

    interval_minutes: float = 5.0  # 0: no scheduled rounds
    window: str | int = "hour"  # hour, day, or a number of rows (1000 or "1000")
    labels: dict[str, str] = field(default_factory=dict)  # deployment -> label column
    sensitive: dict[str, tuple[str, ...]] = field(default_factory=dict)  # -> fairness columns
    reference: dict[str, str] = field(default_factory=dict)  # -> a logged dataset NAME@VERSION
    base_url: str | None = None  # where the platform server answers, for alert links
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    def __post_init__(self) -> None:
        window = self.window
        if isinstance(window, str) and window.strip().isdigit():
            window = int(window)
            object.__setattr__(self, "window", window)
        if isinstance(window, bool) or not (
            (isinstance(window, int) and window >= 1) or window in ("hour", "day")
        ):
            raise ConfigError(
                f"[monitoring] window is hour, day or a number of rows (at least 1), not {window!r}"
            )


@dataclass(frozen=True)
class LoopSettings:
    """One deployment's continuous-training loop (checked further by ``shipway.automation``)."""

    pipeline: str
    params: dict[str, Any] = field(default_factory=dict)
    triggers: tuple[str, ...] = ()
    gate: dict[str, Any] = field(default_factory=dict)
    approval: str = "auto"
    rollout: dict[str, Any] = field(default_factory=dict)
    sinks: tuple[str, ...] = ()  # where the loop says what it wants or what went wrong
    training_timeout_minutes: float = 180.0  # a training still running then is abandoned


@dataclass(frozen=True)
class CheckSettings:
    """What ``shipway check`` (CI for ML) checks; paths are relative to shipway.toml."""

    pipeline: str | None = None  # module:function, smoke-run on a sample in a throwaway store
    params: dict[str, Any] = field(default_factory=dict)  # given to the pipeline
    sample: int = 200  # rows for the smoke run, as its ``sample`` parameter (0: every row)
    data: str | None = None  # the training data: a file, or a dataset NAME or NAME@VERSION
    schema: str | None = None  # the schema the data must meet (shipway data infer writes one)
    time_column: str | None = None  # freshness: the newest value of this column …
    max_age_days: float | None = None  # … is at most this old
    model: str | None = None  # the registered model whose champion a candidate must beat
    champion: str = "production"  # the champion's stage or alias
    holdout: str | None = None  # rows neither model trained on: a file or a dataset NAME@VERSION
    label: str = "label"  # the label column of the data and the holdout
    gate: dict[str, Any] = field(default_factory=dict)  # as a loop's gate: metric, min, max_drop…


@dataclass(frozen=True)
class PipelineSettings:
    """How pipelines run; the step cache reuses only outputs that these users' runs stored."""

    # A step's cached output is unpickled when reused, so it is taken only from the runs of
    # whoever runs the pipeline, and of the users named here (who are trusted to run code).
    trust_cache_from: tuple[str, ...] = ()


# The roles a provider's group may map to, least first (the token store's human roles).
UI_ROLES = ("viewer", "editor", "approver", "admin")


@dataclass(frozen=True)
class OidcSettings:
    """Signing in to the web UI through the team's identity provider (OpenID Connect): the
    provider's groups map to shipway's roles. The client secret comes from
    SHIPWAY_OIDC_CLIENT_SECRET, never from the file."""

    issuer: str | None = None  # e.g. https://login.example.com/realms/ml
    client_id: str | None = None
    name: str = "single sign-on"  # the sign-in button says "Sign in with NAME"
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    user_claim: str = "email"  # the claim that names the user in the audit log
    groups_claim: str = "groups"
    roles: dict[str, str] = field(default_factory=dict)  # provider group -> shipway role
    default_role: str | None = None  # for a user in no mapped group (none: refused)

    def __post_init__(self) -> None:
        if self.issuer and not self.client_id:
            raise ConfigError("[server.oidc] names an issuer but no client_id")
        if self.issuer and "openid" not in self.scopes:
            raise ConfigError(
                "[server.oidc] scopes must include openid: without it no ID token is checked"
            )
        if self.issuer and not self.issuer.startswith(("https://", "http://")):
            raise ConfigError(f"[server.oidc] issuer is a URL, not {self.issuer!r}")
        for group, role in [*self.roles.items(), ("default_role", self.default_role or "viewer")]:
            if role not in UI_ROLES:
                raise ConfigError(
                    f"[server.oidc] roles maps {group!r} to {role!r}",
                    hint=f"map groups to one of: {', '.join(UI_ROLES)}",
                )


@dataclass(frozen=True)
class ServerSettings:
    """``shipway server``: its address as users reach it, and single sign-on."""

    public_url: str | None = None  # e.g. https://mlops.example.com (default: as requested)
    oidc: OidcSettings = field(default_factory=OidcSettings)


@dataclass(frozen=True)
class FeatureSettings:
    online_url: str | None = None  # the online feature store (Redis); reserved


@dataclass(frozen=True)
class Settings:
    """Everything shipway needs to know about where things live and who is acting."""

    home: Path = Path(".shipway")
    user: str = field(default_factory=_default_user)
    store: StoreSettings = field(default_factory=StoreSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    data: DataSettings = field(default_factory=DataSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    alerts: tuple[dict[str, Any], ...] = ()  # the [[alerts]] tables, as written
    loops: dict[str, LoopSettings] = field(default_factory=dict)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    pipelines: PipelineSettings = field(default_factory=PipelineSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    config_file: Path | None = None

    @property
    def is_remote(self) -> bool:
        """True when the tracking URI names a ``shipway server`` rather than a database."""
        return (self.store.tracking_uri or "").startswith(("http://", "https://"))

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata store."""
        uri = self.store.tracking_uri or f"sqlite:///{self.home / 'shipway.db'}"
        if uri.startswith(("postgresql://", "postgres://")):
            uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
        return uri

    @property
    def artifact_root(self) -> str:
        """Where artifacts live: a local folder or an fsspec URL such as ``s3://bucket/prefix``."""
        return self.store.artifact_uri or str(self.home / "artifacts")

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
        unknown = set(given) - set(_LAYERED)
        if unknown:
            raise ConfigError(
                f"unknown setting(s): {', '.join(sorted(unknown))}",
                hint=f"use {', '.join(sorted(_LAYERED))}",
            )
        config_file = _find_config(cwd or Path.cwd())
        document = _read_document(config_file) if config_file else {}
        settings = _from_document(document, config_file)
        for name, (section, key, var) in _LAYERED.items():
            if name in given:
                value: Any = given[name]
            elif env.get(var):
                value = env[var]
            else:
                continue
            where = name if name in given else var
            settings = _set(settings, section, key, _check(value, _hint(section, key), where))
        return _with_home(settings, document, given, env)

    def to_json(self) -> str:
        """These settings as one document, for processes started for the same job."""
        return json.dumps(dataclasses.asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """The settings :meth:`to_json` wrote."""
        data = json.loads(text)
        loops = {n: _build(LoopSettings, v, f"loops.{n}") for n, v in data.pop("loops", {}).items()}
        path = data.pop("config_file", None)
        settings: Settings = _build(cls, data, "resolved settings")
        return replace(settings, loops=loops, config_file=Path(path) if path else None)


# Settings that an argument or an environment variable can set: name -> (section, key, variable)
_LAYERED: dict[str, tuple[str, str, str]] = {
    "home": ("", "home", "SHIPWAY_HOME"),
    "user": ("", "user", "SHIPWAY_USER"),
    "tracking_uri": ("store", "tracking_uri", "SHIPWAY_TRACKING_URI"),
    "artifact_uri": ("store", "artifact_uri", "SHIPWAY_ARTIFACT_URI"),
    "s3_endpoint_url": ("store", "s3_endpoint_url", "SHIPWAY_S3_ENDPOINT_URL"),
    "token": ("store", "token", "SHIPWAY_TOKEN"),
    "flush_seconds": ("tracking", "flush_seconds", "SHIPWAY_FLUSH_SECONDS"),
    "data_link": ("data", "link", "SHIPWAY_DATA_LINK"),
}
_SECTIONS: dict[str, type] = {
    "store": StoreSettings,
    "tracking": TrackingSettings,
    "data": DataSettings,
    "serve": ServeSettings,
    "monitoring": MonitoringSettings,
    "features": FeatureSettings,
    "check": CheckSettings,
    "pipelines": PipelineSettings,
    "server": ServerSettings,
}
# Every number a setting takes is finite and at most this: a wait, a count or a limit
# beyond it is a mistake (1e18 rows, 2**63 requests), and NaN compares false with any bound.
MAX_SETTING = 1e12
_CHOICES = {("data", "link"): ("auto", "reflink", "hardlink", "copy")}
_POSITIVE = {("tracking", "flush_seconds"), ("serve", "poll_seconds")}
_NOT_NEGATIVE = {
    ("monitoring", "interval_minutes"),
    ("serve", "retention_days"),
    ("check", "sample"),
    ("check", "max_age_days"),
}


def _find_config(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def _read_document(path: Path) -> dict[str, Any]:
    try:
        import tomli  # TOML 1.1, which tomllib reads only from Python 3.15 on

        return tomli.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomli.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="fix the TOML syntax") from exc


def _from_document(document: dict[str, Any], path: Path | None) -> Settings:
    """Every section of a parsed shipway.toml, each key checked."""
    top = {"home", "user", "alerts", "loops", *_SECTIONS}
    _refuse_unknown(document, top, "", path)
    values: dict[str, Any] = {}
    for key in ("home", "user"):
        if key in document:
            values[key] = _check(document[key], str, key, path)
    for name, cls in _SECTIONS.items():
        if name in document:
            values[name] = _build(cls, document[name], name, path)
    if "alerts" in document:
        alerts = document["alerts"]
        if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
            raise ConfigError(f"{_where('alerts', path)}: alerts are [[alerts]] tables")
        values["alerts"] = tuple(dict(a) for a in alerts)
    loops = document.get("loops", {})
    if not isinstance(loops, dict):
        raise ConfigError(f"{_where('loops', path)}: loops are [loops.DEPLOYMENT] tables")
    values["loops"] = {
        name: _build(LoopSettings, table, f"loops.{name}", path) for name, table in loops.items()
    }
    return Settings(config_file=path, **values)


def read_table(
    cls: type[T],
    table: Any,
    what: str,
    path: Path | None = None,
    *,
    error: type[ShipwayError] = ConfigError,
) -> T:
    """A record of shipway.toml from its table: a section, or a table inside one (a loop's
    gate and rollout). This is where every table of the file is checked, against the
    record's own type hints: an unknown key (with the nearest spelling), a value of the
    wrong kind, a number out of range, a missing key, each an ``error`` that names the key
    (``what.key``) and the file. Numbers are taken where numbers are meant (``1000`` or
    ``"1000"`` for a whole number). ``cls`` checks its own ranges and choices as it is made."""
    try:
        return _build(cls, table, what, path)
    except ConfigError as exc:
        if error is ConfigError:
            raise
        raise error(exc.message, hint=exc.hint) from None


def _build(cls: type[T], table: Any, prefix: str, path: Path | None = None) -> T:
    """A section (or nested section) from its table, each key checked against its type."""
    if isinstance(table, cls):
        return table
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(prefix, path)} is a table of settings, not {table!r}")
    hints = typing.get_type_hints(cls)
    # The file's spelling of a key (``from``), and the field's (``from_address``, as to_json writes)
    by_key = {f.metadata.get("key", f.name): f for f in fields(cls)}  # type: ignore[arg-type]
    by_key.update({f.name: f for f in fields(cls) if prefix.startswith("resolved settings")})  # type: ignore[arg-type]
    _refuse_unknown(table, set(by_key), prefix, path)
    values = {}
    for key, value in table.items():
        spec = by_key[key]
        values[spec.name] = _check(value, hints[spec.name], _join(prefix, key), path)
    try:
        return cls(**values)
    except TypeError as exc:  # a required key is missing
        missing = str(exc).split("argument", 1)[-1].strip(": ")
        raise ConfigError(f"{_where(prefix, path)} needs {missing}") from exc


def _refuse_unknown(table: dict[str, Any], known: set[str], prefix: str, path: Path | None) -> None:
    for key in table:
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known), n=1)
            raise ConfigError(
                f"unknown setting {_where(_join(prefix, key), path)}",
                hint=f"did you mean {near[0]!r}?" if near else f"known: {', '.join(sorted(known))}",
            )


def _join(prefix: str, key: str) -> str:
    """A key's name within its table: ``monitoring.window``; ``min_rows of alert rule 'x'``."""
    if not prefix:
        return key
    return f"{key} of {prefix}" if "'" in prefix else f"{prefix}.{key}"


def _where(key: str, path: Path | None) -> str:
    return f"{key} in {path}" if path is not None else key


def _hint(section: str, key: str) -> Any:
    if not section:
        return Path if key == "home" else str
    return typing.get_type_hints(_SECTIONS[section])[key]


def _check(value: Any, hint: Any, key: str, path: Path | None = None) -> Any:
    """``value`` as ``hint`` asks, or a ConfigError that names the key (and the file)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        kinds = [a for a in args if a is not type(None)]
        if len(kinds) == 1:
            return _check(value, kinds[0], key, path)
        for kind in kinds:  # the first that fits: `window = 1000` is a number of rows
            try:
                return _check(value, kind, key, path)
            except ConfigError:
                continue
        named = " or ".join(_KIND_NAMES.get(k, getattr(k, "__name__", str(k))) for k in kinds)
        raise ConfigError(f"{_where(key, path)} is {named}, not {value!r}")
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key, path)  # type: ignore[arg-type]
    if origin is tuple:
        text = args[0] in (str, Path)
        items = [value] if isinstance(value, str) and text else value  # one name: a list of one
        if not isinstance(items, list | tuple):
            kind = _KIND_NAMES.get(args[0], "value").removeprefix("a ")
            raise ConfigError(f"{_where(key, path)} is a list of {kind}s, not {value!r}")
        return tuple(_check(v, args[0], key, path) for v in items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(key, path)} is a table, not {value!r}")
        return {str(k): _check(v, args[1], f"{key}.{k}", path) for k, v in value.items()}
    return _scalar(value, hint, _where(key, path))


_KIND_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _scalar(value: Any, hint: Any, where: str) -> Any:
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if not isinstance(value, bool):
            raise ConfigError(f"{where} is true or false, not {value!r}")
        return value
    if hint in (int, float):
        try:
            number = None if isinstance(value, bool) else hint(value)
        except (TypeError, ValueError):
            number = None
        if hint is int and isinstance(value, float) and not value.is_integer():
            number = None
        if number is None:
            raise ConfigError(f"{where} is {_KIND_NAMES[hint]}, not {value!r}")
        if not math.isfinite(number) or abs(number) > MAX_SETTING:
            raise ConfigError(
                f"{where} is a finite number of at most {MAX_SETTING:.0e}, not {value!r}"
            )
        return number
    if hint in (str, Path):
        if not isinstance(value, str | Path):
            raise ConfigError(f"{where} is text, not {value!r}", hint="quote it")
        return hint(value)
    return value


def _set(settings: Settings, section: str, key: str, value: Any) -> Settings:
    if not section:
        return replace(settings, **{key: value})
    return replace(settings, **{section: replace(getattr(settings, section), **{key: value})})


def _with_home(
    settings: Settings, document: dict[str, Any], given: Mapping[str, Any], env: Mapping[str, str]
) -> Settings:
    """The home folder made absolute where the file says it, then every value range-checked."""
    home = Path(os.path.expanduser(str(settings.home)))
    path = settings.config_file
    from_file = "home" in document and "home" not in given and not env.get("SHIPWAY_HOME")
    if path is not None and from_file and not home.is_absolute():
        home = path.parent / home  # relative to the file that says it
    if home.exists() and not home.is_dir():
        raise ConfigError(
            f"home is {home}, which is a file, not a folder",
            hint="point SHIPWAY_HOME (or home in shipway.toml) at a folder",
        )
    settings = replace(settings, home=home)
    for (section, key), allowed in _CHOICES.items():
        if getattr(getattr(settings, section), key) not in allowed:
            raise ConfigError(f"{section}.{key} is one of {', '.join(allowed)}")
    for section, key in _POSITIVE | _NOT_NEGATIVE:
        value = getattr(getattr(settings, section), key)
        if value is not None and (not value >= 0 or (value == 0 and (section, key) in _POSITIVE)):
            kind = "a positive" if (section, key) in _POSITIVE else "a non-negative"
            raise ConfigError(f"{section}.{key} is {kind} number, not {value!r}")
    return settings
