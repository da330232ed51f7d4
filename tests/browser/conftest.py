"""Browser tests: the portal's journeys driven in a real headless Chromium (Debian's `chromium`)
through Playwright, against pytest-django's live server.

They run only when PORTAL_BROWSER_TESTS=1 and /usr/bin/chromium exists (`.ci/run` sets both up);
otherwise every test here is skipped before any fixture starts, so the default suite stays fast.
Every step's screenshot is kept under test-artifacts/browser/<test name>/<NN>-<step>.png.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from mutualaid.celery import app as celery_app
from tests.test_roster_worker import _database_url, _fresh_pool

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A common phone: 390 CSS pixels wide, its screen as tall as 844; touch, mobile viewport rules.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's password
HERE = Path(__file__).resolve().parent


def _skip_reason() -> str | None:
    if os.environ.get("PORTAL_BROWSER_TESTS") != "1":
        return "browser tests run only with PORTAL_BROWSER_TESTS=1"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if Path(str(item.fspath)).resolve().parent != HERE:
            continue
        item.add_marker(pytest.mark.browser)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls
    # (fixtures, assertions on the database) are still plain synchronous code.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    if saved is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


class Shots:
    """Numbered screenshots of one test's steps."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        self.paths: list[Path] = []

    def __call__(self, page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.paths.append(path)
        return path


@pytest.fixture
def shots(request) -> Shots:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


class Portal:
    """Opens logged-in browser pages on the live server."""

    def __init__(self, browser, base_url: str, downloads: Path):
        self.browser = browser
        self.base_url = base_url
        self.downloads = downloads
        self.contexts = []

    def login(self, user, *, shots: Shots | None = None, phone: bool = False):
        """A logged-in page: a 1280 px desktop window, or with ``phone`` a 390×844 touch
        screen that reports itself as mobile (as a clerk's phone does)."""
        screen = PHONE if phone else {"viewport": {"width": 1280, "height": 900}}
        context = self.browser.new_context(**screen, accept_downloads=True, locale="zh-CN")
        context.set_default_timeout(20_000)
        self.contexts.append(context)
        page = context.new_page()
        page.goto(self.base_url + "/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        if shots:
            shots(page, f"login-{user.role}")
        page.click("main [type=submit]")
        page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, f"{user.username} could not log in"
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, started with a MEDIA_URL on another host.

    The portal sets MEDIA_URL = None (uploads are served only through views that check scope),
    which Django's live-server media handler cannot parse; with an absolute URL that handler
    serves nothing and leaves every path to the portal's own views."""
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    addr = request.config.getvalue("liveserver") or "localhost"
    server = LiveServer(addr, start=False)
    with override_settings(MEDIA_URL="http://media.invalid/"):
        server.start()
    yield server
    server.stop()


@pytest.fixture
def portal(browser, live_server, tmp_path):
    site = Portal(browser, live_server.url, tmp_path)
    yield site
    site.close()


def wait_for_selector(page, selector: str, *, seconds: float = 90, worker=None) -> None:
    """Reloads the page until `selector` is on it (the worker finishes in its own time)."""
    deadline = time.monotonic() + seconds
    while page.locator(selector).count() == 0:
        if worker is not None and worker.poll() is not None:
            pytest.fail("the worker stopped:\n" + worker.log.read_text()[-5000:])
        if time.monotonic() > deadline:
            pytest.fail(f"{selector} did not appear on {page.url} within {seconds} s")
        page.wait_for_timeout(500)
        page.reload()
        page.wait_for_load_state()


@pytest.fixture
def worker(tmp_path):
    """A real Celery worker process on the file-system broker, against the test database (as in
    tests/test_roster_worker.py); the live server enqueues for it instead of running eagerly."""
    broker = "filesystem://"
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "mutualaid.settings",
            "PORTAL_IGNORE_DOTENV": "1",
            "DEBUG": "true",
            "DATABASE_URL": _database_url(),
            "DATA_DIR": str(settings.DATA_DIR),
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = tmp_path / "worker.log"
    log_file = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mutualaid",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.log = log
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=broker)
    _fresh_pool()
    try:
        yield process
    finally:
        celery_app.conf.update(saved)
        _fresh_pool()
        process.terminate()
        process.wait(timeout=30)
        log_file.close()
        print(log.read_text()[-5000:])
