"""Claims pages: report, documents, review queue, decision, notices, batches, trial calculation.

Every object is fetched through the scoping selectors: another union's claim, document or batch
is a 404.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from claims import selectors, services
from claims.forms import (
    LABELS,
    PAYMENT_FAILED,
    ClaimReportForm,
    DecideForm,
    DocumentForm,
    FindMemberForm,
    MoveForm,
    QueueForm,
    SecondaryForm,
    TrialForm,
    posted_ids,
)
from claims.models import Claim, ClaimDocument, NoticeBundle, Payout, Transfer
from enrollment.models import Enrollment
from enrollment.selectors import visible_enrollments
from enrollment.views import reveal_response
from mutualaid import reveals, searches
from mutualaid.auditlog import audit
from mutualaid.crypto import digest
from mutualaid.outbox import jobs
from organisation.decorators import report_form_errors, role_required
from organisation.models import User
from organisation.selectors import scoped_get_or_404, visible_units
from plans.engine.identity import IdNumberError, mask_id_number, normalise_id_number

PAGE_SIZE = 50
CLERK = (User.Role.CLERK,)
OFFICE = (User.Role.OFFICE_STAFF,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# For claim documents: an opaque origin (no cookies, no script, no forms) and nothing loaded.
DOCUMENT_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def _claim(request: HttpRequest, pk: int) -> Claim:
    return scoped_get_or_404(request.user, selectors.visible_claims(request.user), pk=pk)


# --- report --------------------------------------------------------------------------------------


@role_required(*CLERK)
@require_http_methods(["GET", "POST"])
def claim_start(request: HttpRequest) -> HttpResponse:
    """Step one: find the member by ID number and pick the cover to claim on.

    The number is sent by POST and the results are shown under an opaque token
    (mutualaid.searches), so it never appears in a web address."""
    if request.method == "GET" and "id_number" in request.GET:
        # An old bookmark or a typed address: drop the number rather than search with it.
        return redirect("claims:claim_start")
    form = FindMemberForm(request.POST or None)
    enrollments = Enrollment.objects.none()
    found: dict | None = None
    if request.method == "POST" and form.is_valid():
        try:
            number = normalise_id_number(form.cleaned_data["id_number"])
        except IdNumberError as exc:
            form.add_error("id_number", str(exc))
        else:
            if _active_cover(request, digest(number)).exists():
                token = searches.keep(
                    request,
                    "claim_start",
                    {"digest": digest(number), "masked": mask_id_number(number)},
                )
                return redirect(f"{request.path}?{searches.SEARCH_PARAM}={token}")
            form.add_error("id_number", _("No active cover for this ID number in your unit."))
    elif searches.SEARCH_PARAM in request.GET:
        found = searches.recall(request, "claim_start")
        if found is None:
            messages.info(request, _("That search has expired. Search again."))
            return redirect("claims:claim_start")
        form = FindMemberForm()
        enrollments = _active_cover(request, found["digest"])
    return render(
        request,
        "claims/claim_start.html",
        {"form": form, "enrollments": enrollments, "found": found},
    )


def _active_cover(request: HttpRequest, number_digest: str):
    return (
        visible_enrollments(request.user)
        .filter(member__id_number_digest=number_digest, status=Enrollment.Status.ACTIVE)
        .select_related("plan", "member")
    )


@role_required(*CLERK)
@require_http_methods(["GET", "POST"])
def claim_report(request: HttpRequest, enrollment_pk: int) -> HttpResponse:
    """Step two: the claim's facts, which follow the benefit chosen (htmx swaps them in from
    ``claim_report_facts``; without script, ``?benefit=`` chooses it)."""
    enrollment = _report_enrollment(request, enrollment_pk)
    rules = enrollment.plan_version.parsed_rules
    member = enrollment.member
    prefill = ""
    if request.method == "GET" and member.bank_card:
        # The card on file goes into the form in full, for the clerk to confirm: a full view,
        # within the user's limit on those.
        if reveals.reveal(request, obj=member, note="claim_form_bank_card"):
            prefill = member.bank_card
        else:
            messages.warning(
                request,
                _("The bank card on file was not filled in.")
                + " "
                + reveals.refusal_text(request)
                + " "
                + _("You can type the payee's card number yourself."),
            )
    form = ClaimReportForm(
        request.POST or None,
        rules=rules,
        benefit=request.GET.get("benefit", ""),
        initial={"payee_name": member.name, "payee_account": prefill},
    )
    if request.method == "POST" and form.is_valid():
        try:
            claim = services.claim_report(
                user=request.user,
                enrollment=enrollment,
                benefit=form.cleaned_data["benefit"],
                facts=form.facts(),
                event_date=form.event_date(),
                payee_name=form.cleaned_data["payee_name"],
                payee_account=form.cleaned_data["payee_account"],
            )
        except services.ClaimError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Claim reported. Now add the documents on its checklist."))
            return redirect("claims:claim_detail", pk=claim.pk)
    return render(
        request,
        "claims/claim_report.html",
        {"form": form, "enrollment": enrollment, "member": member},
    )


def _report_enrollment(request: HttpRequest, pk: int) -> Enrollment:
    return scoped_get_or_404(
        request.user,
        visible_enrollments(request.user).select_related("plan_version", "member"),
        pk=pk,
        status=Enrollment.Status.ACTIVE,
    )


@role_required(*CLERK)
@require_GET
def claim_report_facts(request: HttpRequest, enrollment_pk: int) -> HttpResponse:
    """The report form's facts for the benefit chosen (``?benefit=``), for htmx to swap in."""
    enrollment = _report_enrollment(request, enrollment_pk)
    form = ClaimReportForm(
        rules=enrollment.plan_version.parsed_rules, benefit=request.GET.get("benefit", "")
    )
    return render(
        request, "claims/_claim_report_facts.html", {"form": form, "enrollment": enrollment}
    )


