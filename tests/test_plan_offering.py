"""Each office offers its own plans: a plan is offered under chosen offices, city and county
unions; clerks see and enroll in only the plans offered to their unit, staff see those of their
branch, plan admins see them all and choose where each is offered. Plan names carry their region.
"""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from enrollment import rosters
from enrollment.models import Roster
from mutualaid.auditlog.models import AuditEntry
from organisation.models import User
from plans.engine.funding import FundingChoice
from plans.models import Plan, PlanChange
from plans.selectors import plans_offered_to, visible_plans
from plans.services import PlanAdminError, plan_set_offered_under, plans_load_catalog
from tests import factories
from tests.test_roster_journey import good_rows, workbook

JILIN = "jilin-allowance-2020"
LINYI = "linyi-inpatient-2019"


@pytest.fixture
def catalog(world):
    """The catalog, loaded after the world: every plan starts offered under both offices."""
    plans_load_catalog()
    return {plan.code: plan for plan in Plan.objects.all()}


def codes(plans) -> set[str]:
    return {plan.code for plan in plans}


def offer(plan: Plan, *unions) -> None:
    plan.offered_under.set(unions)


# --- who sees which plan ------------------------------------------------------------------------


def test_a_plan_loaded_from_the_catalog_is_offered_under_every_office_with_its_region(
    world, catalog
):
    assert len(catalog) == 11
    for plan in catalog.values():
        assert set(plan.offered_under.all()) == {world.office, world.other_office}
    assert catalog[JILIN].region == "吉林省"
    assert catalog[LINYI].region == "山东省临沂市"
    assert catalog["shaanxi-gig-2023"].region == "陕西省"
    assert catalog["beijing-female-2021"].region == "北京市"
    # Loading again never changes where a plan is offered, once an admin has narrowed it.
    offer(catalog[LINYI], world.other_office)
    report = plans_load_catalog()
    assert not report.created_plans
    assert set(catalog[LINYI].offered_under.all()) == {world.other_office}


def test_each_role_sees_the_plans_offered_on_its_path_or_below(world, catalog):
    jilin, linyi = catalog[JILIN], catalog[LINYI]
    for plan in catalog.values():
        offer(plan)  # offered nowhere
    offer(jilin, world.office)
    offer(linyi, world.county_a)

    assert codes(visible_plans(world.clerk_a)) == {JILIN, LINYI}
    assert codes(visible_plans(world.clerk_b)) == {JILIN}  # unit B is under county B
    assert codes(visible_plans(world.county_staff_a)) == {JILIN, LINYI}
    # Office staff and auditors see what is offered anywhere in their office.
    assert codes(visible_plans(world.office_staff)) == {JILIN, LINYI}
    assert codes(visible_plans(world.auditor)) == {JILIN, LINYI}
    assert codes(visible_plans(world.other_office_staff)) == set()
    other_clerk = factories.UserFactory(role=User.Role.CLERK, union=world.other_unit)
    assert codes(visible_plans(other_clerk)) == set()
    # Plan admins see every plan, offered or not, to set where it is offered.
    assert codes(visible_plans(world.plan_admin)) == set(catalog)
    # What a unit may enroll in is what its clerk sees.
    assert codes(plans_offered_to(world.unit_a)) == {JILIN, LINYI}
    assert codes(plans_offered_to(world.unit_b)) == {JILIN}


def test_a_plan_an_office_runs_is_never_seen_outside_it(world, catalog):
    jilin = catalog[JILIN]
    Plan.objects.filter(pk=jilin.pk).update(office=world.office)
    # Even if it were offered under the other office, that office's people never see it.
    offer(jilin, world.office, world.other_office)
    other_clerk = factories.UserFactory(role=User.Role.CLERK, union=world.other_unit)
    other_admin = factories.UserFactory(role=User.Role.PLAN_ADMIN, union=world.other_office)
    assert JILIN not in codes(visible_plans(other_clerk))
    assert JILIN not in codes(visible_plans(other_admin))
    assert JILIN not in codes(visible_plans(world.other_office_staff))
    assert JILIN in codes(visible_plans(world.clerk_a))
    # And an admin cannot offer it there.
    jilin.refresh_from_db()
    with pytest.raises(PlanAdminError):
        plan_set_offered_under(plan=jilin, user=world.plan_admin, unions=[world.other_office])
    assert set(jilin.offered_under.all()) == {world.office, world.other_office}


