"""Every list page on a 390×844 phone in a real headless Chromium, full of realistic data (long
unit names, thirty rows, badges, a returned transfer): the page never scrolls sideways, no table
hides columns in a sideways scroll box, every row or card stays short, no badge is cut, the
filters stay folded until "筛选" is tapped, and the menu folds into the navbar's button.

Screenshots of every page are in test-artifacts/browser/<test name>/.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from claims import services as claim_services
from claims.models import Claim, Payout, Transfer
from enrollment import payments, statements
from enrollment.models import Roster
from organisation.models import Member
from plans.services import plans_load_catalog
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390
# The tallest a row or card may be: a few short lines, never a name set one character a line.
TALLEST = 160

PLACES = ["长春市朝阳区", "长春市南关区", "吉林省长春市绿园区", "长春新区", "长春市宽城区"]
COMPANIES = [
    "一汽富维汽车零部件",
    "长春轨道客车装备",
    "吉林大学第一医院后勤服务",
    "长春燃气热力集团",
    "亚泰建材集团水泥制造",
    "吉林省高速公路养护工程",
    "长春欧亚卖场商业管理",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = ["晓明", "秀英", "建国", "丽娟", "志强", "桂兰", "海燕", "国庆", "玉梅", "振华"]


def unit_name(i: int) -> str:
    """A real-looking grassroots union name: 20 to 30 characters."""
    return f"{PLACES[i % len(PLACES)]}{COMPANIES[i % len(COMPANIES)]}有限责任公司工会委员会"


def person_name(i: int) -> str:
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)]
    return "欧阳" + GIVEN[i % len(GIVEN)] if i % 7 == 3 else name


def _units(world, count: int) -> list:
    counties = [world.county_a, world.county_b]
    return [
        factories.unit(
            counties[i % 2],
            name=unit_name(i),
            contact_name=person_name(i),
            contact_phone=f"0431-8{i:07d}",
        )
        for i in range(count)
    ]


def _rosters(world, units) -> None:
    s = Roster.Status
    kinds = [
        {"status": s.SUBMITTED},
        {"status": s.CHECKED, "error_count": 3},
        {"status": s.CHECKED, "warning_count": 2},
        {"status": s.APPROVED},
        {"status": s.RETURNED, "return_reason": "名单中三人身份证号有误"},
        {"status": s.PAID, "payment_amount": Decimal("13530.00")},
        {"status": s.WITHDRAWN},
    ]
    for i, unit in enumerate(units):
        people = 40 + 37 * i
        factories.RosterFactory(
            union=unit,
            created_by=world.clerk_a,
            rows_total=people,
            rows_valid=people,
            fee_total=Decimal(110 * people),
            **kinds[i % len(kinds)],
        )


def _members(world) -> list[Member]:
    kinds = list(Member.EmploymentType)
    members = []
    for i in range(30):
        birth = datetime.date(1970 + i % 30, 1 + i % 12, 1 + i % 27)
        female = i % 2 == 1
        member = factories.MemberFactory(
            union=world.unit_a,
            name=person_name(i),
            gender=Member.Gender.FEMALE if female else Member.Gender.MALE,
            birth_date=birth,
            employment_type=kinds[i % (len(kinds) - 1)],
            phone=f"1390431{i:04d}",
        )
        member.id_number = factories.make_id_number(birth, "F" if female else "M")
        member.save()
        members.append(member)
    return members


def _claims(world, members, units) -> None:
    """Thirty claims of every status, some overdue, across long-named units."""
    today = timezone.localdate()
    statuses = [
        Claim.Status.REPORTED,
        Claim.Status.REVIEWING,
        Claim.Status.INVESTIGATING,
        Claim.Status.RETURNED,
        Claim.Status.REJECTED,
        Claim.Status.WITHDRAWN,
    ]
    benefits = ["hospital_allowance", "critical_illness", "accident"]
    version = factories.catalog_version()
    for i in range(30):
        member = (
            members[i] if i % 3 else factories.MemberFactory(union=units[i], name=person_name(i))
        )
        enrollment = factories.enroll(member, version)
        factories.ClaimFactory(
            enrollment=enrollment,
            status=statuses[i % len(statuses)],
            benefit=benefits[i % len(benefits)],
            event_date=datetime.date(2026, 1 + i % 11, 1 + i % 27),
            due_date=today + datetime.timedelta(days=i % 9 - 4),
            due_basis=Claim.DueBasis.OFFICIAL,
            proposed_amount=Decimal(1500 + 173 * i),
            reported_by=world.clerk_a,
        )


def _approved_claim(world, member, amount: str) -> Claim:
    enrollment = factories.enroll(member, factories.catalog_version())
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.APPROVED,
        approved_amount=Decimal(amount),
        decided_at=timezone.now(),
    )
    Payout.objects.create(
        claim=claim,
        kind=Payout.Kind.PRIMARY,
        amount=Decimal(amount),
        payee_name=claim.payee_name,
        payee_account=claim.payee_account,
        granted_by=world.office_staff,
    )
    return claim


def _batch(world, units):
    """An exported batch of ten transfers, one returned by the bank; three payments wait."""
    claims = [
        _approved_claim(
            world,
            factories.MemberFactory(union=units[i], name=person_name(i + 3)),
            f"{2400 + 311 * i}.50",
        )
        for i in range(13)
    ]
    batch = claim_services.batch_create(
        user=world.office_staff, payouts=Payout.objects.filter(claim__in=claims[:10])
    )
    batch = claim_services.batch_mark_exported(batch=batch, user=world.office_staff)
    returned = Transfer.objects.filter(batch=batch).order_by("pk").first()
    claim_services.transfer_return(
        transfer=returned, user=world.office_staff, reason=Transfer.Reason.CLOSED
    )
    return batch


def _money(world, units) -> None:
    """Six approved rosters, part of each unit's fee received, and a subsidy statement."""
    today = timezone.localdate()
    rosters = [factories.approved_roster(unit, people=50 + 10 * i) for i, unit in enumerate(units)]
    for i, roster in enumerate(rosters):
        payments.receipt_record(
            roster=roster,
            user=world.office_staff,
            payer_key=payments.UNIT,
            amount=Decimal(1000 + 125 * i),
            received_on=today - datetime.timedelta(days=i),
            reference=f"BOC2026{i:08d}",
        )
    statement = statements.statement_create(
        office=world.office,
        giver="吉林省直机关工会",
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 12, 31),
        user=world.office_staff,
    )
    statements.statement_receipt_record(
        statement=statement,
        user=world.office_staff,
        amount=Decimal("300.00"),
        received_on=today,
        reference="ICBC-STATEMENT-0001",
    )


