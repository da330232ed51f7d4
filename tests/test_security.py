"""Security properties of every page, found by walking the URL resolver rather than listing pages
by hand: a page added later is checked too, and the suite fails until it is classified here.

* Every URL needs a login, except the few in the allow-list (``public=True`` below).
* Every URL that names an object (a member, roster, claim, document, batch, notice, plan...) of
  office A gives 404 to users of other unions; the same URL works for a user of office A, so the
  404 is the scope, not a bad URL. A user whose role the page does not admit at all gets 403
  before any object is looked up (the same answer whatever the id, so it reveals nothing).
* Every POST without a CSRF token is refused with 403, and the same POST with the token is not.
* Uploads live outside the web root under generated names; no URL serves MEDIA_ROOT.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from claims.models import Claim, ClaimDocument, NoticeBundle, PaymentBatch, Payout, Transfer
from enrollment.models import Roster, SubsidyStatement
from mutualaid.outbox.models import Job
from organisation.models import User
from plans import services as plan_services
from plans.models import Plan
from tests import factories
from tests.test_roster_journey import good_rows, upload, workbook

PDF = factories.pdf_document()
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's password

CLERK = (User.Role.CLERK,)
OFFICE = (User.Role.OFFICE_STAFF,)
PLAN_ADMIN = (User.Role.PLAN_ADMIN,)
DASHBOARD = (User.Role.OFFICE_STAFF, User.Role.AUDITOR)
AUDIT = (User.Role.AUDITOR,)


# --- the classification of every URL pattern -----------------------------------------------------


@dataclass(frozen=True)
class Page:
    """What a URL pattern is, for these tests.

    get / post: the methods the page answers (any other gets 405).
    public: reachable without logging in.
    scope: the page names an object of unit A ("unit") or of office A ("office"), which other
        unions' users must not reach.
    roles: the roles the page admits (empty: every logged-in user); others get 403.
    owner: a persona of office A who may use the page (to show the URL is a real one).
    kwargs: the URL's parameters, made from the objects in `site`; one URL per dict.
    """

    get: bool = True
    post: bool = False
    public: bool = False
    scope: str | None = None
    roles: tuple[str, ...] = ()
    owner: str = "office_staff"
    kwargs: Callable[[SimpleNamespace], list[dict]] = lambda o: [{}]


def _pk(name: str) -> Callable[[SimpleNamespace], list[dict]]:
    return lambda o: [{"pk": getattr(o, name).pk}]


def _headcount_proposal(o: SimpleNamespace):
    """Unit A's pending headcount proposal (made on first use; the owner's empty POST decides
    nothing)."""
    from organisation.headcount import headcount_propose, pending_proposal

    return pending_proposal(o.unit) or headcount_propose(
        user=o.world.clerk_a, union=o.unit, headcount=120
    )


PAGES: dict[str, Page] = {
    # The allow-list: the only pages an anonymous visitor reaches (static files are served by
    # WhiteNoise, outside the URL patterns).
    "login": Page(post=True, public=True),
    # Logging out is for the logged in: an anonymous POST is sent to the login page too. Its
    # owner uses no other page here, since the POST ends that session.
    "logout": Page(get=False, post=True, owner="county_staff_a"),
    "set_language": Page(post=True, public=True),
    "favicon": Page(public=True),
    "admin:login": Page(post=True, public=True),
    # Everything else needs a login.
    "home": Page(),
    "enrollment:union_list": Page(),
    "enrollment:union_detail": Page(scope="unit", kwargs=_pk("unit")),
    "enrollment:member_list": Page(post=True),  # a search by ID number (never in the URL)
    "enrollment:member_detail": Page(scope="unit", kwargs=_pk("member")),
    # Shows an ID or bank number in full (and logs it): only roles that work with members.
    "enrollment:member_reveal": Page(
        get=False,
        post=True,
        scope="unit",
        roles=(User.Role.CLERK, User.Role.COUNTY_STAFF, User.Role.OFFICE_STAFF),
        kwargs=lambda o: [{"pk": o.member.pk, "field": f} for f in ("id_number", "bank_card")],
    ),
    "enrollment:roster_list": Page(),
    "enrollment:roster_upload": Page(post=True, roles=CLERK, owner="clerk_a"),
    "enrollment:funding_help": Page(roles=CLERK, owner="clerk_a"),
    "enrollment:upload_plan_panel": Page(roles=CLERK, owner="clerk_a"),
    "enrollment:renewal_workbook": Page(
        get=False,
        post=True,
        scope="unit",
        roles=(User.Role.CLERK, User.Role.COUNTY_STAFF, User.Role.OFFICE_STAFF),
        owner="clerk_a",
        kwargs=lambda o: [{"pk": o.unit.pk, "code": o.plan.code}],
    ),
    "enrollment:member_export": Page(
        get=False,
        post=True,
        scope="unit",
        roles=(User.Role.CLERK, User.Role.COUNTY_STAFF, User.Role.OFFICE_STAFF),
        kwargs=_pk("unit"),
    ),
    # Scoped first (404), then only the unit's clerk may propose and only staff above the unit
    # may decide (403).
    "enrollment:headcount_propose": Page(
        post=True, scope="unit", owner="clerk_a", kwargs=_pk("unit")
    ),
    "enrollment:headcount_decide": Page(
        post=True, scope="unit", kwargs=lambda o: [{"pk": _headcount_proposal(o).pk}]
    ),
    "enrollment:roster_template": Page(scope="office", kwargs=lambda o: [{"code": o.plan.code}]),
    "enrollment:roster_detail": Page(scope="unit", kwargs=_pk("roster")),
    "enrollment:roster_progress": Page(scope="unit", kwargs=_pk("roster")),
    "enrollment:roster_files": Page(scope="unit", kwargs=_pk("roster")),
    "enrollment:roster_download": Page(
        scope="unit",
        kwargs=lambda o: [
            {"pk": o.roster.pk, "kind": kind}
            for kind in ("annotated", "fee-notice", "certificates")
        ],
    ),
    "enrollment:roster_submit": Page(
        get=False, post=True, scope="unit", roles=CLERK, owner="clerk_a", kwargs=_pk("roster")
    ),
    "enrollment:roster_withdraw": Page(
        get=False, post=True, scope="unit", roles=CLERK, owner="clerk_a", kwargs=_pk("roster")
    ),
    "enrollment:roster_approve": Page(
        get=False, post=True, scope="unit", roles=OFFICE, kwargs=_pk("roster")
    ),
    "enrollment:roster_return": Page(
        get=False, post=True, scope="unit", roles=OFFICE, kwargs=_pk("roster")
    ),
    "enrollment:roster_payment": Page(
        get=False, post=True, scope="unit", roles=OFFICE, kwargs=_pk("roster")
    ),
    "enrollment:receipt_list": Page(roles=OFFICE),
    "enrollment:receipt_export": Page(roles=OFFICE),
    "enrollment:statement_list": Page(roles=OFFICE),
    "enrollment:statement_create": Page(get=False, post=True, roles=OFFICE),
    "enrollment:statement_detail": Page(scope="office", roles=OFFICE, kwargs=_pk("statement")),
    "enrollment:statement_receipt": Page(
        get=False, post=True, scope="office", roles=OFFICE, kwargs=_pk("statement")
    ),
    "enrollment:statement_download": Page(
        scope="office",
        roles=OFFICE,
        kwargs=lambda o: [{"pk": o.statement.pk, "kind": k} for k in ("pdf", "xlsx")],
    ),
    "enrollment:bank_account": Page(post=True, roles=OFFICE),
    "oversight:dashboards": Page(roles=DASHBOARD),
    "oversight:background_work": Page(roles=OFFICE),
    "oversight:background_work_retry": Page(
        get=False, post=True, scope="unit", roles=OFFICE, kwargs=_pk("job")
    ),
    "oversight:audit_log": Page(post=True, roles=AUDIT, owner="auditor"),
    "oversight:audit_export": Page(roles=AUDIT, owner="auditor"),
    "oversight:dashboard_export": Page(
        roles=DASHBOARD,
        kwargs=lambda o: [
            {"table": table}
            for table in ("participation", "fees", "claims", "payouts", "turnaround", "loss-ratio")
        ],
    ),
    "claims:claim_list": Page(),
    "claims:claim_start": Page(post=True, roles=CLERK, owner="clerk_a"),
    "claims:claim_report": Page(
        post=True,
        scope="unit",
        roles=CLERK,
        owner="clerk_a",
        kwargs=lambda o: [{"enrollment_pk": o.enrollment.pk}],
    ),
    "claims:claim_report_facts": Page(
        scope="unit",
        roles=CLERK,
        owner="clerk_a",
        kwargs=lambda o: [{"enrollment_pk": o.enrollment.pk}],
    ),
    "claims:trial": Page(roles=(User.Role.OFFICE_STAFF, User.Role.PLAN_ADMIN, User.Role.AUDITOR)),
    "claims:notices_print": Page(get=False, post=True, roles=OFFICE),
    "claims:notice_bundle": Page(scope="office", kwargs=_pk("bundle")),
    "claims:batch_list": Page(post=True, roles=OFFICE),
    "claims:batch_detail": Page(scope="office", roles=OFFICE, kwargs=_pk("batch")),
    "claims:batch_export": Page(scope="office", roles=OFFICE, kwargs=_pk("batch")),
    "claims:batch_action": Page(
        get=False,
        post=True,
        scope="office",
        roles=OFFICE,
        kwargs=lambda o: [{"pk": o.batch.pk, "action": "cancel"}],
    ),
    "claims:batch_paid": Page(post=True, scope="office", roles=OFFICE, kwargs=_pk("batch")),
    "claims:transfer_return": Page(
        post=True,
        scope="office",
        roles=OFFICE,
        kwargs=lambda o: [{"pk": o.batch.pk, "transfer_pk": o.transfer.pk}],
    ),
    "claims:claim_payee": Page(
        post=True,
        scope="unit",
        roles=(User.Role.CLERK, User.Role.OFFICE_STAFF),
        kwargs=_pk("claim"),
    ),
    "claims:claim_detail": Page(scope="unit", kwargs=_pk("claim")),
    # Not role-gated: another union's claim is a 404 first, then roles other than clerk and
    # office staff get 404 too.
    "claims:claim_document_add": Page(
        get=False, post=True, scope="unit", owner="clerk_a", kwargs=_pk("claim")
    ),
    "claims:claim_document_download": Page(
        scope="unit", kwargs=lambda o: [{"pk": o.claim.pk, "doc_pk": o.document.pk}]
    ),
    "claims:claim_reveal": Page(
        get=False,
        post=True,
        scope="unit",
        roles=(User.Role.CLERK, User.Role.OFFICE_STAFF),
        kwargs=_pk("claim"),
    ),
    "claims:claim_withdraw": Page(
        get=False, post=True, scope="unit", roles=CLERK, owner="clerk_a", kwargs=_pk("claim")
    ),
    "claims:claim_move": Page(
        get=False, post=True, scope="unit", roles=OFFICE, kwargs=_pk("claim")
    ),
    "claims:claim_decide": Page(
        get=False, post=True, scope="unit", roles=OFFICE, kwargs=_pk("claim")
    ),
    "claims:claim_secondary": Page(
        get=False, post=True, scope="unit", roles=OFFICE, kwargs=_pk("claim")
    ),
    "claims:claim_notice": Page(scope="unit", kwargs=_pk("claim")),
    "claims:claim_notice_part": Page(scope="unit", kwargs=_pk("claim")),
    "plans:plan_list": Page(),
    "plans:plan_detail": Page(scope="office", kwargs=lambda o: [{"code": o.plan.code}]),
    "plans:plan_offered": Page(
        post=True,
        scope="office",
        roles=PLAN_ADMIN,
        owner="plan_admin",
        kwargs=lambda o: [{"code": o.plan.code}],
    ),
    "plans:version_copy": Page(
        get=False,
        post=True,
        scope="office",
        roles=PLAN_ADMIN,
        owner="plan_admin",
        kwargs=lambda o: [{"code": o.plan.code}],
    ),
    "plans:version_edit": Page(
        post=True,
        scope="office",
        roles=PLAN_ADMIN,
        owner="plan_admin",
        kwargs=lambda o: [{"code": o.plan.code, "number": o.draft.number}],
    ),
    "plans:version_try": Page(
        post=True,
        scope="office",
        roles=PLAN_ADMIN,
        owner="plan_admin",
        kwargs=lambda o: [{"code": o.plan.code, "number": o.draft.number}],
    ),
    "plans:version_publish": Page(
        get=False,
        post=True,
        scope="office",
        roles=PLAN_ADMIN,
        owner="plan_admin",
        kwargs=lambda o: [{"code": o.plan.code, "number": o.draft.number}],
    ),
}

# The Django admin is classified as a whole: every page behind the admin's own staff login, every
# list and object limited to the user's scope by its ModelAdmin. Its parameters are filled with
# harmless samples: these tests never get past the login or the CSRF check with them.
ADMIN_NAMESPACE = "admin"


# --- walking the resolver ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or the route itself for an unnamed pattern
    route: str
    pattern: URLPattern = field(compare=False)

    @property
    def is_admin(self) -> bool:
        return self.key.split(":")[0] == ADMIN_NAMESPACE or self.route.startswith("admin/")


def walk(
    resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), inner)
        else:
            route = prefix + str(entry.pattern)
            key = f"{namespace}{entry.name}" if entry.name else route
            yield Route(key, route, entry)


ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def fill(route: str, values: dict) -> str:
    """A concrete URL for a route: its <converters> and (?P<groups>) replaced by values."""
    url = REGEX_GROUP.sub(lambda m: str(values[m.group(1)]), route)
    url = ROUTE_PARAM.sub(lambda m: str(values[m.group(1)]), url)
    return "/" + url.replace("^", "").replace("$", "")


def admin_values() -> dict:
    return {
        "object_id": "1",
        "id": "1",
        "app_label": "organisation",
        "content_type_id": ContentType.objects.get_for_model(User).pk,
        "url": "no-such-page/",
    }


@dataclass(frozen=True)
class Url:
    route: Route
    page: Page | None  # None for the admin
    url: str


def concrete_urls(objects: SimpleNamespace) -> list[Url]:
    urls = []
    for route in walk():
        if route.key in PAGES:
            page = PAGES[route.key]
            for kwargs in page.kwargs(objects):
                urls.append(Url(route, page, fill(route.route, kwargs)))
        elif route.is_admin:
            urls.append(Url(route, None, fill(route.route, admin_values())))
    for item in urls:
        # The URL really is the pattern's, not a neighbour's (batches/1/export/ is not an action).
        assert resolve(item.url).func is item.route.pattern.callback, item.url
    return urls


# --- the objects of office A, and the people of other unions -------------------------------------


@pytest.fixture
def site(world, django_capture_on_commit_callbacks):
    """Office A's objects of every kind the URLs name, and people of other unions."""
    version = factories.catalog_version()
    plan = version.plan
    Plan.objects.filter(pk=plan.pk).update(office=world.office)  # office A's own plan
    plan.refresh_from_db()
    draft = plan_services.version_copy(
        plan=plan,
        user=world.plan_admin,
        effective_from=timezone.localdate().replace(month=1, day=1),
    )
    roster = factories.RosterFactory(union=world.unit_a, created_by=world.clerk_a)
    for name, suffix in (("annotated", "xlsx"), ("fee_notice", "pdf"), ("certificates", "pdf")):
        getattr(roster, name).save(f"{name}.{suffix}", ContentFile(PDF), save=False)
    roster.save()
    # Not the roster's: the owner's roster actions below must leave the cover claimable.
    enrollment = factories.enroll(world.member_a, version)
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        reported_by=world.clerk_a,
        status=Claim.Status.APPROVED,
        approved_amount="100.00",
        decided_at=timezone.now(),
    )
    claim.notice.save("notice.pdf", ContentFile(PDF), save=True)
    document = ClaimDocument(
        claim=claim,
        requirement="invoice",
        original_name="发票.pdf",
        content_type=ClaimDocument.Kind.PDF,
        size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
        uploaded_by=world.clerk_a,
    )
    document.file.save("document", ContentFile(PDF), save=False)
    document.save()
    bundle = NoticeBundle.objects.create(
        created_by=world.office_staff, union=world.office, status=NoticeBundle.Status.READY
    )
    bundle.claims.set([claim])
    bundle.file.save("bundle.pdf", ContentFile(PDF), save=True)
    batch = PaymentBatch.objects.create(
        number="PB-SECURITY-1", office=world.office, total="100.00", created_by=world.office_staff
    )
    payout = Payout.objects.create(
        claim=claim,
        kind=Payout.Kind.PRIMARY,
        amount="100.00",
        payee_name=claim.payee_name,
        payee_account=claim.payee_account,
        status=Payout.Status.BATCHED,
        batch=batch,
        granted_by=world.office_staff,
    )
    transfer = Transfer.objects.create(
        batch=batch,
        payout=payout,
        amount=payout.amount,
        payee_name=payout.payee_name,
        payee_account=payout.payee_account,
    )
    people = {
        "other_office_staff": world.other_office_staff,
        "other_clerk": factories.UserFactory(role=User.Role.CLERK, union=world.other_unit),
        "other_plan_admin": factories.UserFactory(
            role=User.Role.PLAN_ADMIN, union=world.other_office
        ),
        "clerk_b": world.clerk_b,
        "county_staff_b": factories.UserFactory(role=User.Role.COUNTY_STAFF, union=world.county_b),
    }
    # Failed background work about unit A's roster, for the retry page.
    job = Job.objects.create(
        name="enrollment.tasks.roster_certificates",
        args=[roster.pk],
        subject=f"roster:{roster.pk}",
        union=world.unit_a,
        state=Job.State.FAILED,
        attempts=3,
    )
    statement = SubsidyStatement.objects.create(
        office=world.office,
        giver="吉林省直机关工会",
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 12, 31),
        total="30.00",
        created_by=world.office_staff,
    )
    return SimpleNamespace(
        world=world,
        job=job,
        statement=statement,
        unit=world.unit_a,
        member=world.member_a,
        plan=plan,
        draft=draft,
        roster=roster,
        enrollment=enrollment,
        claim=claim,
        document=document,
        bundle=bundle,
        batch=batch,
        transfer=transfer,
        people=people,
        run=django_capture_on_commit_callbacks,
    )