def test_upload_page_and_templates_offer_only_the_units_plans(client, world, catalog):
    for plan in catalog.values():
        offer(plan, world.other_office)
    offer(catalog[JILIN], world.office)
    client.force_login(world.clerk_a)
    page = client.get(reverse("enrollment:roster_upload"))
    assert codes(page.context["form"].fields["plan"].queryset) == {JILIN}
    assert codes(page.context["plans"]) == {JILIN}
    html = page.content.decode()
    assert f'value="{LINYI}"' not in html
    # The option carries the region.
    assert catalog[JILIN].display_name in html
    assert client.get(reverse("enrollment:roster_template", args=[JILIN])).status_code == 200
    assert client.get(reverse("enrollment:roster_template", args=[LINYI])).status_code == 404
    assert client.get(reverse("plans:plan_detail", args=[LINYI])).status_code == 404
    listed = client.get(reverse("plans:plan_list")).context["plans"]
    assert codes(listed) == {JILIN}


def test_a_roster_for_a_plan_not_offered_to_the_unit_is_refused(
    client, world, catalog, django_capture_on_commit_callbacks
):
    linyi = catalog[LINYI]
    offer(linyi, world.county_b)  # not unit A's branch
    version = linyi.versions.get(number=1)
    with pytest.raises(rosters.RosterActionError) as refused:
        rosters.roster_upload(
            user=world.clerk_a,
            union=world.unit_a,
            plan_version=version,
            coverage_start=datetime.date(2026, 1, 1),
            funding=FundingChoice(mode=None, percent={"unit": 100, "union": 0, "member": 0}),
            upload=SimpleUploadedFile("名单.xlsx", workbook(good_rows(2))),
        )
    assert linyi.display_name in str(refused.value)
    assert not Roster.objects.exists()
    # Through the page: the plan is not a choice, and nothing is stored.
    client.force_login(world.clerk_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("enrollment:roster_upload"),
            {
                "plan": LINYI,
                "coverage_start": "2026-01-01",
                "unit_percent": "100",
                "union_percent": "0",
                "member_percent": "0",
                "file": SimpleUploadedFile("名单.xlsx", workbook(good_rows(2))),
            },
        )
    assert response.status_code == 200
    assert response.context["form"].errors["plan"]
    assert not Roster.objects.exists()


def test_a_checked_roster_is_not_submitted_once_its_plan_is_withdrawn_from_the_unit(world, catalog):
    jilin = catalog[JILIN]
    roster = factories.RosterFactory(
        union=world.unit_a,
        plan_version=jilin.versions.get(number=1),
        created_by=world.clerk_a,
        rows_total=2,
        rows_valid=2,
    )
    offer(jilin, world.county_b)
    with pytest.raises(rosters.RosterActionError) as refused:
        rosters.roster_submit(roster=roster, user=world.clerk_a)
    assert jilin.display_name in str(refused.value)
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED


# --- the plan admin chooses where a plan is offered ----------------------------------------------