@pytest.fixture
def busy(world):
    """The office's portal on a busy day: 30 long-named units with a roster each, 30 members in
    unit A (itself long-named), 30 claims, a payment batch with a returned transfer, receipts
    and a subsidy statement."""
    plans_load_catalog()
    world.unit_a.name = "长春市朝阳区一汽富维汽车零部件股份有限公司工会委员会"
    world.unit_a.save()
    units = _units(world, 30)
    _rosters(world, units)
    members = _members(world)
    _claims(world, members, units)
    batch = _batch(world, units)
    _money(world, units[:6])
    return {"units": units, "batch": batch}


# --- what every page must do on a phone ---------------------------------------------------------

MEASURE = """(rows) => {
  const doc = document.documentElement;
  const shown = (e) => e.getClientRects().length > 0;
  const right = doc.clientWidth + 1;
  const heights = [...document.querySelectorAll(rows)].filter(shown)
    .map((e) => Math.round(e.getBoundingClientRect().height));
  const clipped = [...document.querySelectorAll("main .badge")].filter(shown).filter((b) => {
    const box = b.getBoundingClientRect();
    const holder = b.closest("tr, li, .card, .list-group-item") || doc;
    return b.scrollWidth > b.clientWidth + 1 || box.right > right
      || box.right > holder.getBoundingClientRect().right + 1;
  }).map((b) => b.textContent.trim());
  const scrolling = [...document.querySelectorAll("body *")].filter(shown).filter((e) => {
    const overflow = getComputedStyle(e).overflowX;
    return (overflow === "auto" || overflow === "scroll") && e.scrollWidth > e.clientWidth + 1;
  }).map((e) => e.tagName + "." + e.className);
  const outside = [...document.querySelectorAll("body *")].filter(shown).filter((e) => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > right;
  }).map((e) => e.tagName + "." + e.className + " " + (e.textContent || "").trim().slice(0, 30));
  return {width: doc.scrollWidth, heights, clipped, scrolling, outside: outside.slice(0, 8)};
}"""


