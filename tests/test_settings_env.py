"""Settings come from the environment, strictly; production values pass `check --deploy`."""

import json
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
    "PERSONAL_DATA_KEYS": "UXmj3QK0V3z4bbnJ3mLCHPqg0hNqvJg_EYyyFjnlqZY=",
    "PERSONAL_DATA_LOOKUP_KEY": "wLQ3o2sbGJQ9QmKCIkNn8kP5W4bYnBBrY4nQpVx1G5A=",
}


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DJANGO_", "DATABASE_", "SECRET_", "DEBUG", "ALLOWED_", "PERSONAL_DATA_")
        )
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


@pytest.mark.parametrize("missing", ["PERSONAL_DATA_KEYS", "PERSONAL_DATA_LOOKUP_KEY"])
def test_personal_data_keys_are_required_without_debug(tmp_path, missing):
    result = manage("check", env=dict(PRODUCTION, **{missing: ""}), tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr
    assert "secrets.token_bytes(32)" in result.stderr  # how to make one


def test_personal_data_keys_are_checked_and_derived_only_in_debug(tmp_path):
    bad = manage("check", env=dict(PRODUCTION, PERSONAL_DATA_KEYS="short"), tmp_path=tmp_path)
    assert bad.returncode != 0
    assert "PERSONAL_DATA_KEYS must hold keys of 32 random bytes" in bad.stderr
    same = dict(PRODUCTION, PERSONAL_DATA_LOOKUP_KEY=PRODUCTION["PERSONAL_DATA_KEYS"])
    assert "must differ" in manage("check", env=same, tmp_path=tmp_path).stderr
    debug = dict(PRODUCTION, DEBUG="true", PERSONAL_DATA_KEYS="", PERSONAL_DATA_LOOKUP_KEY="")
    script = (
        "from django.conf import settings; from mutualaid import crypto; "
        "print(len(settings.PERSONAL_DATA_KEYS), crypto.decrypt(crypto.encrypt('ok')))"
    )
    result = manage("shell", "--no-imports", "-c", script, env=debug, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1 ok"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a yes/no value"),
        ("ROSTER_MAX_UPLOAD_MB", "twenty", "ROSTER_MAX_UPLOAD_MB='twenty' is not a whole number"),
        ("ROSTER_MAX_UPLOAD_MB", "0", "must be at least 1"),
        ("DATABASE_URL", "nosuchdb://x", "DATABASE_URL cannot be used"),
        ("TRUSTED_PROXIES", "proxy.local", "TRUSTED_PROXIES: 'proxy.local' is not an IP"),
        ("TRUSTED_PROXIES", "10.0.0.1/8", "TRUSTED_PROXIES: '10.0.0.1/8' is not an IP"),
        ("AXES_ACCOUNT_FAILURE_LIMIT", "3", "AXES_ACCOUNT_FAILURE_LIMIT=3 must be at least 5"),
        ("AXES_ADDRESS_FAILURE_LIMIT", "9", "AXES_ADDRESS_FAILURE_LIMIT=9 must be at least 10"),
        ("REVEAL_LIMIT_PER_DAY", "5", "REVEAL_LIMIT_PER_DAY=5 must be at least 10"),
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
        assert real.CELERY_BROKER_URL == "filesystem://localhost/"


SECURITY_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": settings.SESSION_COOKIE_HTTPONLY,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SECURE_HSTS_PRELOAD": settings.SECURE_HSTS_PRELOAD,
    "PASSWORD_HASHER": settings.PASSWORD_HASHERS[0],
    "MIDDLEWARE": settings.MIDDLEWARE,
    "SECURE_CSP": settings.SECURE_CSP,
    "AUTHENTICATION_BACKENDS": settings.AUTHENTICATION_BACKENDS,
    "AXES_FAILURE_LIMIT": settings.AXES_FAILURE_LIMIT,
    "AXES_COOLOFF_SECONDS": settings.AXES_COOLOFF_TIME.total_seconds(),
    "SESSION_IDLE_SECONDS": settings.SESSION_IDLE_TIMEOUT.total_seconds(),
}))
"""


def security_settings(env: dict[str, str], tmp_path: Path) -> dict:
    result = manage("shell", "--no-imports", "-c", SECURITY_SETTINGS, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_values_turn_on_https_only_cookies_hsts_csp_and_lockout(tmp_path):
    values = security_settings(PRODUCTION, tmp_path)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert (
        values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and values["SECURE_HSTS_PRELOAD"] is True
    )
    assert values["PASSWORD_HASHER"] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    for middleware in (
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
        "mutualaid.middleware.IdleTimeoutMiddleware",
        "axes.middleware.AxesMiddleware",
    ):
        assert middleware in values["MIDDLEWARE"]
    assert values["MIDDLEWARE"][-1] == "axes.middleware.AxesMiddleware"
    assert values["SECURE_CSP"]["script-src"] == ["'self'"]
    assert values["SECURE_CSP"]["style-src"] == ["'self'"]
    assert values["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    assert values["AXES_FAILURE_LIMIT"] == 5
    assert values["AXES_COOLOFF_SECONDS"] == values["SESSION_IDLE_SECONDS"] == 30 * 60


def test_debug_turns_the_https_only_settings_off_and_env_tunes_the_limits(tmp_path):
    env = dict(
        PRODUCTION,
        DEBUG="true",
        AXES_FAILURE_LIMIT="3",
        AXES_COOLOFF_TIME="15",
        SESSION_IDLE_TIMEOUT="10",
    )
    values = security_settings(env, tmp_path)
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["AXES_FAILURE_LIMIT"] == 3
    assert values["AXES_COOLOFF_SECONDS"] == 15 * 60
    assert values["SESSION_IDLE_SECONDS"] == 10 * 60


def test_production_responses_carry_hsts_and_secure_cookies(tmp_path, client, world):
    """The production values, applied to real responses: HTTP is redirected to HTTPS, HTTPS
    responses carry HSTS, and the session and CSRF cookies are HTTPS-only."""
    from django.test import Client, override_settings
    from django.urls import reverse

    values = security_settings(PRODUCTION, tmp_path)
    names = [
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
    ]
    with override_settings(**{name: values[name] for name in names}):
        browser = Client()  # built inside, so its middleware reads these settings
        plain = browser.get(reverse("login"))
        assert plain.status_code == 301 and plain["Location"].startswith("https://")
        page = browser.get(reverse("login"), secure=True)
        assert page["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
        assert page.cookies[settings_name("CSRF_COOKIE_NAME")]["secure"]
        response = browser.post(
            reverse("login"),
            {"username": world.clerk_a.username, "password": "pw-for-tests"},
            secure=True,
        )
        assert response.status_code == 302
        assert response.cookies[settings_name("SESSION_COOKIE_NAME")]["secure"]
        assert response.cookies[settings_name("SESSION_COOKIE_NAME")]["httponly"]


def settings_name(name: str) -> str:
    from django.conf import settings

    return getattr(settings, name)


# --- behind the proxy: docker-compose.yml -------------------------------------------------------

COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict:
    import yaml

    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_behind_a_proxy_the_trusted_proxies_must_be_named(tmp_path):
    env = dict(PRODUCTION, SECURE_PROXY_SSL_HEADER="true")
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "set TRUSTED_PROXIES" in result.stderr


def test_compose_publishes_only_the_proxy_and_web_stays_internal():
    compose = _compose()
    services = compose["services"]
    published = sorted(name for name, service in services.items() if service.get("ports"))
    assert published == ["proxy"]
    web = services["web"]
    assert "ports" not in web and web["expose"] == ["8000"]
    assert web["networks"] == ["backend"]
    backend = compose["networks"]["backend"]
    assert backend["internal"] is True
    # Every service but the proxy lives on the internal network only.
    for name, service in services.items():
        if name != "proxy":
            assert service["networks"] == ["backend"], name
    proxy = services["proxy"]
    assert set(proxy["networks"]) == {"backend", "edge"}
    assert "web:8000" in proxy["command"]


def test_compose_trusts_exactly_the_proxys_address_and_the_portal_starts_with_it(tmp_path):
    import ipaddress

    compose = _compose()
    services = compose["services"]
    web_env = services["web"]["environment"]
    proxy_address = services["proxy"]["networks"]["backend"]["ipv4_address"]
    subnet = compose["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    assert web_env["SECURE_PROXY_SSL_HEADER"] == "true"
    assert web_env["TRUSTED_PROXIES"] == proxy_address
    # The web's own settings (secrets from .env replaced by the test's) pass `check --deploy`.
    env = dict(PRODUCTION)
    env.update({k: str(v) for k, v in web_env.items() if "${" not in str(v) and k != "DATA_DIR"})
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    script = "from django.conf import settings; print(settings.TRUSTED_PROXIES)"
    shown = manage("shell", "--no-imports", "-c", script, env=env, tmp_path=tmp_path)
    assert shown.stdout.strip().splitlines()[-1] == f"['{proxy_address}/32']"