OUTSIDERS = {
    # Users of another office, one of each role a page may require.
    "office": ("other_office_staff", "other_clerk", "other_plan_admin"),
    # For objects of unit A, also users of the same office under another county.
    "unit": ("other_office_staff", "other_clerk", "other_plan_admin", "clerk_b", "county_staff_b"),
}


def _client(user: User | None = None, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def _request(client: Client, page: Page | None, url: str, method: str | None = None):
    method = method or ("get" if page is None or page.get else "post")
    return getattr(client, method)(url)


# --- the tests ----------------------------------------------------------------------------------


def test_every_url_pattern_is_classified():
    """A new page fails here until it is added to PAGES, with its login, scope and methods."""
    routes = list(walk())
    unclassified = [r.route for r in routes if r.key not in PAGES and not r.is_admin]
    assert not unclassified, f"classify these URL patterns in {__file__}: {unclassified}"
    known = {r.key for r in routes}
    stale = sorted(set(PAGES) - known)
    assert not stale, f"PAGES lists patterns that no longer exist: {stale}"
    for key, page in PAGES.items():
        assert page.get or page.post, key
        if page.scope:
            assert not page.public, key
        assert page.scope in (None, "unit", "office"), key


def test_only_the_allow_list_is_reachable_without_logging_in(site):
    """Anonymous GETs (and POSTs, where a page takes them) of every URL are sent to the login
    page (the admin's own, for the admin), except the allow-list."""
    login = reverse("login")
    admin_login = reverse("admin:login")
    anonymous = Client()
    wrong = []
    for item in concrete_urls(site):
        public = item.page is not None and item.page.public
        for method in ("get", "post") if item.page is not None and item.page.post else ("get",):
            response = getattr(anonymous, method)(item.url)
            location = response.get("Location", "")
            sent_to_login = response.status_code == 302 and (
                location.startswith(f"{login}?next=")
                or (item.route.is_admin and location.startswith(f"{admin_login}?next="))
            )
            if public and (sent_to_login or response.status_code >= 400):
                wrong.append((item.url, method, "public page refused", response.status_code))
            if not public and not sent_to_login:
                wrong.append((item.url, method, "reachable without login", response.status_code))
    assert not wrong, wrong


def test_other_unions_get_404_on_every_object_url(site):
    """Every object, export and download URL of unit A or office A: 404 for other unions' users
    (403 for a role the page never admits); the same URL works for a user of office A."""
    wrong = []
    checked = 0
    clients = {persona: _client(user) for persona, user in site.people.items()}
    object_urls = [u for u in concrete_urls(site) if u.page is not None and u.page.scope]
    for item in object_urls:
        for persona in OUTSIDERS[item.page.scope]:
            user = site.people[persona]
            expected = 403 if item.page.roles and user.role not in item.page.roles else 404
            for method in ("get", "post"):
                if not getattr(item.page, method):
                    continue
                status = _request(clients[persona], item.page, item.url, method).status_code
                checked += 1
                if status != expected:
                    wrong.append((item.url, method, persona, status, f"expected {expected}"))
    # Every URL is refused with 404 (not 403) to at least one outsider who holds the page's
    # role: the scope check, not the role check, is what turned them away.
    for item in object_urls:
        holders = [
            p
            for p in OUTSIDERS[item.page.scope]
            if not item.page.roles or site.people[p].role in item.page.roles
        ]
        assert holders, f"no outsider with a role {item.url} admits"
    assert not wrong, wrong
    assert checked > 100


def test_each_url_works_for_its_owner_with_only_its_methods(site):
    """The URLs the other tests use are real: the owner (with a CSRF token) gets the page, and
    the methods a page does not take are refused with 405."""
    clients: dict[str, Client] = {}

    def client_for(persona: str) -> Client:
        if persona not in clients:
            client = _client(getattr(site.world, persona), enforce_csrf_checks=True)
            client.get(reverse("home"))  # sets the CSRF cookie
            clients[persona] = client
        return clients[persona]

    urls = [u for u in concrete_urls(site) if u.page is not None and not u.page.public]
    wrong = []
    pages = []
    # Every GET first, then the POSTs (which may change the objects).
    for item in urls:
        client = client_for(item.page.owner)
        response = client.get(item.url)
        if item.page.get:
            if response.status_code != 200:
                wrong.append((item.url, "GET", response.status_code))
            elif response["Content-Type"].startswith("text/html"):
                pages.append((item.url, response.content.decode()))
        elif response.status_code != 405:
            wrong.append((item.url, "GET should be 405", response.status_code))
    for item in urls:
        client = client_for(item.page.owner)
        token = client.cookies[settings.CSRF_COOKIE_NAME].value
        with site.run(execute=True):
            response = client.post(item.url, HTTP_X_CSRFTOKEN=token)
        location = response.get("Location", "")
        if item.page.post and (
            response.status_code not in (200, 302)
            or location.startswith(f"{reverse('login')}?next=")
        ):
            wrong.append((item.url, "POST", response.status_code, location))
        if not item.page.post and response.status_code != 405:
            wrong.append((item.url, "POST should be 405", response.status_code))
    assert not wrong, wrong
    # Each HTML page the owners saw is free of inline code (see test_security_headers.py).
    from tests.test_security_headers import inline_code

    found = [(url, inline_code(html)) for url, html in pages if inline_code(html)]
    assert not found, found


def test_every_post_needs_a_csrf_token(site, world):
    """Every URL, the admin's included, refuses a logged-in user's POST without a token."""
    staff = factories.UserFactory(
        role=User.Role.OFFICE_STAFF, union=world.office, is_staff=True, is_superuser=True
    )
    urls = concrete_urls(site)
    wrong = []
    for item in urls:
        client = _client(staff, enforce_csrf_checks=True)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.post(item.url, {"username": staff.username, "password": PASSWORD})
        if response.status_code != 403 or b"CSRF verification failed" not in response.content:
            wrong.append((item.url, response.status_code))
    assert not wrong, wrong


def test_admin_object_pages_do_not_show_another_offices_objects(site):
    """In the admin, another office's objects do not exist either: their change, history and
    delete pages send a staff user of that other office back to the admin index."""
    world = site.world
    outsider = factories.UserFactory(
        role=User.Role.OFFICE_STAFF, union=world.other_office, is_staff=True, is_superuser=True
    )
    client = _client(outsider)
    objects = [
        world.unit_a,
        world.clerk_a,
        world.member_a,
        site.roster,
        site.enrollment,
        site.claim,
        site.plan,
        site.draft,
    ]
    wrong = []
    for obj in objects:
        meta = obj._meta
        for view in ("change", "history", "delete"):
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])
            response = client.get(url)
            if response.status_code != 302 or response["Location"] != reverse("admin:index"):
                wrong.append((url, response.status_code))
    assert not wrong, wrong
    # The same pages open for a staff user of office A.
    insider = factories.UserFactory(
        role=User.Role.OFFICE_STAFF, union=world.office, is_staff=True, is_superuser=True
    )
    client = _client(insider)
    for obj in objects:
        meta = obj._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert client.get(url).status_code == 200, url