# --- one claim -----------------------------------------------------------------------------------


@require_GET
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from claims.reasons import REASON_TEXT

    claim = _claim(request, pk)
    user: User = request.user
    requirements = services.required_documents(claim)
    missing = services.missing_documents(claim)
    proposal = claim.proposal or {}
    return render(
        request,
        "claims/claim_detail.html",
        {
            "claim": claim,
            "member": claim.enrollment.member,
            "benefit_label": _benefit_label(claim),
            "events": claim.events.select_related("actor"),
            "documents": claim.documents.all(),
            "have_codes": set(claim.documents.values_list("requirement", flat=True)),
            "requirements": requirements,
            "missing": missing,
            "document_form": DocumentForm(requirements=missing or requirements),
            "decide_form": DecideForm(
                initial={
                    "approve": "pay" if proposal.get("decision") != "reject" else "reject",
                    "amount": proposal.get("amount") if proposal.get("decision") == "pay" else None,
                    "reasons": proposal.get("reasons", []),
                }
            ),
            "secondary_form": SecondaryForm(),
            "payouts": claim.payouts.select_related("batch"),
            "failed_payouts": services.failed_payouts(claim),
            "transfers": Transfer.objects.filter(payout__claim=claim)
            .select_related("batch", "payout")
            .order_by("pk"),
            "reason_text": [REASON_TEXT.get(r, r) for r in claim.reject_reasons],
            "proposal_reasons": [REASON_TEXT.get(r, r) for r in proposal.get("reasons", [])],
            "is_clerk": user.role == User.Role.CLERK,
            "is_office": user.role == User.Role.OFFICE_STAFF,
            "overdue": _overdue(claim),
            "facts": _facts_for_display(claim),
            "can_reveal": user.role in REVEAL_ROLES,
            "audit_trail": _audit_trail(user, claim),
            "notice_state": _notice_state(claim),
        },
    )


def claim_url(claim: Claim) -> str:
    from django.urls import reverse

    return reverse("claims:claim_detail", args=[claim.pk])


def _audit_trail(user: User, claim: Claim) -> list | None:
    """The claim's own trail, with its documents and payouts, and its payment batches'."""
    batches = claim.payouts.exclude(batch=None).values_list("batch_id", flat=True)
    return audit.trail_for(user, [f"claim:{claim.pk}", *{f"batch:{pk}" for pk in batches}])


def _benefit_label(claim: Claim) -> str:
    benefit = claim.enrollment.plan_version.parsed_rules.benefit(claim.benefit)
    return benefit.label if benefit else str(LABELS.get(claim.benefit, claim.benefit))


FACT_LABELS = {name: field.label for name, field in TrialForm.base_fields.items()}


def _facts_for_display(claim: Claim) -> list[tuple[str, object]]:
    shown = []
    for name, value in (claim.facts or {}).items():
        if name == "hospital_locality":
            value = _("Local") if value == "local" else _("Elsewhere (异地)")
        elif isinstance(value, bool):
            value = _("yes") if value else _("no")
        elif getattr(TrialForm.base_fields.get(name), "choices", None):
            # A code (hospital grade 3, outcome "death") is shown by its label (三级, 身故).
            choices = {str(k): v for k, v in TrialForm.base_fields[name].choices}
            value = choices.get(str(value), value)
        shown.append((FACT_LABELS.get(name, name), value))
    return shown


