from __future__ import annotations

from pathlib import Path

import pytest

from shipway.config import CONFIG_TEMPLATE, Settings
from shipway.errors import ConfigError


def test_precedence_argument_over_environment_over_file_over_default(tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text(
        'home = "from-file"\n[store]\ntracking_uri = "sqlite:///file.db"\nartifact_uri = "s3://b/file"\n'
    )
    env = {"SHIPWAY_TRACKING_URI": "sqlite:///env.db"}
    settings = Settings.resolve({"artifact_uri": "s3://b/arg"}, environ=env, cwd=tmp_path)
    assert settings.artifact_uri == "s3://b/arg"
    assert settings.tracking_uri == "sqlite:///env.db"
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


def test_template_parses_and_means_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text(CONFIG_TEMPLATE)
    settings = Settings.resolve(environ={}, cwd=tmp_path)
    assert settings.home == tmp_path / ".shipway" and settings.flush_seconds == 1.0


@pytest.mark.parametrize(
    ("content", "overrides", "message"),
    [
        ("home = [", {}, "fix the TOML syntax"),
        ("", {"nonsense": 1}, "unknown setting(s): nonsense"),
        ("[tracking]\nflush_seconds = -1\n", {}, "flush_seconds must be a positive number"),
    ],
)
def test_bad_settings_say_what_to_fix(
    tmp_path: Path, content: str, overrides: dict, message: str
) -> None:
    (tmp_path / "shipway.toml").write_text(content)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.resolve(overrides, environ={}, cwd=tmp_path)
