"""Numbers shown in full are limited per user (mutualaid/reveals.py): past the limit the number
stays masked, the answer is a 429 in the user's language, the refusal is in the audit log, and
auditors and office staff of the office see who reached it on the dashboards page."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mutualaid import reveals
from mutualaid.auditlog.models import AuditEntry
from organisation.models import User
from tests import factories

Action = AuditEntry.Action
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def limits(settings):
    settings.REVEAL_LIMIT_PER_MINUTE = 3
    settings.REVEAL_LIMIT_PER_DAY = 5
    return settings


def _later(monkeypatch, seconds: float) -> None:
    """Let the limits count from ``seconds`` on (the audit log is append-only: its entries'
    times cannot be moved back)."""
    moment = timezone.now() + datetime.timedelta(seconds=seconds)
    monkeypatch.setattr(reveals, "_now", lambda: moment)


def _id_url(world) -> str:
    return reverse("enrollment:member_reveal", args=[world.member_a.pk, "id_number"])


def test_the_defaults_allow_ordinary_work():
    from django.conf import settings

    assert settings.REVEAL_LIMIT_PER_MINUTE == 10
    assert settings.REVEAL_LIMIT_PER_DAY == 200


def test_past_the_minute_limit_the_number_stays_masked_with_a_429(client, world, limits):
    member = world.member_a
    client.force_login(world.clerk_a)
    for _ in range(3):
        shown = client.post(_id_url(world), **HTMX)
        assert shown.status_code == 200 and member.id_number in shown.content.decode()

    refused = client.post(_id_url(world), **HTMX)
    assert refused.status_code == 429
    fragment = refused.content.decode()
    assert member.id_number not in fragment
    assert member.id_number_masked in fragment and "reveal-refused" in fragment
    # The bank card is a number shown in full too: it is refused as well.
    bank = reverse("enrollment:member_reveal", args=[member.pk, "bank_card"])
    assert client.post(bank, **HTMX).status_code == 429

    assert AuditEntry.objects.filter(action=Action.VIEW).count() == 3
    refusals = AuditEntry.objects.filter(action=Action.REFUSED).order_by("pk")
    assert [e.note for e in refusals] == ["reveal_limit_minute"] * 2
    first = refusals[0]
    assert first.actor == world.clerk_a and first.union_id == world.unit_a.pk
    assert first.trail == f"member:{member.pk}" and first.params["limit"] == 3
    assert first.params["asked"] == "id_number_shown"


def test_the_refusal_is_a_page_in_the_users_language_without_htmx(client, world, limits):
    client.force_login(world.clerk_a)
    for _ in range(3):
        client.post(_id_url(world))
    page = client.post(_id_url(world))
    assert page.status_code == 429
    text = page.content.decode()
    assert 'id="reveal-refused"' in text and world.member_a.id_number not in text
    assert reverse("enrollment:member_detail", args=[world.member_a.pk]) in text  # the way back
    client.cookies["django_language"] = "en"
    english = client.post(_id_url(world)).content.decode()
    assert "Numbers shown in full are limited to 3 a minute" in english


def test_the_day_limit_holds_after_the_minute_has_passed(client, world, limits, monkeypatch):
    client.force_login(world.clerk_a)
    for _ in range(3):
        assert client.post(_id_url(world), **HTMX).status_code == 200
    assert client.post(_id_url(world), **HTMX).status_code == 429
    _later(monkeypatch, 61)
    for _ in range(2):
        assert client.post(_id_url(world), **HTMX).status_code == 200
    refused = client.post(_id_url(world), **HTMX)
    assert refused.status_code == 429
    assert AuditEntry.objects.filter(action=Action.VIEW).count() == 5
    assert AuditEntry.objects.filter(note="reveal_limit_day").count() == 1
    # 24 hours on, the user may again.
    _later(monkeypatch, 24 * 3600 + 61)
    assert client.post(_id_url(world), **HTMX).status_code == 200


def test_each_user_has_their_own_limit(client, world, limits):
    client.force_login(world.clerk_a)
    for _ in range(3):
        client.post(_id_url(world), **HTMX)
    assert client.post(_id_url(world), **HTMX).status_code == 429
    other = Client()
    other.force_login(world.office_staff)
    assert other.post(_id_url(world), **HTMX).status_code == 200


def test_claim_payee_and_claim_form_prefill_count_towards_the_same_limit(
    client, world, covered, limits
):
    enrollment, _run = covered
    claim = factories.ClaimFactory(enrollment=enrollment, reported_by=world.clerk_a)
    client.force_login(world.clerk_a)
    client.cookies["django_language"] = "en"
    report = reverse("claims:claim_report", args=[enrollment.pk])
    payee = reverse("claims:claim_reveal", args=[claim.pk])

    page = client.get(report)
    assert page.status_code == 200
    assert page.context["form"].initial["payee_account"] == world.member_a.bank_card
    assert client.post(payee, **HTMX).status_code == 200
    assert client.post(_id_url(world), **HTMX).status_code == 200

    refused = client.post(payee, **HTMX)
    assert refused.status_code == 429
    assert claim.payee_account not in refused.content.decode()
    assert claim.payee_account_masked in refused.content.decode()
    # The report form still opens, without the card filled in, and says why.
    page = client.get(report)
    assert page.status_code == 200
    assert page.context["form"].initial["payee_account"] == ""
    assert world.member_a.bank_card not in page.content.decode()
    warnings = [str(m) for m in page.context["messages"]]
    assert any(
        "bank card on file was not filled in" in m and "limited to 3 a minute" in m
        for m in warnings
    ), warnings
    notes = list(
        AuditEntry.objects.filter(action=Action.REFUSED)
        .order_by("pk")
        .values_list("note", "params__asked")
    )
    assert notes == [
        ("reveal_limit_minute", "payee_account_shown"),
        ("reveal_limit_minute", "claim_form_bank_card"),
    ]


def test_auditors_and_office_staff_of_the_office_see_who_reached_the_limit(client, world, limits):
    client.force_login(world.clerk_a)
    for _ in range(5):
        client.post(_id_url(world), **HTMX)  # 3 shown, 2 refused

    dashboards = reverse("oversight:dashboards")
    for person in (world.auditor, world.office_staff):
        viewer = Client()
        viewer.cookies["django_language"] = "en"
        viewer.force_login(person)
        page = viewer.get(dashboards)
        assert page.status_code == 200
        alerts = page.context["reveal_alerts"]
        assert [(a.username, a.count) for a in alerts] == [(world.clerk_a.username, 2)]
        text = page.content.decode()
        assert 'id="reveal-alerts"' in text
        assert f"Reveal limit reached by {world.clerk_a.display_name}" in text
        assert timezone.localtime(alerts[0].last).strftime("%Y-%m-%d %H:%M") in text
    # The auditor can open the refusals in the audit log from there.
    auditor = Client()
    auditor.force_login(world.auditor)
    log = auditor.get(reverse("oversight:audit_log"), {"action": "refused"})
    assert len(log.context["rows"]) == 2

    # Another office's auditor and office staff see nothing of it.
    other_auditor = factories.UserFactory(role=User.Role.AUDITOR, union=world.other_office)
    for person in (other_auditor, world.other_office_staff):
        viewer = Client()
        viewer.force_login(person)
        page = viewer.get(dashboards)
        assert page.context["reveal_alerts"] == []
        assert 'id="reveal-alerts"' not in page.content.decode()


def test_refusals_older_than_thirty_days_are_not_listed(client, world, limits, monkeypatch):
    client.force_login(world.clerk_a)
    for _ in range(4):
        client.post(_id_url(world), **HTMX)
    from oversight import dashboard_views

    assert len(dashboard_views.reveal_alerts(world.auditor)) == 1
    moment = timezone.now() + datetime.timedelta(days=31)
    monkeypatch.setattr(dashboard_views.timezone, "now", lambda: moment)
    assert dashboard_views.reveal_alerts(world.auditor) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_requests_cannot_slip_past_the_limit(world, limits):
    """Twelve requests of one user at the same instant, each on its own connection: exactly the
    limit's three numbers are shown."""
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races need PostgreSQL (run with DATABASE_URL=postgres://...)")
    url = _id_url(world)
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def one() -> None:
        client = Client()
        client.force_login(world.clerk_a)
        try:
            barrier.wait()
            statuses.append(client.post(url, **HTMX).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 3 + [429] * 9
    assert AuditEntry.objects.filter(action=Action.VIEW, note="id_number_shown").count() == 3