def _overdue(claim: Claim) -> bool:
    from claims.workdays import overdue

    if claim.due_date is None:
        return False
    return overdue(claim.due_date, timezone.localdate(), claim.status == Claim.Status.PAID)


def _act(request: HttpRequest, claim: Claim, action, **kwargs) -> HttpResponse:
    try:
        action(claim=claim, user=request.user, **kwargs)
    except services.ClaimError as exc:
        messages.error(request, str(exc))
    return redirect("claims:claim_detail", pk=claim.pk)


@require_POST
def claim_document_add(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim(request, pk)
    if request.user.role not in (User.Role.CLERK, User.Role.OFFICE_STAFF):
        raise Http404
    form = DocumentForm(
        request.POST, request.FILES, requirements=services.required_documents(claim)
    )
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect("claims:claim_detail", pk=claim.pk)
    # Each file is checked and stored on its own, whole or not at all, and gets its own answer.
    for upload in form.cleaned_data["file"]:
        name = (upload.name or "")[:80]
        try:
            services.claim_document_add(
                claim=claim,
                user=request.user,
                requirement=form.cleaned_data["requirement"],
                upload=upload,
            )
        except services.ClaimError as exc:
            messages.error(
                request, _("%(name)s: refused. %(reason)s") % {"name": name, "reason": exc}
            )
        else:
            messages.success(request, _("%(name)s: added.") % {"name": name})
    return redirect("claims:claim_detail", pk=claim.pk)


@require_GET
def claim_document_download(request: HttpRequest, pk: int, doc_pk: int) -> HttpResponse:
    claim = _claim(request, pk)
    try:
        document = claim.documents.get(pk=doc_pk)
    except ClaimDocument.DoesNotExist:
        raise Http404 from None
    if not document.file:
        raise Http404  # deleted under the retention rules
    audit.record(
        audit.Action.DOWNLOAD,
        obj=document,
        note="document_opened",
        params={"requirement": _requirement_label(claim, document.requirement)},
    )
    # Pictures are shown in the browser: they were decoded and encoded again on upload, an
    # image cannot run script, and nosniff stops a browser from reading one as anything but
    # the declared image type (which also covers pictures stored before re-encoding began).
    # PDFs are downloaded and opened in the office's PDF reader: browsers do not show a PDF
    # inside a sandbox, and a PDF shown on the portal's own address runs in its origin.
    # Either way the response is sandboxed, so nothing it contains can act as the portal.
    picture = document.content_type in (ClaimDocument.Kind.JPEG, ClaimDocument.Kind.PNG)
    extension = {ClaimDocument.Kind.JPEG: "jpg", ClaimDocument.Kind.PNG: "png"}.get(
        document.content_type, "pdf"
    )
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=not picture,
        filename=f"{claim.number}-{document.requirement}-{document.pk}.{extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOCUMENT_POLICY
    return response


def _requirement_label(claim: Claim, code: str) -> str:
    return str(dict(services.required_documents(claim)).get(code, code))


@role_required(*CLERK)
@require_POST
def claim_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, _claim(request, pk), services.claim_withdraw)


