"""The roster flow's pages: upload, live check, results, review and payment, downloads."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollment import renewal, rosters
from enrollment.forms import ReturnForm, RosterUploadForm, funding_initial
from enrollment.models import Roster
from enrollment.payment_views import roster_payment_context
from enrollment.workbooks import roster_template
from mutualaid.auditlog import audit
from mutualaid.outbox.models import Job
from organisation.decorators import role_required
from organisation.models import User
from organisation.selectors import scoped_get_or_404
from plans.models import PlanVersion
from plans.selectors import visible_plans

FINDINGS_PAGE = 50
CLERK = (User.Role.CLERK,)
OFFICE = (User.Role.OFFICE_STAFF,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _roster(request: HttpRequest, pk: int) -> Roster:
    return scoped_get_or_404(
        request.user,
        Roster.objects.select_related("union", "plan_version__plan", "created_by"),
        pk=pk,
    )


def _plans_for_upload(user: User):
    return visible_plans(user).filter(versions__status=PlanVersion.Status.PUBLISHED).distinct()


@role_required(*CLERK)
@require_http_methods(["GET", "POST"])
def roster_upload(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    plans = _plans_for_upload(user)
    # The chosen plan's help and renewal workbook, and the unit's last funding choice for it.
    chosen = plans.filter(code=request.POST.get("plan") or request.GET.get("plan") or "").first()
    plan_context = renewal.upload_plan_context(user, chosen)
    if request.method == "POST":
        plan_context["remembered"] = None
    form = RosterUploadForm(
        request.POST or None,
        request.FILES or None,
        plans=plans,
        initial={"plan": request.GET.get("plan"), **funding_initial(plan_context["remembered"])},
    )
    if request.method == "POST" and form.is_valid():
        try:
            roster = rosters.roster_upload(
                user=user,
                union=user.union,
                plan_version=form.cleaned_data["plan_version"],
                coverage_start=form.cleaned_data["coverage_start"],
                funding=form.cleaned_data["funding"],
                upload=form.cleaned_data["file"],
            )
        except rosters.FundingError as exc:
            for message in exc.errors.values():
                form.add_error(None, message)
        except rosters.RosterActionError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("enrollment:roster_detail", pk=roster.pk)
    return render(
        request, "enrollment/roster_upload.html", {"form": form, "plans": plans, **plan_context}
    )


@role_required(*CLERK)
@require_GET
def funding_help(request: HttpRequest) -> HttpResponse:
    plan = _plans_for_upload(request.user).filter(code=request.GET.get("plan", "")).first()
    version = (
        plan.versions.filter(status=PlanVersion.Status.PUBLISHED).order_by("-number").first()
        if plan
        else None
    )
    return render(
        request,
        "enrollment/_funding_help.html",
        {"plan": plan, "rules": version.parsed_rules if version else None},
    )


@require_GET
def roster_template_download(request: HttpRequest, code: str) -> HttpResponse:
    plan = get_object_or_404(visible_plans(request.user), code=code)
    version = plan.versions.filter(status=PlanVersion.Status.PUBLISHED).order_by("-number").first()
    if version is None:
        raise Http404
    data = roster_template(
        rules=version.parsed_rules, plan_code=plan.code, plan_name=plan.display_name
    )
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = _attachment(f"{plan.display_name}-参保名单模板.xlsx")
    return response


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"roster.xlsx\"; filename*=UTF-8''{quote(filename)}"


@require_GET
def roster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    roster = _roster(request, pk)
    findings = roster.findings.all()
    code = request.GET.get("code", "")
    if code:
        findings = findings.filter(code=code)
    codes = roster.findings.values("code").annotate(n=Count("pk")).order_by("code")
    page = Paginator(findings, FINDINGS_PAGE).get_page(request.GET.get("page"))
    enrollments = roster.enrollments.select_related("member")[:100]
    return render(
        request,
        "enrollment/roster_detail.html",
        {
            "roster": roster,
            "page": page,
            "code": code,
            "codes": codes,
            "enrollments": enrollments,
            "events": roster.events.select_related("actor"),
            "return_form": ReturnForm(),
            "payment": roster_payment_context(roster, request.user),
            "is_clerk": request.user.role == User.Role.CLERK,
            "is_office": request.user.role == User.Role.OFFICE_STAFF,
            "amounts": _amounts(roster),
            "audit_trail": audit.trail_for(request.user, [f"roster:{roster.pk}"]),
            **_roster_files(roster),
        },
    )


def _amounts(roster: Roster) -> list[tuple[str, str, str]]:
    from plans.templatetags.plan_rules import PAYER_LABELS

    percent = roster.funding.get("percent", {})
    return [
        (str(PAYER_LABELS.get(payer, payer)), percent.get(payer, ""), amount)
        for payer, amount in roster.funding.get("amounts", {}).items()
    ]


@require_GET
def roster_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the page while a worker checks or imports; htmx polls it."""
    roster = _roster(request, pk)
    response = render(request, "enrollment/_roster_progress.html", {"roster": roster})
    if roster.status not in (
        Roster.Status.UPLOADED,
        Roster.Status.CHECKING,
        Roster.Status.SUBMITTING,
    ):
        response["HX-Refresh"] = "true"
    return response