def test_admin_sets_where_a_plan_is_offered_and_it_is_recorded(client, world, catalog):
    jilin = catalog[JILIN]
    client.force_login(world.plan_admin)
    page = client.get(reverse("plans:plan_offered", args=[JILIN]))
    assert page.status_code == 200
    choices = set(page.context["form"].fields["unions"].queryset)
    assert world.county_a in choices and world.office in choices
    assert world.unit_a not in choices  # a plan is offered under offices, cities and counties
    response = client.post(
        reverse("plans:plan_offered", args=[JILIN]), {"unions": [world.county_a.pk]}
    )
    assert response.status_code == 302
    assert set(jilin.offered_under.all()) == {world.county_a}
    change = PlanChange.objects.get(plan=jilin, action=PlanChange.Action.OFFERED)
    assert change.actor == world.plan_admin
    assert change.after == {"offered_under": [world.county_a.pk]}
    assert world.office.name in change.note and world.county_a.name in change.note
    entry = AuditEntry.objects.get(object_type="plan", action=AuditEntry.Action.UPDATE)
    assert entry.changes["offered_under"][1] == world.county_a.name
    assert entry.actor_id == world.plan_admin.pk
    assert codes(visible_plans(world.clerk_b)) == set(catalog) - {JILIN}
    # The same choice again changes nothing and records nothing.
    client.post(reverse("plans:plan_offered", args=[JILIN]), {"unions": [world.county_a.pk]})
    assert PlanChange.objects.filter(action=PlanChange.Action.OFFERED).count() == 1
    # A grassroots union is not a choice: the form refuses it and nothing changes.
    response = client.post(
        reverse("plans:plan_offered", args=[JILIN]), {"unions": [world.unit_b.pk]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["unions"]
    assert set(jilin.offered_under.all()) == {world.county_a}
    # The plan page lists where it is offered.
    detail = client.get(reverse("plans:plan_detail", args=[JILIN])).content.decode()
    assert world.county_a.name in detail


def test_only_plan_admins_set_where_a_plan_is_offered(client, world, catalog):
    for user in (world.office_staff, world.clerk_a, world.auditor):
        client.force_login(user)
        url = reverse("plans:plan_offered", args=[JILIN])
        assert client.get(url).status_code == 403
        assert client.post(url, {"unions": [world.county_a.pk]}).status_code == 403
    assert set(catalog[JILIN].offered_under.all()) == {world.office, world.other_office}


# --- names with their region --------------------------------------------------------------------


def test_plan_names_carry_their_region_wherever_shown(world, catalog):
    from enrollment.documents import _plan_heading
    from enrollment.forms import RosterUploadForm

    jilin = catalog[JILIN]
    assert jilin.display_name == f"吉林省·{jilin.name}"
    assert str(jilin) == jilin.display_name
    plain = Plan(code="x", name="某计划")
    assert plain.display_name == "某计划"
    form = RosterUploadForm(plans=Plan.objects.filter(code=JILIN))
    labels = [label for _value, label in form.fields["plan"].choices]
    assert jilin.display_name in labels
    roster = factories.RosterFactory(union=world.unit_a, plan_version=jilin.versions.get())
    assert _plan_heading(roster)["name"] == jilin.display_name


# --- upgrade and demo --------------------------------------------------------------------------


def test_upgrade_offers_existing_plans_where_they_were_open(world, catalog):
    migration = importlib.import_module("plans.migrations.0004_plan_region_and_offered_under")
    jilin, linyi = catalog[JILIN], catalog[LINYI]
    Plan.objects.filter(pk=linyi.pk).update(office=world.other_office)
    for plan in catalog.values():
        offer(plan)
    migration.offer_existing_plans(django_apps, None)
    assert set(jilin.offered_under.all()) == {world.office, world.other_office}
    # A plan an office ran stays that office's.
    assert set(linyi.offered_under.all()) == {world.other_office}


def test_demo_clerk_is_offered_only_the_offices_province_plans(db):
    # The demo's tree, plans and users (demo_load also makes cover and claims, not needed here).
    from demo import demo

    plans_load_catalog()
    for _run in range(2):
        unions = demo._load_tree()
        demo._offer_plans(unions[demo.OFFICE[0]])
        demo._load_users(unions)
        if _run == 0:
            changes = PlanChange.objects.count()
    # Loading the demo again changes nothing.
    assert PlanChange.objects.count() == changes
    clerk = User.objects.get(username="clerk")
    jilin_plans = set(Plan.objects.filter(region="吉林省").values_list("code", flat=True))
    assert jilin_plans == {JILIN}
    assert codes(visible_plans(clerk)) == jilin_plans
    office = User.objects.get(username="office")
    assert codes(visible_plans(office)) == jilin_plans


def test_page_texts_are_plain_for_users(client, world, catalog):
    """No field names or codes where a user reads where a plan is offered."""
    client.force_login(world.plan_admin)
    with translation.override("en"):
        client.post(reverse("plans:plan_offered", args=[JILIN]), {"unions": [world.office.pk]})
        detail = client.get(reverse("plans:plan_detail", args=[JILIN])).content.decode()
    assert "offered_under" not in detail