# --- uploads -------------------------------------------------------------------------------------


def test_uploads_are_outside_the_web_root_and_no_url_serves_them():
    media = Path(settings.MEDIA_ROOT).resolve()
    assert not settings.MEDIA_URL
    assert settings.STORAGES["default"]["OPTIONS"]["base_url"] is None
    web_roots = [Path(settings.STATIC_ROOT), *map(Path, settings.STATICFILES_DIRS)]
    for root in web_roots:
        root = root.resolve()
        assert not media.is_relative_to(root) and not root.is_relative_to(media), root
    from django.views.static import serve

    serving = [r.route for r in walk() if r.pattern.callback is serve]
    assert not serving, serving


def test_uploaded_files_get_generated_names_and_are_not_served(
    client, world, django_capture_on_commit_callbacks
):
    from plans.services import plans_load_catalog

    plans_load_catalog()
    client.force_login(world.clerk_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, workbook(good_rows(2)), name="甲单位名单-secret.xlsx")
    roster = Roster.objects.get()
    name = roster.file.name
    assert re.fullmatch(r"rosters/\d{4}/\d{2}/[0-9a-f]{32}\.xlsx", name), name

    from claims.services import required_documents

    enrollment = factories.enroll(world.member_a)
    claim = factories.ClaimFactory(enrollment=enrollment, reported_by=world.clerk_a)
    requirement = required_documents(claim)[0][0]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("claims:claim_document_add", args=[claim.pk]),
            {"requirement": requirement, "file": SimpleUploadedFile("../../static/evil.pdf", PDF)},
        )
    document = ClaimDocument.objects.get()
    assert re.fullmatch(rf"claims/{claim.pk}/[0-9a-f]{{32}}", document.file.name)
    assert document.original_name.endswith("evil.pdf")  # kept as a label only

    media = Path(settings.MEDIA_ROOT).resolve()
    for stored in (roster.file, document.file):
        path = Path(stored.path).resolve()
        assert path.is_file() and path.is_relative_to(media)
        # Neither the stored name nor anything like it is a URL.
        for url in (f"/{stored.name}", f"/media/{stored.name}", f"/static/{stored.name}"):
            response = client.get(url)
            assert response.status_code == 404, url
