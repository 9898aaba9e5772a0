"""Settings: typed from the environment, a bad value named, every variable documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backend.config import ConfigError, describe, load_settings, unknown_variables
from fieldsync.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_values_are_typed(tmp_path):
    settings = load_settings(
        {
            "FIELDSYNC_PORT": "9001",
            "FIELDSYNC_LOG_JSON": "yes",
            "FIELDSYNC_STOCK_DISCREPANCY_RATIO": "0.5",
            "FIELDSYNC_VAR_DIR": str(tmp_path),
            "GOOGLE_APPLICATION_CREDENTIALS": "/etc/fcm.json",
        }
    )
    assert (settings.port, settings.log_json, settings.stock_discrepancy_ratio) == (9001, True, 0.5)
    assert settings.google_application_credentials == "/etc/fcm.json"
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'fieldsync.db'}"
    assert len(settings.secret_key) >= 32  # generated and kept under var/
    assert load_settings({"FIELDSYNC_VAR_DIR": str(tmp_path)}).secret_key == settings.secret_key


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("FIELDSYNC_PORT", "eighty", "is not a whole number"),
        ("FIELDSYNC_PORT", "70000", "is not a TCP port"),
        ("FIELDSYNC_ACCESS_TOKEN_TTL_S", "-5", "must not be negative"),
        ("FIELDSYNC_MAX_BODY_BYTES", "0", "must be at least 1"),
        ("FIELDSYNC_LOG_JSON", "maybe", "is not a boolean"),
        ("FIELDSYNC_STOCK_DISCREPANCY_RATIO", "lots", "is not a number"),
        ("FIELDSYNC_STOCK_DISCREPANCY_RATIO", "nan", "must be a finite number"),
        ("FIELDSYNC_DATABASE_URL", "mysql://db/x", "is not supported"),
        ("FIELDSYNC_ENV", "staging", "use development, production or test"),
        ("FIELDSYNC_LOG_LEVEL", "LOUD", "use DEBUG, INFO, WARNING or ERROR"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(tmp_path, variable, value, says):
    with pytest.raises(ConfigError) as refused:
        load_settings({variable: value, "FIELDSYNC_VAR_DIR": str(tmp_path)})
    assert str(refused.value).startswith(variable) and says in str(refused.value)


def test_production_needs_a_real_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="FIELDSYNC_SECRET_KEY"):
        load_settings({"FIELDSYNC_ENV": "production", "FIELDSYNC_VAR_DIR": str(tmp_path)})
    settings = load_settings({"FIELDSYNC_ENV": "production", "FIELDSYNC_SECRET_KEY": "k" * 32})
    assert settings.secret_key == "k" * 32


def test_misspelt_variables_are_noticed():
    environ = {"FIELDSYNC_DATABSE_URL": "x", "FIELDSYNC_PORT": "1", "FIELDSYNC_TEST_DATABASE_URL": "y"}
    assert unknown_variables(environ) == ["FIELDSYNC_DATABSE_URL"]


def test_every_setting_is_documented():
    """The README (or an area's page in docs/) names every variable Settings reads, and the
    README's table gives each the default it really has."""
    readme = (ROOT / "README.md").read_text()
    text = readme + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    settings = {name: default for name, default, _what in describe()}
    missing = [name for name in settings if f"`{name}`" not in text]
    assert not missing, f"document these in README.md or docs/<area>.md: {missing}"
    rows = dict(re.findall(r"^\| `((?:FIELDSYNC|GOOGLE)_\w+)` \| ([^|]+) \|", readme, flags=re.M))
    assert rows, "README.md has no table of settings"
    unknown = set(rows) - set(settings)
    assert not unknown, f"README.md documents variables that no longer exist: {sorted(unknown)}"
    wrong = {
        name: (shown, settings[name]) for name, shown in rows.items() if shown.strip("` ") != settings[name]
    }
    assert not wrong, f"README.md shows other defaults (shown, real): {wrong}"


def test_the_cli_reports_a_bad_value_as_one_clear_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FIELDSYNC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FIELDSYNC_PORT", "eighty")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err == "fieldsync: configuration error: FIELDSYNC_PORT='eighty' is not a whole number\n"


def test_the_installed_command_stops_without_a_traceback(tmp_path):
    env = {**os.environ, "FIELDSYNC_VAR_DIR": str(tmp_path), "FIELDSYNC_LOG_JSON": "perhaps"}
    done = subprocess.run(
        [sys.executable, "-m", "fieldsync", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "FIELDSYNC_LOG_JSON='perhaps' is not a boolean" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_database_is_one_clear_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FIELDSYNC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FIELDSYNC_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:9/none")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(
        "fieldsync: cannot reach the database postgresql+asyncpg://nobody@127.0.0.1:9/none"
    )
    assert "FIELDSYNC_DATABASE_URL" in err[-1]


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["worker"], ["migrate"], ["demo-seed"], ["user", "create"]]
)
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: fieldsync") and len(out.splitlines()) > 3


def test_user_create_bootstraps_the_first_administrator(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FIELDSYNC_VAR_DIR", str(tmp_path))
    command = ["user", "create", "alice", "--org", "platform", "--role", "admin", "--password", "long-secret"]
    assert main(command) == 1
    assert "add --org-kind service_provider" in capsys.readouterr().err
    assert main([*command, "--org-kind", "service_provider"]) == 0
    out = capsys.readouterr().out
    assert "Created organisation platform (service_provider)" in out and "Created user alice (admin)" in out
    assert main([*command[:-1], "short"]) == 1
    assert capsys.readouterr().err.startswith("fieldsync: password must be at least 8 characters")
