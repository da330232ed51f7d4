"""A plan admin copies a version, edits it in the forms, tries it side by side, publishes it;
old claims keep the old amounts."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from claims import services as claim_services
from plans.models import PlanChange, PlanVersion
from plans.selectors import version_in_force
from plans.services import PlanAdminError, plans_load_catalog, version_publish
from plans.tests.test_rule_forms import _Inputs
from tests import factories
from tests.test_roster_journey import good_rows

CODE = "jilin-allowance-2020"


@pytest.fixture
def admin(world, client):
    plans_load_catalog()
    client.force_login(world.plan_admin)
    return client


def page_post(html: str) -> dict[str, list[str]]:
    """What a browser would submit from the page's editor form (the hidden benefit template
    for "add a benefit" excluded)."""
    start = html.index('id="rules-editor"')
    form = html[start : html.index("</form>", start)]
    if "<template" in form:
        form = form[: form.index("<template")] + form[form.index("</template>") :]
    parser = _Inputs()
    parser.feed(form)
    post: dict[str, list[str]] = {}
    for name, value in parser.pairs:
        post.setdefault(name, []).append(value)
    return post


def find(post: dict, suffix: str) -> str:
    names = [name for name in post if name.endswith(suffix)]
    assert len(names) >= 1, suffix
    return names[0]


def copy_and_edit(admin, world) -> PlanVersion:
    admin.post(reverse("plans:version_copy", args=[CODE]))
    draft = PlanVersion.objects.get(plan__code=CODE, number=2)
    assert draft.status == PlanVersion.Status.DRAFT
    page = admin.get(reverse("plans:version_edit", args=[CODE, 2]))
    assert page.status_code == 200
    post = page_post(page.content.decode())
    post[find(post, "daily_rate_local")] = ["60.00"]
    post[find(post, "stay_cap_local")] = ["5400.00"]
    illness = next(
        name
        for name, values in post.items()
        if name.endswith("-type") and values == ["critical_illness"]
    )
    diseases = illness[: -len("type")] + "diseases"
    post[diseases] = [post[diseases][0] + "\n严重阿尔茨海默病"]
    post["version-effective_from"] = ["2025-01-01"]
    response = admin.post(reverse("plans:version_edit", args=[CODE, 2]), post)
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    return draft


def test_admin_copies_edits_tries_and_publishes(admin, world):
    draft = copy_and_edit(admin, world)
    allowance = draft.parsed_rules.benefit("hospital_allowance")
    assert allowance.daily_rate["local"] == Decimal("60.00")
    assert "严重阿尔茨海默病" in draft.parsed_rules.benefit("critical_illness").diseases
    change = PlanChange.objects.get(version=draft, action=PlanChange.Action.EDITED)
    assert change.actor == world.plan_admin
    paths = [path for path, _old, _new in change.diff]
    assert any("daily_rate.local" in p for p in paths)

    # Side by side: a ten-day local stay pays 500 under v1 and 600 under v2.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "手机号", "用工类型", "是否参加医保"])
    for row in good_rows(3):
        sheet.append(row[:5])
    sheet.append(["退休者", good_rows(1, first=80)[0][1], "13904310080", "退休", "是"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    data.name = "sample.xlsx"
    tried = admin.post(
        reverse("plans:version_try", args=[CODE, 2]),
        {
            "coverage_start": "2025-01-01",
            "roster": data,
            "claim0-benefit": "hospital_allowance",
            "claim0-admission_date": "2025-03-01",
            "claim0-discharge_date": "2025-03-11",
            "claim0-hospital_locality": "local",
            "claim0-hospital_grade": "3",
        },
    )
    text = tried.content.decode()
    assert tried.status_code == 200
    assert "¥500.00" in text and "¥600.00" in text
    assert "用工类型不在保障范围" in text and "employment_type_ineligible" not in text

    # Publishing asks once, saying what will change, and changes nothing until confirmed.
    publish = reverse("plans:version_publish", args=[CODE, 2])
    asked = admin.post(publish, {"version-effective_from": "2025-01-01"})
    assert asked.status_code == 200
    assert asked.context["effective_from"] == datetime.date(2025, 1, 1)
    assert [(v.number, end) for v, end in asked.context["ending"]] == [
        (1, datetime.date(2024, 12, 31))
    ]
    confirm = asked.content.decode()
    assert 'name="confirmed" value="yes"' in confirm and "2025-01-01" in confirm
    assert not re.findall(r"<script(?![^>]*\bsrc=)", confirm)  # no inline script (CSP)
    draft.refresh_from_db()
    assert draft.status == PlanVersion.Status.DRAFT
    response = admin.post(publish, {"version-effective_from": "2025-01-01", "confirmed": "yes"})
    assert response.status_code == 302
    v1 = PlanVersion.objects.get(plan__code=CODE, number=1)
    draft.refresh_from_db()
    assert draft.status == PlanVersion.Status.PUBLISHED
    assert v1.status == PlanVersion.Status.SUPERSEDED
    assert v1.effective_to == datetime.date(2024, 12, 31)
    assert version_in_force(draft.plan, datetime.date(2025, 6, 1)) == draft
    assert version_in_force(draft.plan, datetime.date(2024, 6, 1)) == v1
    history = admin.get(reverse("plans:plan_detail", args=[CODE])).content.decode()
    # The change log names the rule as the editor does, not by its path in the rules.
    assert "daily_rate" not in history
    assert re.search(r"住院津贴 每日津贴，本地住院（元）</span>: 50(\.00)? → 60\.00", history)


def test_an_old_claim_keeps_the_old_amount_after_a_new_version(admin, world):
    v1 = factories.catalog_version(CODE)
    enrollment = factories.enroll(world.member_a, v1, coverage_start=datetime.date(2024, 1, 1))
    draft = copy_and_edit(admin, world)
    version_publish(version=draft, user=world.plan_admin, effective_from=datetime.date(2025, 1, 1))
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        event_date=datetime.date(2024, 3, 1),
        facts={
            "admission_date": "2024-03-01",
            "discharge_date": "2024-03-11",
            "hospital_locality": "local",
            "hospital_grade": 3,
            "filed_date": "2024-03-20",
        },
    )
    claim_services.claim_propose_run(claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.proposal["amount"] == "500.00"
    new = factories.enroll(
        factories.MemberFactory(union=world.unit_a), draft, coverage_start=datetime.date(2025, 1, 1)
    )
    later = factories.ClaimFactory(
        enrollment=new,
        event_date=datetime.date(2025, 3, 1),
        facts={
            "admission_date": "2025-03-01",
            "discharge_date": "2025-03-11",
            "hospital_locality": "local",
            "hospital_grade": 3,
            "filed_date": "2025-03-20",
        },
    )
    claim_services.claim_propose_run(claim_id=later.pk)
    later.refresh_from_db()
    assert later.proposal["amount"] == "600.00"


def test_published_versions_are_never_edited(admin, world):
    response = admin.get(reverse("plans:version_edit", args=[CODE, 1]), follow=True)
    assert "alert-danger" in response.content.decode()
    before = PlanVersion.objects.get(plan__code=CODE, number=1).rules
    admin.post(reverse("plans:version_edit", args=[CODE, 1]), {"anything": "x"})
    assert PlanVersion.objects.get(plan__code=CODE, number=1).rules == before


def test_a_new_version_cannot_start_before_the_one_in_force(admin, world):
    admin.post(reverse("plans:version_copy", args=[CODE]))
    draft = PlanVersion.objects.get(plan__code=CODE, number=2)
    with pytest.raises(PlanAdminError):
        version_publish(
            version=draft, user=world.plan_admin, effective_from=datetime.date(2019, 1, 1)
        )
    draft.refresh_from_db()
    assert draft.status == PlanVersion.Status.DRAFT


def test_only_one_draft_at_a_time(admin, world):
    admin.post(reverse("plans:version_copy", args=[CODE]))
    admin.post(reverse("plans:version_copy", args=[CODE]))
    assert PlanVersion.objects.filter(plan__code=CODE).count() == 2


def test_an_invalid_edit_names_the_field_and_saves_nothing(admin, world):
    admin.post(reverse("plans:version_copy", args=[CODE]))
    page = admin.get(reverse("plans:version_edit", args=[CODE, 2]))
    post = page_post(page.content.decode())
    post[find(post, "stay_cap_local")] = ["10.00"]  # below one day's allowance
    post[find(post, "age_max")] = ["10"]  # below age_min: an empty range
    response = admin.post(reverse("plans:version_edit", args=[CODE, 2]), post)
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    draft = PlanVersion.objects.get(plan__code=CODE, number=2)
    assert draft.parsed_rules.benefit("hospital_allowance").stay_cap["local"] == Decimal("4500.00")


def test_only_plan_admins_edit_plans(client, world):
    plans_load_catalog()
    for user in (world.clerk_a, world.office_staff, world.auditor):
        client.force_login(user)
        assert client.post(reverse("plans:version_copy", args=[CODE])).status_code == 403
        assert client.get(reverse("plans:version_edit", args=[CODE, 1])).status_code == 403
    assert PlanVersion.objects.filter(plan__code=CODE).count() == 1


def test_publishing_from_a_day_it_cannot_start_is_refused_before_asking(admin, world):
    admin.post(reverse("plans:version_copy", args=[CODE]))
    response = admin.post(
        reverse("plans:version_publish", args=[CODE, 2]),
        {"version-effective_from": "2019-01-01"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("plans:version_try", args=[CODE, 2])
    assert "alert-danger" in response.content.decode()
    assert PlanVersion.objects.get(plan__code=CODE, number=2).status == PlanVersion.Status.DRAFT
    assert not PlanChange.objects.filter(action=PlanChange.Action.PUBLISHED).exists()
