"""No ID number in a web address: the searches that can hold one (a clerk's member lookup for a
claim, the member search, the auditor's search) go by POST and come back under an opaque token,
so a number never reaches an access log, a proxy or the browser's history.

The journey test runs the searches through a real HTTP server that logs every request line (as
gunicorn's access log does) and scans that log for 18-character ID numbers.
"""

from __future__ import annotations

import http.cookiejar
import io
import logging
import re
import time
import urllib.parse
import urllib.request

import openpyxl
import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.test.testcases import LiveServerThread
from django.urls import reverse

from mutualaid import searches
from mutualaid.auditlog.models import AuditEntry
from tests import factories

ID_NUMBER = re.compile(r"\d{17}[\dXx]")
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's password


def _no_id(url: str) -> bool:
    return not ID_NUMBER.search(urllib.parse.unquote(url))


# --- the views, through the test client ----------------------------------------------------------


def test_an_id_number_in_a_get_search_is_dropped_by_a_redirect(client, world):
    number = world.member_a.id_number
    client.force_login(world.office_staff)
    for url, params in (
        (reverse("enrollment:member_list"), {"q": number}),
        (reverse("enrollment:member_list"), {"q": number[:16]}),
        (reverse("enrollment:member_list"), {"q": " ".join([number[:6], number[6:]])}),
    ):
        response = client.get(url, params)
        assert response.status_code == 302 and response["Location"] == url
    client.force_login(world.clerk_a)
    response = client.get(reverse("claims:claim_start"), {"id_number": number})
    assert response.status_code == 302 and _no_id(response["Location"])
    client.force_login(world.auditor)
    for name in ("oversight:audit_log", "oversight:audit_export"):
        response = client.get(reverse(name), {"record": number, "action": "update"})
        assert response.status_code == 302
        assert response["Location"] == reverse("oversight:audit_log")


def test_a_name_search_stays_a_plain_address(client, world):
    client.force_login(world.office_staff)
    url = reverse("enrollment:member_list")
    response = client.post(url, {"q": "甲职"})
    assert response.status_code == 302
    assert response["Location"] == url + "?" + urllib.parse.urlencode({"q": "甲职"})
    page = client.get(response["Location"]).content.decode()
    assert "甲职工" in page and "乙职工" not in page
    assert client.post(url, {"q": ""})["Location"] == url


def test_a_member_found_by_id_number_is_shown_under_a_token(client, world):
    client.force_login(world.office_staff)
    url = reverse("enrollment:member_list")
    response = client.post(url, {"q": world.member_a.id_number.lower()})
    location = response["Location"]
    assert re.fullmatch(re.escape(url) + r"\?s=[\w-]{16}", location)
    page = client.get(location).content.decode()
    assert "甲职工" in page and "乙职工" not in page
    assert world.member_a.id_number_masked in page and world.member_a.id_number not in page
    # The session keeps the number's digest and masked form, never the number.
    assert world.member_a.id_number not in str(dict(client.session))
    assert world.member_a.id_number.lower() not in str(dict(client.session))


def test_a_token_is_only_good_in_its_session_and_for_a_while(client, world):
    client.force_login(world.office_staff)
    url = reverse("enrollment:member_list")
    location = client.post(url, {"q": world.member_a.id_number})["Location"]

    other = type(client)()
    other.force_login(world.office_staff)
    response = other.get(location)
    assert response.status_code == 302 and response["Location"] == url

    session = client.session
    for entry in session[searches.SESSION_KEY].values():
        entry["at"] -= searches.SEARCH_LIFETIME + 1
    session.save()
    response = client.get(location)
    assert response.status_code == 302 and response["Location"] == url
    assert client.get(url + "?s=made-up").status_code == 302


def test_a_session_keeps_only_its_latest_searches(client, world):
    client.force_login(world.office_staff)
    url = reverse("enrollment:member_list")
    first = client.post(url, {"q": world.member_a.id_number})["Location"]
    for _ in range(searches.SEARCHES_KEPT):
        last = client.post(url, {"q": world.member_b.id_number})["Location"]
    assert len(client.session[searches.SESSION_KEY]) == searches.SEARCHES_KEPT
    assert client.get(first).status_code == 302
    assert "乙职工" in client.get(last).content.decode()


def test_a_clerk_finds_cover_by_id_number_without_it_in_the_address(client, world):
    enrollment = factories.enroll(world.member_a, factories.catalog_version())
    client.force_login(world.clerk_a)
    url = reverse("claims:claim_start")
    response = client.post(url, {"id_number": world.member_a.id_number})
    assert response.status_code == 302 and _no_id(response["Location"])
    page = client.get(response["Location"]).content.decode()
    assert reverse("claims:claim_report", args=[enrollment.pk]) in page
    assert world.member_a.id_number not in page
    # A number without cover in the clerk's unit is an error on the POST's own page.
    missing = client.post(url, {"id_number": world.member_b.id_number})
    assert missing.status_code == 200 and missing.context["form"].errors