@role_required(*OFFICE)
@require_POST
def claim_move(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim(request, pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That step is not possible."))
        return redirect("claims:claim_detail", pk=claim.pk)
    return _act(
        request,
        claim,
        services.claim_move,
        to=form.cleaned_data["to"],
        note=form.cleaned_data["note"],
    )


@role_required(*OFFICE)
@require_POST
def claim_decide(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim(request, pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect("claims:claim_detail", pk=claim.pk)
    data = form.cleaned_data
    decision = {
        "approve": data["approve"],
        "amount": data.get("amount"),
        "reasons": data.get("reasons", []),
        "override_reason": data.get("override_reason", ""),
    }
    if request.POST.get("confirmed") != "yes":
        # Asked once: what will be recorded, checked as the decision itself checks it.
        try:
            follows, amount, reasons = services.check_decision(claim=claim, **decision)
        except services.ClaimError as exc:
            messages.error(request, str(exc))
            return redirect("claims:claim_detail", pk=claim.pk)
        from claims.reasons import REASON_TEXT

        return render(
            request,
            "claims/decide_confirm.html",
            {
                "claim": claim,
                "member": claim.enrollment.member,
                "benefit_label": _benefit_label(claim),
                "approve": decision["approve"],
                "amount": amount,
                "reason_text": [REASON_TEXT.get(r, r) for r in reasons],
                "reasons": reasons,
                "follows": follows,
                "override_reason": decision["override_reason"].strip(),
            },
        )
    return _act(request, claim, services.claim_decide, **decision)


@role_required(*OFFICE)
@require_POST
def claim_secondary(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim(request, pk)
    form = SecondaryForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect("claims:claim_detail", pk=claim.pk)
    return _act(
        request,
        claim,
        services.secondary_assistance_grant,
        amount=form.cleaned_data["amount"],
        reason=form.cleaned_data["reason"],
    )


# Roles that may see a payee's account in full (logged); others see it masked only.
REVEAL_ROLES = (User.Role.CLERK, User.Role.OFFICE_STAFF)


@role_required(*REVEAL_ROLES)
@require_POST
def claim_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The payee account in full, for the page that asked; the view is logged."""
    claim = _claim(request, pk)
    if not reveals.reveal(request, obj=claim, note="payee_account_shown"):
        return reveals.refused_response(
            request, masked=claim.payee_account_masked, back=claim_url(claim)
        )
    return reveal_response(request, claim.payee_account, back=claim_url(claim))


def _notice_state(claim: Claim) -> str:
    """The decision notice: "ready", "preparing" while the worker makes it, "failed" or ""."""
    from enrollment.roster_views import made_file_state

    if not claim.notice and claim.decided_at is None:
        return ""
    return made_file_state(
        claim.notice, subject=f"claim:{claim.pk}", task="claims.tasks.claim_notice"
    )


@require_GET
def claim_notice_part(request: HttpRequest, pk: int) -> HttpResponse:
    """The decision notice's link, or "being prepared" until the worker has made it; htmx polls
    it from the claim's page."""
    claim = _claim(request, pk)
    return render(
        request,
        "claims/_claim_notice.html",
        {"claim": claim, "notice_state": _notice_state(claim)},
    )


@require_GET
def claim_notice_download(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim(request, pk)
    if not claim.notice:
        raise Http404
    audit.record(audit.Action.DOWNLOAD, obj=claim, note="claim_notice")
    response = FileResponse(claim.notice.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{claim.number}.pdf"'
    return response


# --- the review queue ----------------------------------------------------------------------------

SORTS = {
    "due": ("due_date", "reported_at"),
    "-reported": ("-reported_at",),
    "reported": ("reported_at",),
    "-amount": ("-proposed_amount", "-reported_at"),
}


@require_GET
def claim_list(request: HttpRequest) -> HttpResponse:
    """The review queue: filters, sorting, pages; overdue claims stand out."""
    form = QueueForm(request.GET or None)
    claims = selectors.visible_claims(request.user)
    sort = "due"
    if form.is_valid():
        data = form.cleaned_data
        if data["status"] == PAYMENT_FAILED:
            claims = claims.filter(
                pk__in=Payout.objects.filter(status=Payout.Status.FAILED).values("claim_id")
            )
        elif data["status"]:
            claims = claims.filter(status=data["status"])
        if data["plan"]:
            claims = claims.filter(enrollment__plan__code=data["plan"])
        if data["benefit"]:
            claims = claims.filter(benefit=data["benefit"])
        if data["union"]:
            claims = claims.filter(union_id=data["union"])
        if data["date_from"]:
            claims = claims.filter(event_date__gte=data["date_from"])
        if data["date_to"]:
            claims = claims.filter(event_date__lte=data["date_to"])
        if data["overdue"]:
            claims = claims.filter(due_date__lt=timezone.localdate()).exclude(
                status__in=[Claim.Status.PAID, Claim.Status.REJECTED, Claim.Status.WITHDRAWN]
            )
        sort = data["sort"] or "due"
    claims = claims.order_by(*SORTS.get(sort, SORTS["due"]), "pk").annotate(
        failed_reason=selectors.failed_payment_reason()
    )
    page = Paginator(claims, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    open_statuses = {
        Claim.Status.REPORTED,
        Claim.Status.REVIEWING,
        Claim.Status.INVESTIGATING,
        Claim.Status.RETURNED,
        Claim.Status.APPROVED,
    }
    rows = [
        (
            claim,
            claim.due_date is not None and claim.due_date < today and claim.status in open_statuses,
        )
        for claim in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "claims/claim_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "statuses": form.fields["status"].choices[1:],
            "benefits": LABELS,
            "plans": _queue_plans(request.user),
            "units": visible_units(request.user).values_list("pk", "name")[:1000],
            "weekends_only": any(c.due_basis == Claim.DueBasis.WEEKENDS_ONLY for c, _o in rows),
        },
    )


def _queue_plans(user: User):
    from plans.selectors import visible_plans

    return [(plan.code, plan.display_name) for plan in visible_plans(user)]


@role_required(*OFFICE)
@require_POST
def notices_print(request: HttpRequest) -> HttpResponse:

    ids = posted_ids(request.POST.getlist("claim"))
    claims = selectors.visible_claims(request.user).filter(
        pk__in=ids, status__in=[Claim.Status.APPROVED, Claim.Status.REJECTED, Claim.Status.PAID]
    )
    if not claims.exists():
        messages.error(request, _("Choose decided claims to print their notices."))
        return redirect("claims:claim_list")
    from claims.notices import NOTICES_PER_FILE

    if claims.count() > NOTICES_PER_FILE:
        messages.error(
            request,
            _("At most %(n)s notices can be printed in one file.") % {"n": NOTICES_PER_FILE},
        )
        return redirect("claims:claim_list")
    bundle = NoticeBundle.objects.create(created_by=request.user, union=request.user.union)
    bundle.claims.set(claims)
    jobs.enqueue(
        "claims.tasks.notice_bundle",
        bundle.pk,
        subject=f"notice_bundle:{bundle.pk}",
        union_id=bundle.union_id,
    )
    return redirect("claims:notice_bundle", pk=bundle.pk)


@require_GET
def notice_bundle(request: HttpRequest, pk: int) -> HttpResponse:
    bundle = scoped_get_or_404(request.user, NoticeBundle.objects.all(), pk=pk)
    if request.GET.get("download") and bundle.file:
        audit.record(
            audit.Action.DOWNLOAD,
            object_type="notice_bundle",
            object_id=bundle.pk,
            label=f"#{bundle.pk}",
            union_id=bundle.union_id,
            count=bundle.claims.count(),
            note="notice_bundle",
        )
        response = FileResponse(bundle.file.open("rb"), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="notices-{bundle.pk}.pdf"'
        return response
    return render(request, "claims/notice_bundle.html", {"bundle": bundle})


# --- trial calculation ---------------------------------------------------------------------------


@role_required(User.Role.OFFICE_STAFF, User.Role.PLAN_ADMIN, User.Role.AUDITOR)
@require_GET
def trial(request: HttpRequest) -> HttpResponse:
    """试算: the engine's answer for facts typed in, without a claim."""
    from plans.engine.payout import FactsError, PriorPayout, decide, facts_from_json
    from plans.selectors import version_in_force, visible_plans

    form = TrialForm(request.GET or None)
    decision = None
    if request.GET and form.is_valid():
        data = form.cleaned_data
        plan = visible_plans(request.user).filter(code=data["plan"]).first()
        version = version_in_force(plan, data["coverage_start"]) if plan else None
        if version is None:
            form.add_error("plan", _("No published version of this plan covers that start."))
        else:
            facts_json = {
                k: v for k, v in form.facts().items() if k not in ("hospital_name", "diagnosis")
            }
            facts_json.update(benefit=data["benefit"], filed_date=data["filed_date"].isoformat())
            try:
                facts = facts_from_json(facts_json)
            except FactsError as exc:
                for field, message in exc.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                prior = _trial_prior(data, facts, PriorPayout)
                decision = decide(
                    version.parsed_rules,
                    coverage_start=data["coverage_start"],
                    shares=data["shares"],
                    facts=facts,
                    prior=prior,
                )
    return render(
        request,
        "claims/trial.html",
        {
            "form": form,
            "decision": decision,
            "plans": visible_plans(request.user),
        },
    )


def _trial_prior(data: dict, facts, prior_type) -> list:
    """Earlier payments described by a total and a count, spread evenly over that many claims."""
    count = data.get("prior_count") or 0
    total = data.get("prior_amount") or Decimal("0.00")
    if not count and total:
        count = 1
    if not count:
        return []
    each = (total / count).quantize(Decimal("0.01"))
    day = data["coverage_start"]
    return [
        prior_type(
            benefit=data["benefit"],
            amount=each if i else total - each * (count - 1),
            event_date=day + datetime.timedelta(days=i),
        )
        for i in range(count)
    ]