def made_file_state(stored, *, subject: str, task: str) -> str:
    """Where a file that a worker makes (a notice, the certificates) stands, for a page: "ready"
    once it is stored; "preparing" while its job is on record and may still run; "failed" once
    the job gave up (office staff see it on the background work page); "" when no job was
    ever asked for it."""
    if stored:
        return "ready"
    job = Job.objects.filter(subject=subject, name=task).order_by("-created_at", "-pk").first()
    if job is None:
        return ""
    return "failed" if job.state == Job.State.FAILED else "preparing"


def _roster_files(roster: Roster) -> dict:
    """The roster's fee notice and certificates: each ready, being prepared, failed or not due."""
    due = {
        "fee_notice": roster.status in (Roster.Status.APPROVED, Roster.Status.PAID),
        "certificates": roster.status == Roster.Status.PAID,
    }
    files = {}
    for name, expected in due.items():
        stored = getattr(roster, name)
        files[name] = (
            made_file_state(
                stored, subject=f"roster:{roster.pk}", task=f"enrollment.tasks.roster_{name}"
            )
            if expected or stored
            else ""
        )
    return {"files": files, "preparing": "preparing" in files.values()}


@require_GET
def roster_files(request: HttpRequest, pk: int) -> HttpResponse:
    """The roster's PDF links, or "being prepared" while a worker makes them; htmx polls it until
    nothing is left to wait for."""
    roster = _roster(request, pk)
    return render(
        request, "enrollment/_roster_files.html", {"roster": roster, **_roster_files(roster)}
    )


def _act(request: HttpRequest, pk: int, action, **kwargs) -> HttpResponse:
    roster = _roster(request, pk)
    try:
        action(roster=roster, user=request.user, **kwargs)
    except rosters.RosterActionError as exc:
        messages.error(request, str(exc))
    return redirect("enrollment:roster_detail", pk=roster.pk)


def _confirm_first(request: HttpRequest, pk: int, kind: str, action) -> HttpResponse:
    """Submitting and approving act only on a POST carrying ``confirmed``: the roster's check
    token, which the confirmation page puts in its form. Any other POST (the button on the
    roster's page, a replayed or hand-made request) shows the confirmation page: who and how
    much, the unit, the coverage period and what will happen, and does nothing."""
    roster = _roster(request, pk)
    token = request.POST.get("confirmed", "")
    if token:
        return _act(request, pk, action, token=token)
    if kind == "submit" and not roster.can_submit:
        messages.error(request, _("Only a checked roster without errors can be submitted."))
        return redirect("enrollment:roster_detail", pk=roster.pk)
    if kind == "approve" and roster.status != Roster.Status.SUBMITTED:
        messages.error(request, _("Only a submitted roster can be approved."))
        return redirect("enrollment:roster_detail", pk=roster.pk)
    return render(
        request,
        "enrollment/roster_confirm.html",
        {
            "roster": roster,
            "kind": kind,
            "people": _people(roster, kind),
            "amounts": _amounts(roster),
            "action": f"enrollment:roster_{kind}",
        },
    )


def _people(roster: Roster, kind: str) -> int:
    """The people the step is about: the valid rows to enroll, or those enrolled for review."""
    if kind == "submit":
        return roster.rows_valid
    return roster.enrollments.exclude(status="cancelled").count()


@role_required(*CLERK)
@require_POST
def roster_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _confirm_first(request, pk, "submit", rosters.roster_submit)


@role_required(*CLERK)
@require_POST
def roster_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, rosters.roster_withdraw)


@role_required(*OFFICE)
@require_POST
def roster_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _confirm_first(request, pk, "approve", rosters.roster_approve)


@role_required(*OFFICE)
@require_POST
def roster_return(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReturnForm(request.POST)
    if not form.is_valid():
        _roster(request, pk)
        messages.error(request, _("Say why the roster is returned, so the unit can fix it."))
        return redirect("enrollment:roster_detail", pk=pk)
    return _act(request, pk, rosters.roster_return, reason=form.cleaned_data["reason"])


DOWNLOADS = {
    "annotated": ("annotated", XLSX, "检查结果-{name}.xlsx"),
    "fee-notice": ("fee_notice", "application/pdf", "缴费通知单-{name}.pdf"),
    "certificates": ("certificates", "application/pdf", "参保凭证-{name}.pdf"),
}


AUDIT_NOTES = {
    "annotated": "roster_annotated",
    "fee-notice": "roster_fee_notice",
    "certificates": "roster_certificates",
}


@require_GET
def roster_download(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    roster = _roster(request, pk)
    if kind not in DOWNLOADS:
        raise Http404
    field, content_type, pattern = DOWNLOADS[kind]
    stored = getattr(roster, field)
    if not stored:
        raise Http404
    if stored.name.endswith(".zip"):
        content_type, pattern = "application/zip", pattern.rsplit(".", 1)[0] + ".zip"
    audit.record(
        audit.Action.DOWNLOAD,
        obj=roster,
        count=roster.rows_total or 1,
        note=AUDIT_NOTES[kind],
    )
    response = FileResponse(stored.open("rb"), content_type=content_type)
    response["Content-Disposition"] = _attachment(pattern.format(name=roster.union.name))
    return response
