"""PDFs that a worker makes (a roster's fee notice and certificates, a claim's decision notice)
show "being prepared" in their place, and htmx polls a small fragment every 2 s until the link
can be swapped in. The fragment is scoped as the page it belongs to."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim
from enrollment import rosters
from enrollment.models import Roster
from mutualaid.outbox import jobs
from mutualaid.outbox.models import Job
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}
PREPARING = "Being prepared…"
POLLING = 'hx-trigger="every 2s"'


def _get(client, url):
    client.cookies["django_language"] = "en"
    response = client.get(url, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def _links(html: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]+)"', html)


def test_the_fee_notice_appears_by_itself_once_the_worker_made_it(client, world):
    roster = factories.RosterFactory(union=world.unit_a, status=Roster.Status.SUBMITTED)
    # Approving asks the worker for the fee notice (the job is on record, not run yet).
    rosters.roster_approve(roster=roster, user=world.office_staff)
    assert Job.objects.filter(subject=f"roster:{roster.pk}").exists()
    fragment = reverse("enrollment:roster_files", args=[roster.pk])
    download = reverse("enrollment:roster_download", args=[roster.pk, "fee-notice"])

    client.force_login(world.clerk_a)
    page = _get(client, reverse("enrollment:roster_detail", args=[roster.pk]))
    assert PREPARING in page and download not in _links(page)
    assert f'hx-get="{fragment}" {POLLING}' in page

    waiting = _get(client, fragment)
    assert waiting.lstrip().startswith('<div id="roster-files"')
    assert PREPARING in waiting and POLLING in waiting and download not in _links(waiting)

    rosters.roster_fee_notice_make(roster_id=roster.pk)
    ready = _get(client, fragment)
    assert download in _links(ready)
    # Nothing left to wait for: the answer carries no trigger, so the polling stops.
    assert PREPARING not in ready and "hx-trigger" not in ready and "hx-get" not in ready
    assert client.get(download).status_code == 200


def test_certificates_wait_while_the_fee_notice_is_there(client, world):
    roster = factories.approved_roster(world.unit_a)
    Roster.objects.filter(pk=roster.pk).update(
        status=Roster.Status.PAID, payment_amount=roster.fee_total
    )
    roster.refresh_from_db()
    roster.fee_notice.save("notice.pdf", ContentFile(factories.pdf_document()))
    jobs.enqueue(
        "enrollment.tasks.roster_certificates",
        roster.pk,
        subject=f"roster:{roster.pk}",
        union_id=roster.union_id,
    )
    fragment = reverse("enrollment:roster_files", args=[roster.pk])
    client.force_login(world.office_staff)
    html = _get(client, fragment)
    assert reverse("enrollment:roster_download", args=[roster.pk, "fee-notice"]) in _links(html)
    assert "Coverage certificates (PDF) · " + PREPARING in html and POLLING in html

    # A job that gave up is said so, and nobody waits for it.
    Job.objects.filter(name="enrollment.tasks.roster_certificates").update(state=Job.State.FAILED)
    failed = _get(client, fragment)
    assert PREPARING not in failed and "could not be prepared" in failed
    assert "hx-trigger" not in failed


def test_no_placeholder_when_nothing_was_asked_of_the_worker(client, world):
    roster = factories.RosterFactory(union=world.unit_a, status=Roster.Status.CHECKED)
    client.force_login(world.clerk_a)
    html = _get(client, reverse("enrollment:roster_files", args=[roster.pk]))
    assert PREPARING not in html and "hx-trigger" not in html and not _links(html)


def test_the_decision_notice_appears_by_itself(client, world, covered):
    enrollment, _run = covered
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.APPROVED,
        approved_amount=Decimal("500.00"),
        decided_at=timezone.now(),
    )
    jobs.enqueue(
        "claims.tasks.claim_notice",
        claim.pk,
        subject=f"claim:{claim.pk}",
        union_id=claim.union_id,
    )
    fragment = reverse("claims:claim_notice_part", args=[claim.pk])
    download = reverse("claims:claim_notice", args=[claim.pk])
    client.force_login(world.clerk_a)

    page = _get(client, reverse("claims:claim_detail", args=[claim.pk]))
    assert PREPARING in page and download not in _links(page)
    assert f'hx-get="{fragment}" {POLLING}' in page
    waiting = _get(client, fragment)
    assert waiting.lstrip().startswith('<div id="claim-notice"')
    assert PREPARING in waiting and POLLING in waiting

    claim.notice.save("notice.pdf", ContentFile(factories.pdf_document()))
    ready = _get(client, fragment)
    assert download in _links(ready) and "hx-trigger" not in ready and PREPARING not in ready


def test_the_fragments_are_scoped_as_their_pages(client, world, covered):
    enrollment, _run = covered
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.APPROVED,
        approved_amount=Decimal("500.00"),
        decided_at=timezone.now(),
    )
    roster = factories.approved_roster(world.unit_a)
    urls = [
        reverse("claims:claim_notice_part", args=[claim.pk]),
        reverse("enrollment:roster_files", args=[roster.pk]),
    ]
    for outsider in (world.clerk_b, world.other_office_staff):
        client.force_login(outsider)
        for url in urls:
            assert client.get(url, **HTMX).status_code == 404, (outsider, url)
    for insider in (world.clerk_a, world.county_staff_a, world.office_staff, world.auditor):
        client.force_login(insider)
        for url in urls:
            assert client.get(url, **HTMX).status_code == 200, (insider, url)
    client.logout()
    assert client.get(urls[0]).status_code == 302
