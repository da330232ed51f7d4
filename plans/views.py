"""Read-only pages that show a plan and the rules of each version in plain language."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from plans.models import PlanVersion
from plans.selectors import version_in_force, visible_plans


@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = visible_plans(request.user).prefetch_related("versions")
    return render(request, "plans/plan_list.html", {"plans": plans})


@require_GET
def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    plan = get_object_or_404(visible_plans(request.user), code=code)
    is_admin = request.user.role == "plan_admin" or request.user.is_superuser
    # The version in force comes first: its rules are what members and clerks go by. Drafts
    # are for plan admins only.
    in_force = version_in_force(plan, timezone.localdate())
    shown = plan.versions.order_by("-number")
    if not is_admin:
        shown = shown.exclude(status=PlanVersion.Status.DRAFT)
    ordered = sorted(shown, key=lambda v: (in_force is None or v.pk != in_force.pk, -v.number))
    versions = [(version, version.parsed_rules) for version in ordered]
    return render(
        request,
        "plans/plan_detail.html",
        {
            "plan": plan,
            "versions": versions,
            "changes": plan.changes.select_related("version", "actor")[:50],
            "is_admin": is_admin,
            "offered_under": plan.offered_under.order_by("path") if is_admin else [],
            "has_draft": plan.versions.filter(status="draft").exists(),
            "in_force": in_force,
        },
    )
