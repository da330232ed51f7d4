"""A plan's page never contradicts the version in force: its amounts come from that version's
rules, and the free-text description keeps only what no version changes."""

from __future__ import annotations

import copy
import datetime
import re

from django.test import Client
from django.urls import reverse

from plans.description import curation_note, public_description
from plans.models import PlanChange
from plans.services import version_copy, version_edit, version_publish
from tests import factories

CODE = "jilin-allowance-2020"


def _sections(html: str) -> list[tuple[str, str]]:
    """Each version's card on the plan page, in page order: (aria-label, html)."""
    found = re.findall(
        r'<section class="card[^"]*" aria-label="(v\d+)">(.*?)</section>', html, re.S
    )
    return list(found)


def _raise_daily_rate(world) -> None:
    v1 = factories.catalog_version(CODE)
    draft = version_copy(plan=v1.plan, user=world.plan_admin, effective_from=datetime.date.today())
    rules = copy.deepcopy(draft.rules)
    allowance = next(b for b in rules["benefits"] if b["type"] == "hospital_allowance")
    assert allowance["daily_rate"]["local"] in ("50", "50.00")
    allowance["daily_rate"]["local"] = "60.00"
    day = datetime.date(2026, 1, 1)
    version_edit(version=draft, user=world.plan_admin, rules=rules, effective_from=day)
    version_publish(version=draft, user=world.plan_admin, effective_from=day)


def test_after_v2_raises_the_daily_rate_the_page_shows_v2s_amounts(world):
    _raise_daily_rate(world)
    client = Client()
    client.force_login(world.clerk_a)
    response = client.get(reverse("plans:plan_detail", args=[CODE]))
    assert response.status_code == 200
    html = response.content.decode()
    sections = _sections(html)
    # The version in force comes first, with its own amounts.
    assert sections[0][0] == "v2"
    assert "60.00" in sections[0][1] and "50.00" not in sections[0][1]
    # The text above the versions states no amount, so it cannot contradict either version.
    intro = html[html.index("<h1") : html.index('<section class="card')]
    assert "50元" not in intro and "每天" not in intro and "110元" not in intro
    assert "[default]" not in html and "需管理员复核" not in html
    assert "吉林省直机关" in intro  # the context is kept


def test_the_change_log_reads_as_a_person_writes_it(world):
    _raise_daily_rate(world)
    client = Client()
    client.force_login(world.plan_admin)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("plans:plan_detail", args=[CODE])).content.decode()
    change = PlanChange.objects.get(action=PlanChange.Action.EDITED)
    assert any(path.endswith("daily_rate.local") for path, _old, _new in change.diff)
    assert "daily_rate" not in html and "benefits[" not in html and "effective_to" not in html
    assert "copied from v1" not in html
    assert re.search(r"Per day, local hospital \(yuan\)</span>: 50(\.00)? → 60\.00", html)
    assert "Copied from version 1" in html
    # The curation note is the plan admin's only.
    assert "需管理员复核" in html


def test_public_description_keeps_context_and_drops_every_number():
    text = (
        "面向吉林省直机关各基层工会在职会员（16–60周岁，不含退休人员），以基层工会为单位集体参保，"
        "每人每年110元、限1份；不足200人的单位须全员参保。保障住院津贴（本地每天50元）。"
        "依据：吉林省直机关工会2020年职工互助保障活动通知。[default] 需管理员复核：疾病名单。"
    )
    public = public_description(text)
    assert public == (
        "面向吉林省直机关各基层工会在职会员，以基层工会为单位集体参保。保障住院津贴。"
        "依据：吉林省直机关工会2020年职工互助保障活动通知。"
    )
    assert curation_note(text) == "需管理员复核：疾病名单。"
    assert curation_note("没有备注。") == ""
