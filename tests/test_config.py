from __future__ import annotations

from pathlib import Path

import pytest

from shipway.config import Settings
from shipway.errors import ConfigError


def test_precedence_argument_over_environment_over_file_over_default(tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text(
        'home = "from-file"\n[store]\ntracking_uri = "sqlite:///file.db"\nartifact_uri = "s3://b/file"\n'
    )
    env = {"SHIPWAY_TRACKING_URI": "sqlite:///env.db"}
    settings = Settings.resolve({"artifact_uri": "s3://b/arg"}, environ=env, cwd=tmp_path)
    assert settings.store.artifact_uri == "s3://b/arg"
    assert settings.store.tracking_uri == "sqlite:///env.db"
    assert settings.home == tmp_path / "from-file"  # relative to the file that says it


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    settings = Settings.resolve(environ={}, cwd=tmp_path)
    assert settings.home == Path(".shipway")
    assert settings.metadata_url == "sqlite:///.shipway/shipway.db"
    assert settings.artifact_root == ".shipway/artifacts"
    assert settings.config_file is None


def test_file_found_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text('user = "carol"\n')
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert Settings.resolve(environ={}, cwd=nested).user == "carol"


def test_postgres_url_gets_the_psycopg_driver() -> None:
    settings = Settings.resolve({"tracking_uri": "postgresql://u@h:5432/db"}, environ={})
    assert settings.metadata_url == "postgresql+psycopg://u@h:5432/db"


def test_the_project_template_parses_and_means_the_defaults(tmp_path: Path) -> None:
    from shipway.config import CheckSettings
    from shipway.project.scaffold import init_project

    init_project(tmp_path / "churn")
    settings = Settings.resolve(environ={}, cwd=tmp_path / "churn")
    assert settings.home == tmp_path / "churn" / ".shipway"
    assert settings.tracking == Settings().tracking and settings.data == Settings().data
    assert settings.check.pipeline == "train.py:train" and settings.check != CheckSettings()
    assert settings.loops == {} and settings.alerts == ()  # written commented out


@pytest.mark.parametrize(
    ("content", "overrides", "message"),
    [
        ("home = [", {}, "fix the TOML syntax"),
        ("", {"nonsense": 1}, "unknown setting(s): nonsense"),
        ("[tracking]\nflush_seconds = -1\n", {}, "flush_seconds is a positive number"),
    ],
)
def test_bad_settings_say_what_to_fix(
    tmp_path: Path, content: str, overrides: dict, message: str
) -> None:
    (tmp_path / "shipway.toml").write_text(content)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.resolve(overrides, environ={}, cwd=tmp_path)


def test_every_section_is_read_once_and_typed(tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text(
        "[serve]\nretention_days = 30\naccess_log = true\n"
        '[monitoring]\ninterval_minutes = 2\nwindow = "day"\nlabels = {live = "churned"}\n'
        'sensitive = {live = ["region", "age"]}\n[monitoring.smtp]\nhost = "mail"\nport = 2525\n'
        'from = "ops@example.com"\n[[alerts]]\nname = "drift"\nmetric = "rows"\nop = ">"\n'
        'threshold = 1\n[loops.live]\npipeline = "train.py:retrain"\ntriggers = ["schedule:0 3 * * 1"]\n'
        'gate = { metric = "accuracy", min = 0.7 }\n'
    )
    settings = Settings.resolve(environ={}, cwd=tmp_path)
    assert settings.serve.retention_days == 30.0 and settings.serve.access_log is True
    monitoring = settings.monitoring
    assert (monitoring.interval_minutes, monitoring.window) == (2.0, "day")
    assert monitoring.labels == {"live": "churned"}
    assert monitoring.sensitive == {"live": ("region", "age")}
    assert (monitoring.smtp.host, monitoring.smtp.port) == ("mail", 2525)
    assert monitoring.smtp.from_address == "ops@example.com"
    assert settings.alerts[0]["name"] == "drift"
    loop = settings.loops["live"]
    assert loop.pipeline == "train.py:retrain" and loop.triggers == ("schedule:0 3 * * 1",)
    assert loop.gate == {"metric": "accuracy", "min": 0.7}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "[monitoring]\nintervall_minutes = 5\n",
            "unknown setting monitoring.intervall_minutes in",
        ),
        ("[monitoring]\nintervall_minutes = 5\n", "did you mean 'interval_minutes'"),
        ("[store]\ntracking_uri = 5\n", "store.tracking_uri in .* is text"),
        ('[serve]\nretention_days = "a month"\n', "serve.retention_days in .* is a number"),
        ('[monitoring]\nlabels = "churned"\n', "monitoring.labels in .* is a table"),
        ('[monitoring.smtp]\nport = "twenty"\n', "monitoring.smtp.port in .* is a whole number"),
        ("[loops.live]\ntriggers = []\n", "loops.live in .* needs 'pipeline'"),
        ("[stores]\n", "unknown setting stores in .*did you mean 'store'"),
    ],
)
def test_a_bad_key_names_itself_and_the_file(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "shipway.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        Settings.resolve(environ={}, cwd=tmp_path)


def test_workers_receive_the_resolved_settings_whole(tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text(
        '[monitoring]\nlabels = {live = "y"}\n[loops.live]\npipeline = "p:f"\n'
    )
    settings = Settings.resolve({"token": "sw_x", "user": "u"}, environ={}, cwd=tmp_path)
    again = Settings.from_json(settings.to_json())
    assert (
        again == settings
        and again.store.token == "sw_x"
        and again.config_file == settings.config_file
    )


@pytest.mark.parametrize(
    ("written", "read"),
    [('"hour"', "hour"), ('"day"', "day"), ("1000", 1000), ('"1500"', 1500)],
)
def test_a_monitoring_window_is_a_period_or_a_number_of_rows(
    tmp_path: Path, written: str, read: str | int
) -> None:
    """Issue 24: `window = 1000` means a thousand rows, not an error asking for quotes."""
    (tmp_path / "shipway.toml").write_text(f"[monitoring]\nwindow = {written}\n")
    assert Settings.resolve(environ={}, cwd=tmp_path).monitoring.window == read


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ('"weekly"', "window is hour, day or a number of rows"),
        ("0", "window is hour, day or a number of rows"),
        ("true", "window in .* is text or a whole number, not True"),
        ("2.5", "window in .* is text or a whole number, not 2.5"),
    ],
)
def test_a_bad_monitoring_window_says_what_it_takes(
    tmp_path: Path, written: str, said: str
) -> None:
    (tmp_path / "shipway.toml").write_text(f"[monitoring]\nwindow = {written}\n")
    with pytest.raises(ConfigError, match=said):
        Settings.resolve(environ={}, cwd=tmp_path)
