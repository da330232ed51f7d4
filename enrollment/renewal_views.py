"""The renewal pages: the renewal workbook and the member list of a unit (full views of
personal data, so POST-only, for the roles that may see numbers in full, counted against the
limits on numbers shown in full and audited), and the upload form's plan panel, which brings the
plan's help, its renewal workbook and the unit's remembered funding choice when the clerk picks
a plan."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from enrollment import renewal
from enrollment.forms import RosterUploadForm, funding_initial
from enrollment.roster_views import XLSX, _attachment, _plans_for_upload
from enrollment.views import REVEAL_ROLES
from mutualaid import reveals
from organisation.decorators import role_required
from organisation.models import Union, User
from organisation.selectors import scoped_get_or_404
from plans.selectors import visible_plans


def _unit(request: HttpRequest, pk: int) -> Union:
    return scoped_get_or_404(
        request.user,
        Union.objects.filter(level=Union.Level.GRASSROOTS),
        union_field="",
        pk=pk,
    )


def _refused(request: HttpRequest, union: Union) -> HttpResponse:
    return reveals.refused_response(
        request, masked="", back=reverse("enrollment:union_detail", args=[union.pk])
    )


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = _attachment(filename)
    response["Cache-Control"] = "no-store"
    return response


@role_required(*REVEAL_ROLES)
@require_POST
def renewal_workbook(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    union = _unit(request, pk)
    plan = get_object_or_404(visible_plans(request.user), code=code)
    if renewal.published_version(plan) is None:
        raise Http404
    data, people, start = renewal.renewal_workbook(union, plan)
    if not reveals.reveal(request, obj=union, note="renewal_workbook", count=people):
        return _refused(request, union)
    period = f"{start:%Y}" if start else ""
    return _xlsx(data, f"{union.name}-{plan.display_name}-续交名单{period}.xlsx")


@role_required(*REVEAL_ROLES)
@require_POST
def member_export(request: HttpRequest, pk: int) -> HttpResponse:
    union = _unit(request, pk)
    data, people = renewal.member_list_workbook(union, today=timezone.localdate())
    if not reveals.reveal(request, obj=union, note="member_list_export", count=people):
        return _refused(request, union)
    return _xlsx(data, f"{union.name}-职工名单-{timezone.localdate():%Y%m%d}.xlsx")


@role_required(User.Role.CLERK)
@require_GET
def upload_plan_panel(request: HttpRequest) -> HttpResponse:
    """The part of the upload form that follows the chosen plan (htmx): the plan's help, its
    renewal workbook, and, swapped in out of band, the funding fields set to the unit's last
    choice for that plan."""
    user: User = request.user
    plans = _plans_for_upload(user)
    plan = plans.filter(code=request.GET.get("plan", "")).first()
    context = renewal.upload_plan_context(user, plan)
    form = RosterUploadForm(plans=plans, initial=funding_initial(context["remembered"]))
    return render(
        request, "enrollment/_upload_plan_panel.html", {**context, "form": form, "oob": True}
    )
