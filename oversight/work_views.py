"""Background work for office staff: what failed or is waiting, and a retry for what failed.

The outbox (mutualaid/outbox) finishes most work by itself when a broker or worker comes back;
what is left here is work that failed three times or killed its worker twice. Each row says what
it was for, links to the record, and failed work can be tried again (the retry is audited).
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from mutualaid.auditlog import audit
from mutualaid.outbox import jobs
from mutualaid.outbox.models import Job
from organisation.decorators import role_required
from organisation.models import User
from organisation.selectors import scoped, scoped_get_or_404

WORK_ROLES = (User.Role.OFFICE_STAFF,)
PAGE_SIZE = 50
# Work still waiting after this long is shown too: it may be stuck behind a broker outage.
DELAYED_AFTER = datetime.timedelta(minutes=10)

WORK_LABELS = {
    "enrollment.tasks.roster_check": gettext_lazy("Checking an uploaded roster"),
    "enrollment.tasks.roster_import": gettext_lazy("Enrolling a submitted roster"),
    "enrollment.tasks.roster_fee_notice": gettext_lazy("Making a roster's fee notice"),
    "enrollment.tasks.roster_certificates": gettext_lazy("Making a roster's certificate list"),
    "claims.tasks.claim_propose": gettext_lazy("Calculating a claim's proposed payment"),
    "claims.tasks.claim_notice": gettext_lazy("Making a claim's decision notice"),
    "claims.tasks.notice_bundle": gettext_lazy("Making a bundle of notices for printing"),
}
RECORD_PAGES = {
    "roster": ("enrollment:roster_detail", gettext_lazy("Roster #%(id)s")),
    "claim": ("claims:claim_detail", gettext_lazy("Claim #%(id)s")),
    "notice_bundle": ("claims:notice_bundle", gettext_lazy("Notice bundle #%(id)s")),
}


def visible_jobs(user: User):
    return scoped(user, Job.objects.all())


def _record(job: Job) -> tuple[str, str]:
    kind, _sep, pk = job.subject.partition(":")
    if kind not in RECORD_PAGES or not pk.isdigit():
        return "", ""
    url_name, label = RECORD_PAGES[kind]
    if kind == "claim":
        from claims.models import Claim

        number = Claim.objects.filter(pk=pk).values_list("number", flat=True).first()
        label = number or label
    try:
        return str(label) % {"id": pk}, reverse(url_name, args=[int(pk)])
    except NoReverseMatch:
        return str(label) % {"id": pk}, ""


@role_required(*WORK_ROLES)
@require_GET
def background_work(request: HttpRequest) -> HttpResponse:
    waiting_since = timezone.now() - DELAYED_AFTER
    rows = visible_jobs(request.user).filter(state=Job.State.FAILED) | visible_jobs(
        request.user
    ).filter(state__in=[Job.State.PENDING, Job.State.SENT], created_at__lt=waiting_since)
    page = Paginator(rows.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    items = []
    for job in page:
        label, url = _record(job)
        items.append(
            {
                "job": job,
                "work": WORK_LABELS.get(job.name, _("Background work")),
                "record": label,
                "url": url,
                "failed": job.state == Job.State.FAILED,
            }
        )
    return render(request, "oversight/background_work.html", {"page": page, "items": items})


@role_required(*WORK_ROLES)
@require_POST
def background_work_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = scoped_get_or_404(request.user, Job.objects.all(), pk=pk)
    if job.state != Job.State.FAILED:
        messages.info(request, _("This work has not failed; it needs no retry."))
        return redirect("oversight:background_work")
    work = str(WORK_LABELS.get(job.name, _("Background work")))
    audit.record(
        audit.Action.UPDATE,
        object_type="job",
        object_id=job.pk,
        label=f"{work} {job.subject}",
        union_id=job.union_id,
        trail=job.subject.replace("notice_bundle", "bundle"),
        note="job_retried",
        params={"work": work},
    )
    if jobs.retry(job):
        messages.success(request, _("The work has been queued again."))
    else:
        messages.info(
            request,
            _("The work is saved and will start as soon as the background service answers."),
        )
    return redirect("oversight:background_work")


def failed_count(user: User) -> int:
    """For the dashboards page: how much failed work waits for office staff."""
    if not (user.is_superuser or user.has_role(*WORK_ROLES)):
        return 0
    return visible_jobs(user).filter(state=Job.State.FAILED).count()