def assert_fits_a_phone(page, rows: str, *, at_least: int, tallest: int = TALLEST) -> None:
    """No sideways scroll of the page or of any box in it, nothing past the right edge, at least
    ``at_least`` rows (or cards) matching ``rows``, each at most ``tallest`` px, no badge cut."""
    m = page.evaluate(MEASURE, rows)
    assert m["width"] <= WIDTH + 1, f"the page scrolls sideways: {m['width']} px; {m['outside']}"
    assert not m["scrolling"], f"boxes scroll sideways: {m['scrolling']}"
    assert not m["outside"], f"past the right edge: {m['outside']}"
    assert len(m["heights"]) >= at_least, f"{len(m['heights'])} rows of {rows}, not {at_least}"
    assert max(m["heights"]) <= tallest, f"rows too tall (px): {sorted(m['heights'])[-5:]}"
    assert not m["clipped"], f"badges cut: {m['clipped']}"


def assert_filters_folded(page, shots, name: str, form: str) -> None:
    """The filter form is hidden until the "筛选" button opens it."""
    assert not page.locator(form).is_visible(), f"{form} shows before it is asked for"
    toggle = page.locator("main [data-bs-toggle=collapse]", has_text="筛选")
    expect(toggle).to_be_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    expect(page.locator(form)).to_be_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    m = page.evaluate(MEASURE, "main")
    assert m["width"] <= WIDTH + 1 and not m["outside"], m
    shots(page, f"{name}-filters-open")


def open_phone(portal, user, path: str, shots, name: str):
    page = portal.login(user, phone=True)
    page.goto(portal.base_url + path)
    page.wait_for_load_state()
    assert page.viewport_size == {"width": WIDTH, "height": 844}
    shots(page, name)
    return page


# --- the pages ------------------------------------------------------------------------------


def test_the_menu_folds_into_a_button_and_the_home_page_fits(portal, world, busy, shots):
    for user in (world.clerk_a, world.office_staff, world.auditor):
        page = open_phone(portal, user, reverse("home"), shots, f"home-{user.role}")
        nav = page.locator("nav.navbar")
        assert nav.bounding_box()["height"] <= 64, "the navbar is more than one line"
        assert not page.locator("#mainnav").is_visible()
        assert_fits_a_phone(page, "main .card", at_least=4, tallest=1200)
        assert_fits_a_phone(page, "main .list-group-item, main .next-step", at_least=1, tallest=90)
        page.click("nav .navbar-toggler")
        page.wait_for_selector("#mainnav.collapse.show")  # opened, not still sliding
        expect(page.locator("#mainnav a[href='/']").first).to_be_visible()
        expect(page.locator("#mainnav button[type=submit]")).to_be_visible()  # log out
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH + 1
        shots(page, f"menu-{user.role}")


