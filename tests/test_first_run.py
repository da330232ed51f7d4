"""A calm first run of `./scripts/start`: it waits for another apt run instead of failing, takes a
PORT, serves a favicon, prints no broker warning, logs in one time zone and logs an expected 403
or 404 as one line."""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string
from PIL import Image

from tests.test_settings_env import manage

ROOT = Path(__file__).resolve().parents[1]
START = ROOT / "scripts" / "start"
SETUP = ROOT / "scripts" / "setup"


# --- the favicon ----------------------------------------------------------------------------------


def test_the_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age" in response["Cache-Control"]
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO" and (32, 32) in icon.info["sizes"]
    assert reverse("favicon") == "/favicon.ico"


# --- the log --------------------------------------------------------------------------------------


def _console(stream: io.StringIO) -> logging.Handler:
    """The console handler as settings.LOGGING describes it, writing to `stream`."""
    config = settings.LOGGING
    described = config["handlers"]["console"]
    plain = config["formatters"][described["formatter"]]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(plain["format"], plain.get("datefmt")))
    for name in described["filters"]:
        handler.addFilter(import_string(config["filters"][name]["()"])())
    return handler


@pytest.fixture
def request_log():
    stream = io.StringIO()
    handler = _console(stream)
    logger = logging.getLogger("django.request")
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(saved)


def test_a_404_and_a_403_are_one_line_each_with_the_time_zone(client, world, request_log):
    client.force_login(world.auditor)
    assert client.get("/no-such-page/").status_code == 404
    assert client.get(reverse("enrollment:member_detail", args=[10**9])).status_code == 404
    assert client.get(reverse("claims:claim_start")).status_code == 403  # not a clerk
    lines = request_log.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "Not Found: /no-such-page/" in lines[0]
    assert "Forbidden (Permission denied): /claims/report/" in lines[2]
    assert "Traceback" not in request_log.getvalue()
    # Django gives the process settings.TIME_ZONE; the lines say so with their offset.
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0800 WARNING ", line) for line in lines)


def test_an_error_keeps_its_traceback():
    stream = io.StringIO()
    handler = _console(stream)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Server Error",
            (),
            (type(exc), exc, exc.__traceback__),
        )
    error.status_code = 500
    handler.handle(error)
    assert "Traceback" in stream.getvalue() and "ValueError: boom" in stream.getvalue()


def test_start_gives_every_process_the_portals_time_zone():
    zone = re.search(r"^export TZ=(\S+)$", START.read_text(), re.M)
    assert zone and zone.group(1) == settings.TIME_ZONE


# --- the broker ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [None, "filesystem://"])
def test_the_file_system_broker_says_no_hostname_warning(tmp_path, url):
    env = {"DEBUG": "true", "LOG_LEVEL": "INFO"}
    if url is not None:
        env["CELERY_BROKER_URL"] = url
    code = (
        "from mutualaid.celery import app\n"
        "with app.connection_for_write() as connection:\n"
        "    print(connection.info()['hostname'])\n"
    )
    result = manage("shell", "--no-imports", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "localhost"
    assert "No hostname was supplied" not in result.stderr + result.stdout


# --- PORT -----------------------------------------------------------------------------------------


def _start(port: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORT": port}
    return subprocess.run(
        [str(START)], env=env, capture_output=True, text=True, timeout=30, cwd=ROOT
    )


@pytest.mark.parametrize("port", ["abc", "0", "08100", "65536", "81 00"])
def test_start_refuses_a_port_that_is_not_one(port):
    result = _start(port)
    assert result.returncode == 2
    assert "PORT must be a port number from 1 to 65535" in result.stderr


def test_start_says_plainly_that_the_port_is_taken_before_setting_anything_up():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _start(str(port))
    assert result.returncode == 1
    assert (
        f"Port {port} is in use" in result.stderr and "PORT=8100 ./scripts/start" in result.stderr
    )
    assert "==>" not in result.stdout  # setup did not run


def test_start_serves_on_the_port_it_was_given():
    text = START.read_text()
    assert 'port="${PORT:-8000}"' in text
    assert '--bind "127.0.0.1:$port"' in text
    assert "http://127.0.0.1:$port" in text
    assert "PORT=8100 ./scripts/start" in (ROOT / "README.md").read_text()


# --- the apt lock ---------------------------------------------------------------------------------


def _apt_get_function() -> str:
    text = SETUP.read_text()
    found = re.search(r"^apt_get\(\) \{\n.*?^\}\n", text, re.M | re.S)
    assert found, "scripts/setup defines apt_get()"
    return found.group(0)


@pytest.fixture
def fake_apt(tmp_path):
    """An apt-get that is locked out its first `LOCKED` calls (as while another apt runs), and a
    sleep that does not wait."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(
        "#!/bin/bash\n"
        'echo "$*" >> "$FAKE_APT_CALLS"\n'
        'n=$(wc -l < "$FAKE_APT_CALLS")\n'
        'if [ "$n" -le "$LOCKED" ]; then\n'
        '  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242'
        ' (apt-get)" >&2\n'
        "  exit 100\n"
        "fi\n"
        'if [ -n "$FAIL_OTHERWISE" ]; then\n'
        '  echo "E: Unable to locate package $2" >&2; exit 100\n'
        "fi\n"
        "exit 0\n"
    )
    (bin_dir / "sleep").write_text("#!/bin/bash\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    harness = tmp_path / "harness.sh"
    harness.write_text(
        "set -euo pipefail\nlog() { echo \"==> $*\"; }\nsudo=''\n"
        'apt_lock_wait="${APT_LOCK_WAIT:-600}"\n' + _apt_get_function() + 'apt_get "$@"\n'
    )

    def run(locked: int, *args: str, fail: bool = False, wait: int = 600):
        calls = tmp_path / "calls"
        calls.write_text("")
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "FAKE_APT_CALLS": str(calls),
            "LOCKED": str(locked),
            "APT_LOCK_WAIT": str(wait),
        }
        if fail:
            env["FAIL_OTHERWISE"] = "1"
        result = subprocess.run(
            ["bash", str(harness), *args], env=env, capture_output=True, text=True, timeout=30
        )
        return result, calls.read_text().splitlines()

    return run


def test_setup_waits_for_another_apt_run_instead_of_failing(fake_apt):
    result, calls = fake_apt(3, "update", "-qq")
    assert result.returncode == 0, result.stderr
    assert len(calls) == 4
    assert all(call == "-o DPkg::Lock::Timeout=600 update -qq" for call in calls)
    assert result.stdout.count("Waiting for another apt or dpkg run") == 1


def test_setup_stops_waiting_after_the_limit_and_says_why(fake_apt):
    result, calls = fake_apt(1000, "update", wait=20)
    assert result.returncode == 1
    assert len(calls) == 5  # at 0, 5, 10, 15 and 20 seconds
    assert "Could not get lock" in result.stderr


def test_setup_does_not_retry_an_error_that_is_not_the_lock(fake_apt):
    result, calls = fake_apt(0, "install", "no-such-package", fail=True)
    assert result.returncode == 1 and len(calls) == 1
    assert "Unable to locate package" in result.stderr
