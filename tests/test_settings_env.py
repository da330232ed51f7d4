"""Settings come from the environment, strictly; production values pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k7#Vq9!zR2@mW4^xT6&bN8*cL1(pJ3)hF5_dS0+gA-yE=uI[oK]lZ;nM:vB<rC>tX",
    "ALLOWED_HOSTS": "hzbx.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "SECRET_", "DEBUG", "ALLOWED_"))
    }
    clean.update(
        {
            "PORTAL_IGNORE_DOTENV": "1",
            "DATA_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "mutualaid.settings",
        }
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_values(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_without_debug(tmp_path):
    env = dict(PRODUCTION, SECRET_KEY="")
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a yes/no value"),
        ("ROSTER_MAX_UPLOAD_MB", "twenty", "ROSTER_MAX_UPLOAD_MB='twenty' is not a whole number"),
        ("ROSTER_MAX_UPLOAD_MB", "0", "must be at least 1"),
        ("DATABASE_URL", "nosuchdb://x", "DATABASE_URL cannot be used"),
    ],
)
def test_bad_values_stop_start_up_with_a_clear_message(tmp_path, name, value, message):
    result = manage("check", env=dict(PRODUCTION, **{name: value}), tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_allowed_hosts_are_required_without_debug(tmp_path):
    result = manage("check", env=dict(PRODUCTION, ALLOWED_HOSTS=""), tmp_path=tmp_path)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_defaults_need_no_services(settings):
    """Without DATABASE_URL or a broker URL the portal uses SQLite and the file-system broker."""
    from mutualaid import settings as real

    if "DATABASE_URL" not in os.environ:
        assert real.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    if "CELERY_BROKER_URL" not in os.environ:
        assert real.CELERY_BROKER_URL == "filesystem://"