def test_roster_list_on_a_phone(portal, world, busy, shots):
    page = open_phone(
        portal, world.office_staff, reverse("enrollment:roster_list"), shots, "rosters"
    )
    assert_fits_a_phone(page, "main table tbody tr", at_least=25)
    assert_filters_folded(page, shots, "rosters", "main form select[name=status]")
    page.select_option("main select[name=status]", Roster.Status.SUBMITTED)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "status=submitted" in page.url
    assert_fits_a_phone(page, "main table tbody tr", at_least=5)
    shots(page, "rosters-submitted")


def test_member_list_on_a_phone(portal, world, busy, shots):
    page = open_phone(portal, world.clerk_a, reverse("enrollment:member_list"), shots, "members")
    assert_fits_a_phone(page, "main table tbody tr", at_least=25)


def test_union_list_on_a_phone(portal, world, busy, shots):
    page = open_phone(portal, world.office_staff, reverse("enrollment:union_list"), shots, "unions")
    assert_fits_a_phone(page, "main table tbody tr", at_least=25)


def test_claim_list_on_a_phone(portal, world, busy, shots):
    for user in (world.office_staff, world.clerk_a):
        page = open_phone(portal, user, reverse("claims:claim_list"), shots, f"claims-{user.role}")
        assert_fits_a_phone(page, "main table tbody tr", at_least=20)
        assert page.locator("main table tbody tr .badge", has_text="逾期").count() > 0
        # The first claim is on the first screen, not below the filters.
        first = page.locator("main table tbody tr").first.bounding_box()
        assert first["y"] < 844, first
        assert_filters_folded(page, shots, f"claims-{user.role}", "main form select[name=status]")


def test_payment_batches_on_a_phone(portal, world, busy, shots):
    page = open_phone(portal, world.office_staff, reverse("claims:batch_list"), shots, "batches")
    assert_fits_a_phone(page, "main table tbody tr, main li", at_least=5)
    detail = reverse("claims:batch_detail", args=[busy["batch"].pk])
    page.goto(portal.base_url + detail)
    page.wait_for_load_state()
    shots(page, "batch-detail")
    assert_fits_a_phone(page, "main table tbody tr", at_least=10)
    assert page.locator("main table tbody tr.table-danger").count() == 1  # the returned one
    expect(page.locator("main a[href$='/return/']").first).to_be_visible()


def test_money_received_on_a_phone(portal, world, busy, shots):
    page = open_phone(
        portal, world.office_staff, reverse("enrollment:receipt_list"), shots, "receipts"
    )
    assert_fits_a_phone(page, "main table tbody tr", at_least=7)
    page.goto(portal.base_url + reverse("enrollment:statement_list"))
    page.wait_for_load_state()
    shots(page, "statements")
    assert_fits_a_phone(page, "main table tbody tr", at_least=1)


def test_plan_list_on_a_phone(portal, world, busy, shots):
    for user in (world.plan_admin, world.clerk_a):
        page = open_phone(portal, user, reverse("plans:plan_list"), shots, f"plans-{user.role}")
        assert_fits_a_phone(page, "main table tbody tr", at_least=3)


def test_audit_log_and_dashboards_on_a_phone(portal, world, busy, shots):
    page = open_phone(portal, world.auditor, reverse("oversight:audit_log"), shots, "audit-log")
    assert_fits_a_phone(page, "main table tbody tr", at_least=10, tallest=240)
    assert_filters_folded(page, shots, "audit-log", "#audit-search")
    page.goto(portal.base_url + reverse("oversight:dashboards"))
    page.wait_for_load_state()
    shots(page, "dashboards")
    assert_fits_a_phone(page, "main table tbody tr", at_least=10, tallest=320)
    # The filters' summary stays in sight; their fields fold.
    expect(page.locator("#dashboard-filters-summary")).to_be_visible()
    assert_filters_folded(page, shots, "dashboards", "#dashboard-fields")