def test_the_auditors_search_by_id_number_pages_and_exports_under_its_token(client, world):
    member = world.member_a
    for n in range(3):
        member.phone = f"1390000000{n}"
        member.save()
    assert AuditEntry.objects.filter(trail=f"member:{member.pk}").exists()
    client.force_login(world.auditor)
    url = reverse("oversight:audit_log")
    response = client.post(url, {"record": member.id_number, "record_type": "member"})
    location = response["Location"]
    assert response.status_code == 302 and re.fullmatch(re.escape(url) + r"\?s=[\w-]+", location)
    page = client.get(location)
    entries = page.context["page"].object_list
    assert entries and all(e.trail == f"member:{member.pk}" for e in entries)
    html = page.content.decode()
    assert member.id_number not in html and member.id_number_masked in html
    token = urllib.parse.urlsplit(location).query
    assert f'href="{reverse("oversight:audit_export")}?{token}"' in html

    export = client.get(reverse("oversight:audit_export") + "?" + token)
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet.max_row - 1 == len(entries)

    # A search without an ID number stays in plain parameters, a claim number's digits included.
    plain = client.post(url, {"record_type": "member", "action": "update"})
    assert plain["Location"] == url + "?action=update&record_type=member"
    claim_number = client.post(url, {"record": "LP2026120712345678"})
    assert claim_number["Location"] == url + "?record=LP2026120712345678"


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("220102199001011234", True),
        ("22010219900101123x", True),
        ("２２０１０２１９９００１０１１２３４", True),  # full-width digits
        ("220102 19900101 1234", True),
        ("220102199001011", True),  # an old 15-digit number
        ("LP2026120712345678", False),  # a claim number
        ("PB20261207123456", False),  # a batch number
        ("13900000001", False),
        ("甲职", False),
    ],
)
def test_what_counts_as_an_id_number_in_a_search(text, held):
    assert searches.holds_id_number(text) is held


# --- the access log of a journey -----------------------------------------------------------------


class _LoggingServerThread(LiveServerThread):
    """Django's live server with its request log on (the test one is silent)."""

    def _create_server(self, connections_override=None):
        return self.server_class(
            (self.host, self.port),
            WSGIRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )


class _AccessLog(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged_server(transactional_db, settings):
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.MEDIA_URL = "http://media.invalid/"
    log = _AccessLog()
    logger = logging.getLogger("django.server")
    saved_level = logger.level
    logger.addHandler(log)
    logger.setLevel(logging.INFO)
    thread = _LoggingServerThread("localhost", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://localhost:{thread.port}", log
    finally:
        thread.terminate()
        logger.removeHandler(log)
        logger.setLevel(saved_level)


class _Browser:
    """Cookies, CSRF tokens and redirects, as a browser handles them."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.geturl(), response.read().decode(errors="replace")

    def submit(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        """Opens the page, then sends its POST form with these fields (and its CSRF token)."""
        _url, page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def login(self, user) -> None:
        url, _page = self.submit(
            reverse("login"), {"username": user.username, "password": PASSWORD}
        )
        assert reverse("login") not in url, f"{user.username} could not log in"


def test_no_id_number_reaches_the_access_log_of_the_searches(logged_server, world):
    base, log = logged_server
    enrollment = factories.enroll(world.member_a, factories.catalog_version())
    world.member_a.phone = "13900000001"
    world.member_a.save()
    number = world.member_a.id_number

    clerk = _Browser(base)
    clerk.login(world.clerk_a)
    url, page = clerk.submit(reverse("claims:claim_start"), {"id_number": number.lower()})
    assert reverse("claims:claim_report", args=[enrollment.pk]) in page
    clerk.get(urllib.parse.urlsplit(url).path + "?" + urllib.parse.urlsplit(url).query)
    url, page = clerk.submit(reverse("enrollment:member_list"), {"q": number})
    assert "甲职工" in page and "乙职工" not in page
    clerk.submit(reverse("enrollment:member_list"), {"q": "甲职"})

    auditor = _Browser(base)
    auditor.login(world.auditor)
    url, page = auditor.submit(reverse("oversight:audit_log"), {"record": number})
    assert world.member_a.id_number_masked in page
    export = re.search(r'href="(/audit/export[^"]*)"', page).group(1)
    auditor.get(export.replace("&amp;", "&"))

    # The server logs a request once it has sent the answer, so the last line may come later.
    deadline = time.monotonic() + 10
    while not any("/audit/export" in line for line in log.lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    requests = [line for line in log.lines if re.match(r'"(GET|POST) ', line)]
    assert any(line.startswith('"POST /claims/report/ ') for line in requests), requests
    assert any(re.match(r'"GET /members/\?s=[\w-]+ ', line) for line in requests), requests
    assert any(re.match(r'"GET /audit/export\.xlsx\?s=[\w-]+ ', line) for line in requests)
    leaked = [line for line in requests if not _no_id(line)]
    assert not leaked, leaked
