"""Bad requests are answered with 400 or a page that names the problem, never with a 500.

Every page found by the URL walk of tests/test_security.py is sent hostile values in every query
parameter and form field it reads: a NUL byte (PostgreSQL refuses it in text), 10,000
characters, numbers too large for any column, the first and last days a date can name, an
infinite float, and text where a number or a date belongs. The fields are found by rendering the
pages as the people who use them and collecting the names of their <input>, <select>,
<textarea> and named buttons, by the form's target (objects in the states that show each form
are added for this); the query parameters the views read beside their forms are listed in
QUERY_PARAMS, and every page gets ANY_PAGE as well. A value goes alone into one field (the others
left out, where the deepest code is reached) and into all of a form's fields at once. Ids far
beyond any column's range go into every URL that names a record.

Run it on PostgreSQL too (DATABASE_URL): it refuses NUL bytes, over-long text and dates beyond
its range where SQLite stores them.
"""

from __future__ import annotations

import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from tests import factories
from tests.test_security import PAGES, Url, concrete_urls, fill, site  # noqa: F401 - the fixture

# Query parameters the views read beside their forms, by page.
QUERY_PARAMS = {
    "enrollment:union_list": ("q", "page"),
    "enrollment:member_list": ("q", "page"),
    "enrollment:roster_list": ("status", "page"),
    "enrollment:roster_upload": ("plan",),
    "enrollment:funding_help": ("plan",),
    "enrollment:roster_detail": ("code", "page"),
    "claims:claim_list": ("page",),
    "claims:notice_bundle": ("download",),
    "oversight:audit_log": ("page", "s", "user", "action"),
    "oversight:background_work": ("page",),
}
# Every other page gets these too, all at once, in case it reads one.
ANY_PAGE = ("page", "q", "status", "code", "plan", "download", "union", "id")
HOSTILE = (
    "\x00",
    "a\x00b",
    "a" * 10_000,
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "-1e309",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-02-30",
    "[]",
    "x",
)
# Values that reach each field alone. NUL bytes are refused before any view (one request per
# form shows it); the rest may trip a field's own parsing or what a view does with it.
ALONE = tuple(value for value in HOSTILE if "\x00" not in value)
# Personas that render the pages (each sees its own forms on a claim's or roster's page).
PERSONAS = ("clerk_a", "county_staff_a", "office_staff", "plan_admin", "auditor")
# A form with more fields than this (the plan rules editor) gets its values all at once only.
ALONE_MAX_FIELDS = 16