def test_english_pages_fit_a_phone_too(portal, world, busy, shots):
    """English words are longer than Chinese ones: the cards and the navbar still fit, the
    cards a line or two taller."""
    page = portal.login(world.office_staff, phone=True)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": portal.base_url}])
    for name, rows, at_least in (
        ("home", "main .list-group-item, main .next-step", 4),
        ("enrollment:roster_list", "main table tbody tr", 25),
        ("claims:claim_list", "main table tbody tr", 20),
        ("enrollment:union_list", "main table tbody tr", 25),
        ("enrollment:receipt_list", "main table tbody tr", 7),
    ):
        page.goto(portal.base_url + reverse(name))
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "en"
        shots(page, "en-" + name.replace(":", "-"))
        assert page.locator("nav.navbar").bounding_box()["height"] <= 64
        assert_fits_a_phone(page, rows, at_least=at_least, tallest=200)
        if name.endswith("_list") and "receipt" not in name and "union" not in name:
            toggle = page.locator("main [data-bs-toggle=collapse]", has_text="Filter")
            expect(toggle).to_be_visible()


def test_desktop_keeps_the_tables_and_open_filters(portal, world, busy, shots):
    page = portal.login(world.office_staff)
    page.goto(portal.base_url + reverse("claims:claim_list"))
    page.wait_for_load_state()
    shots(page, "claims-desktop")
    expect(page.locator("main form select[name=status]")).to_be_visible()
    expect(page.locator("main [data-bs-toggle=collapse]")).to_be_hidden()
    expect(page.locator("main table thead")).to_be_visible()
    assert page.locator("#mainnav").is_visible()
    # Numbers, names and dates keep to one line in a desktop table; long unit names may wrap.
    lines = page.locator("main table tbody td.text-nowrap").evaluate_all(
        """(cells) => cells.map((cell) => {
          const range = document.createRange();
          range.selectNodeContents(cell);
          const boxes = [...range.getClientRects()];
          const top = Math.min(...boxes.map((r) => r.top));
          const bottom = Math.max(...boxes.map((r) => r.bottom));
          return (bottom - top) / parseFloat(getComputedStyle(cell).lineHeight);
        })"""
    )
    assert len(lines) >= 100 and max(lines) < 1.5, lines


def test_detail_pages_fit_a_phone(portal, world, busy, shots):
    """The pages behind the lists: a roster with its people and findings, a member, a claim, a
    union. Wide tables may scroll inside their box; the page itself never does."""
    start = datetime.date(timezone.localdate().year + 1, 1, 1)  # beside the members' cover
    roster = factories.RosterFactory(
        union=world.unit_a,
        created_by=world.clerk_a,
        plan_version=factories.catalog_version("jilin-allowance-2020"),
        coverage_start=start,
        coverage_end=datetime.date(start.year, 12, 31),
        status=Roster.Status.PAID,
        payment_amount=Decimal("110.00"),
    )
    for member in Member.objects.filter(union=world.unit_a)[:12]:
        factories.enroll(member, roster.plan_version, roster=roster, coverage_start=start)
    claim = Claim.objects.filter(union=world.unit_a).first()
    member = Member.objects.filter(union=world.unit_a).first()
    pages = {
        "roster": reverse("enrollment:roster_detail", args=[roster.pk]),
        "member": reverse("enrollment:member_detail", args=[member.pk]),
        "claim": reverse("claims:claim_detail", args=[claim.pk]),
        "union": reverse("enrollment:union_detail", args=[world.unit_a.pk]),
    }
    page = portal.login(world.office_staff, phone=True)
    for name, path in pages.items():
        page.goto(portal.base_url + path)
        page.wait_for_load_state()
        m = page.evaluate(MEASURE, "main table tbody tr")
        shots(page, f"detail-{name}")
        assert m["width"] <= WIDTH + 1, f"{name}: the page scrolls sideways: {m['outside']}"
        assert not m["outside"], f"{name}: past the right edge: {m['outside']}"
        assert not m["clipped"], f"{name}: badges cut: {m['clipped']}"