class _Forms(HTMLParser):
    """The forms of a page: (method, target path) -> field names."""

    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: dict[tuple[str, str], set[str]] = {}
        self._current: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = (values.get("method") or "get").lower()
            target = urlsplit(values.get("action") or self.page_path).path or self.page_path
            self._current = (method, target)
            self.forms.setdefault(self._current, set())
        elif tag in ("input", "select", "textarea", "button") and values.get("name"):
            if values.get("type") == "file" or values["name"] == "csrfmiddlewaretoken":
                return
            key = self._current
            if values.get("form"):  # a control outside its form, tied to it by id
                return
            if key is not None:
                self.forms[key].add(values["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _route_key(path: str) -> str | None:
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


def _discover(urls: list[str], clients: list[Client]) -> dict[tuple[str, str], set[str]]:
    """Every form target of every page, as anyone sees it, with the fields it sends."""
    found: dict[tuple[str, str], set[str]] = {}
    for url in urls:
        for client in clients:
            response = client.get(url)
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue
            parser = _Forms(url)
            parser.feed(response.content.decode())
            for key, names in parser.forms.items():
                found.setdefault(key, set()).update(names)
    return found


def _more_pages(site) -> list[str]:  # noqa: F811
    """Pages of objects in the other states their forms appear in: a claim under review (the
    decision), reported (return for documents), paid (secondary assistance); a submitted and an
    approved roster (return, payment); a payout waiting for a batch (the batch form)."""
    from claims.models import Claim, Payout
    from enrollment.models import Roster
    from tests import factories

    world = site.world
    urls = []
    for status in (Claim.Status.REVIEWING, Claim.Status.REPORTED, Claim.Status.PAID):
        claim = factories.ClaimFactory(
            enrollment=site.enrollment,
            reported_by=world.clerk_a,
            status=status,
            proposal={"decision": "pay", "amount": "100.00", "reasons": []},
            **({"approved_amount": "100.00"} if status == Claim.Status.PAID else {}),
        )
        urls.append(f"/claims/{claim.pk}/")
        if status == Claim.Status.PAID:
            Payout.objects.create(
                claim=claim,
                kind=Payout.Kind.PRIMARY,
                amount="100.00",
                payee_name=claim.payee_name,
                payee_account=claim.payee_account,
                status=Payout.Status.DUE,
                granted_by=world.office_staff,
            )
    for year, status in ((2027, Roster.Status.SUBMITTED), (2028, Roster.Status.APPROVED)):
        # Periods of their own: returned, each becomes the period's one draft.
        roster = factories.RosterFactory(
            union=world.unit_a,
            created_by=world.clerk_a,
            status=status,
            fee_total="110.00",
            coverage_start=datetime.date(year, 1, 1),
            coverage_end=datetime.date(year, 12, 31),
        )
        urls.append(f"/rosters/{roster.pk}/")
    return urls


def test_no_value_in_any_field_of_any_page_is_a_server_error(site):  # noqa: F811
    world = site.world
    clients = {}
    for persona in {*PERSONAS, *(p.owner for p in PAGES.values())}:
        client = Client(raise_request_exception=False)
        client.force_login(getattr(world, persona))
        clients[persona] = client
    anonymous = Client(raise_request_exception=False)

    urls = [u for u in concrete_urls(site) if u.page is not None]
    pages = [u.url for u in urls if u.page.get] + _more_pages(site)
    forms = _discover(pages, [anonymous, *(clients[p] for p in PERSONAS)])
    # The fields of each form target, and of each page's query.
    targets: dict[tuple[str, str], set[str]] = {}
    for item in urls:
        if item.page.get:
            targets[("get", item.url)] = set(QUERY_PARAMS.get(_route_key(item.url), ()))
    for (method, path), names in forms.items():
        if _route_key(path) is None or method not in ("get", "post"):
            continue
        targets.setdefault((method, path), set()).update(names)
    assert {"date_from", "date_to", "ip", "record"} <= targets[("post", "/audit/")]
    posted = {path for (method, path), names in targets.items() if method == "post" and names}
    for action in ("/accounts/login/", "/decide/", "/secondary/", "/return/", "/payment/"):
        assert any(path.endswith(action) for path in posted), action

    failures: list[tuple] = []
    sent = 0

    def check(method: str, path: str, data: dict) -> None:
        nonlocal sent
        page = PAGES.get(_route_key(path))
        if page is None:
            return  # the admin (its own forms), or a page not classified yet
        client = anonymous if page.public else clients[page.owner]
        response = getattr(client, method)(path, data)
        sent += 1
        if response.status_code >= 500:
            error = response.exc_info[1] if response.exc_info else None
            shown = {k: (v if len(v) < 30 else f"{v[:10]}…({len(v)})") for k, v in data.items()}
            failures.append((method.upper(), path, shown, response.status_code, repr(error)))

    # GETs first, then the POSTs (which may change the objects).
    for method in ("get", "post"):
        for (form_method, path), names in sorted(targets.items()):
            if form_method != method:
                continue
            if method == "get":
                for value in ("\x00", "a" * 10_000, "99999999999999999999", "x"):
                    check(method, path, dict.fromkeys(ANY_PAGE, value))
            if not names:
                continue
            for value in HOSTILE:
                check(method, path, dict.fromkeys(names, value))
            if len(names) <= ALONE_MAX_FIELDS:
                for name in sorted(names):
                    for value in ALONE:
                        check(method, path, {name: value})

    # Ids in the path far beyond any column's range are a 404, not an overflow.
    for item in urls:
        match = resolve(item.url)
        huge = {k: "99999999999999999999" for k, v in match.kwargs.items() if isinstance(v, int)}
        if not huge or item.page.public:
            continue
        url = fill(item.route.route, {**match.kwargs, **huge})
        client = clients[item.page.owner]
        response = client.get(url) if item.page.get else client.post(url)
        sent += 1
        if response.status_code >= 500:
            failures.append(("ID", url, {}, response.status_code, repr(response.exc_info)))

    assert not failures, "\n".join(map(str, failures))
    assert sent > 1000


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=a%00b", "page=%00", "%00=1"],
)
def test_a_nul_byte_in_a_search_is_a_400_in_the_users_language(client, world, query):
    client.force_login(world.clerk_a)
    response = client.get(f"/members/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="bad-request"' in page
    assert response.templates and response.templates[0].name == "400.html"
    client.cookies["django_language"] = "en"
    english = client.get(f"/members/?{query}")
    assert english.status_code == 400
    assert "The request held a character that is not allowed" in english.content.decode()


def test_a_nul_byte_in_a_form_is_refused_and_changes_nothing(client, world, covered):
    from claims.models import Claim

    enrollment, _run = covered
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        reported_by=world.clerk_a,
        status=Claim.Status.REVIEWING,
        proposal={"decision": "pay", "amount": "100.00", "reasons": []},
    )
    client.force_login(world.office_staff)
    move = f"/claims/{claim.pk}/move/"
    response = client.post(move, {"to": "returned", "note": "invoice\x00 missing"})
    assert response.status_code == 400
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING and not claim.events.exists()
    # The same step without the NUL is carried out: the refusal was the NUL's.
    done = client.post(move, {"to": "returned", "note": "invoice missing"})
    assert done.status_code == 302
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RETURNED


def test_a_nul_byte_in_a_sign_in_or_the_browser_name_is_a_400(client, world):
    from axes.models import AccessAttempt

    response = client.post("/accounts/login/", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 400
    assert not AccessAttempt.objects.exists()
    client.force_login(world.clerk_a)
    assert client.get("/", HTTP_USER_AGENT="Mozilla\x00").status_code == 400
    assert client.get("/members/", HTTP_USER_AGENT="Mozilla").status_code == 200


def test_the_audit_page_refuses_dates_out_of_range_with_a_message(client, world):
    client.force_login(world.auditor)
    client.cookies["django_language"] = "en"
    response = client.get("/audit/?date_from=0001-01-01&date_to=9999-12-31")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["date_from"] == ["Enter a date from 2000-01-01 to 2099-12-31."]
    assert form.errors["date_to"] == ["Enter a date from 2000-01-01 to 2099-12-31."]
    assert not response.context["rows"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_extreme_dates_in_otherwise_valid_forms_are_messages(site, day):  # noqa: F811
    """Forms whose dates feed date arithmetic (a year of cover from the start, a search up to the
    end of a day): a day at the edge of the calendar is a message beside the field."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.test_roster_journey import good_rows, workbook

    world = site.world
    office, plan_admin, clerk = Client(), Client(), Client()
    office.force_login(world.office_staff)
    plan_admin.force_login(world.plan_admin)
    clerk.force_login(world.clerk_a)
    facts = {
        "admission_date": "2026-03-01",
        "discharge_date": "2026-03-11",
        "hospital_locality": "local",
        "hospital_grade": "3",
    }
    trial = {
        "plan": site.plan.code,
        "coverage_start": "2026-01-01",
        "shares": "1",
        "benefit": "hospital_allowance",
        "filed_date": "2026-03-20",
        **facts,
    }
    assert office.get("/claims/trial/", trial).context["decision"] is not None  # the baseline
    for name in ("coverage_start", "filed_date"):
        page = office.get("/claims/trial/", {**trial, name: day})
        assert page.status_code == 200 and page.context["form"].errors[name], name
        assert page.context["decision"] is None

    setup = {
        "coverage_start": day,
        "claim0-benefit": "hospital_allowance",
        **{f"claim0-{k}": v for k, v in facts.items()},
    }
    page = plan_admin.post(f"/plans/{site.plan.code}/v{site.draft.number}/try/", setup)
    assert page.status_code == 200 and page.context["setup"].errors["coverage_start"]

    from enrollment.models import Roster

    before = Roster.objects.count()
    page = clerk.post(
        "/rosters/upload/",
        {
            "plan": site.plan.code,
            "coverage_start": day,
            "unit_percent": "60",
            "union_percent": "0",
            "member_percent": "40",
            "file": SimpleUploadedFile("名单.xlsx", workbook(good_rows(2))),
        },
    )
    assert page.status_code == 200 and page.context["form"].errors["coverage_start"]
    assert Roster.objects.count() == before
