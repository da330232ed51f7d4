"""Pages for the union tree, members and rosters. Every query goes through the scoping selectors."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollment import selectors
from enrollment.models import Roster
from enrollment.status import roster_status_choices
from mutualaid import reveals, searches
from mutualaid.auditlog import audit
from mutualaid.crypto import digest
from mutualaid.outbox.models import Job
from organisation.decorators import role_required
from organisation.headcount import proposals_awaiting
from organisation.models import Member, Union, User
from organisation.selectors import (
    scope_filter,
    scoped,
    scoped_get_or_404,
    visible_members,
    visible_unions,
)
from plans.engine.identity import IdNumberError, mask_id_number, normalise_id_number

PAGE_SIZE = 50
# Headcount proposals listed on the home page of county and office staff (oldest first).
HOME_PROPOSALS = 10


def _page(request: HttpRequest, queryset) -> object:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    children = list(visible_unions(user).filter(parent=user.union)) if user.union else []
    context = {
        "summary": selectors.scope_summary(user),
        "today": timezone.localdate(),
        "ancestors": user.union.ancestors() if user.union else [],
        "children": _with_totals(user, children),
        "recent_rosters": selectors.visible_rosters(user)[:5],
        "role": user.role,
        "headcount_proposals": list(proposals_awaiting(user)[:HOME_PROPOSALS]),
        "failed_work": scoped(user, Job.objects.filter(state=Job.State.FAILED)).count()
        if user.role == User.Role.OFFICE_STAFF
        else 0,
    }
    return render(request, "home.html", context)


@require_GET
def union_list(request: HttpRequest) -> HttpResponse:
    unions = visible_unions(request.user).select_related("parent")
    query = request.GET.get("q", "").strip()
    if query:
        unions = unions.filter(Q(name__icontains=query) | Q(code__icontains=query))
    page = _page(request, unions)
    page.object_list = _with_totals(request.user, list(page.object_list))
    return render(
        request,
        "enrollment/union_list.html",
        {
            "page": page,
            "query": query,
            "base_depth": _base_depth(request.user),
            "today": timezone.localdate(),
        },
    )


def _with_totals(user: User, unions: list[Union]) -> list[Union]:
    """The unions, each with ``totals``: the figures of the union and everything below it
    (``selectors.subtree_totals``, three queries for the whole list)."""
    totals = selectors.subtree_totals(user, unions)
    for union in unions:
        union.totals = totals[union.pk]
    return unions


def _base_depth(user: User) -> int:
    return user.union.depth if user.union else 0


@require_GET
def union_detail(request: HttpRequest, pk: int) -> HttpResponse:
    union = scoped_get_or_404(
        request.user, Union.objects.select_related("parent"), union_field="", pk=pk
    )
    user: User = request.user
    children = list(visible_unions(user).filter(parent=union))
    totals = selectors.subtree_totals(user, [union, *children])
    for child in children:
        child.totals = totals[child.pk]
    return render(
        request,
        "enrollment/union_detail.html",
        {
            "union": union,
            "totals": totals[union.pk],
            "children": children,
            "today": timezone.localdate(),
            "rosters": selectors.visible_rosters(request.user).filter(union=union)[:10],
        },
    )


@require_http_methods(["GET", "POST"])
def member_list(request: HttpRequest) -> HttpResponse:
    """The members in scope; a name fragment is searched by GET (?q=), a whole ID number by POST
    and then under an opaque token (mutualaid.searches), never in the web address."""
    members = visible_members(request.user)
    if request.method == "POST":
        query = request.POST.get("q", "").strip()
        number = _whole_id_number(query)
        if number:
            token = searches.keep(
                request,
                "member_list",
                {"digest": digest(number), "masked": mask_id_number(number)},
            )
            return redirect(f"{request.path}?{searches.SEARCH_PARAM}={token}")
        if searches.holds_id_number(query):
            messages.warning(request, _("Type the whole ID number, or search by name."))
            return redirect("enrollment:member_list")
        return redirect(f"{request.path}?{urlencode({'q': query})}" if query else request.path)
    query = request.GET.get("q", "").strip()
    if searches.holds_id_number(query):
        # An ID number typed into the address bar or kept in a bookmark: answered without it.
        messages.warning(request, _("Search by ID number with the form on this page."))
        return redirect("enrollment:member_list")
    found = None
    if searches.SEARCH_PARAM in request.GET:
        found = searches.recall(request, "member_list")
        if found is None:
            messages.info(request, _("That search has expired. Search again."))
            return redirect("enrollment:member_list")
        members = members.filter(id_number_digest=found["digest"])
        query = ""
    elif query:
        members = members.filter(Q(name__icontains=query))
    return render(
        request,
        "enrollment/member_list.html",
        {"page": _page(request, members), "query": query, "found": found},
    )


def _whole_id_number(query: str) -> str:
    """The query as an 18-character ID number in any form a clerk might type it, or ""."""
    try:
        number = normalise_id_number(query)
    except IdNumberError:
        return ""
    return number if re.fullmatch(r"\d{17}[\dX]", number) else ""


# Roles that may see an ID or bank number in full (each time logged); others see it masked only.
REVEAL_ROLES = (User.Role.CLERK, User.Role.COUNTY_STAFF, User.Role.OFFICE_STAFF)
MEMBER_REVEALABLE = {"id_number": "id_number_shown", "bank_card": "bank_card_shown"}


def reveal_response(request: HttpRequest, value: str, back: str) -> HttpResponse:
    """A value shown in full: a fragment for the htmx button that asked, or a small page."""
    context = {"value": value, "back": back}
    if request.headers.get("HX-Request") == "true":
        return render(request, "includes/revealed.html", context)
    return render(request, "includes/revealed_page.html", context)


@role_required(*REVEAL_ROLES)
@require_POST
def member_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    member = scoped_get_or_404(request.user, Member.objects.all(), pk=pk)
    if field not in MEMBER_REVEALABLE or not getattr(member, field):
        raise Http404
    back = reverse("enrollment:member_detail", args=[pk])
    if not reveals.reveal(request, obj=member, note=MEMBER_REVEALABLE[field]):
        return reveals.refused_response(
            request, masked=getattr(member, f"{field}_masked"), back=back
        )
    return reveal_response(request, getattr(member, field), back=back)


@require_GET
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = scoped_get_or_404(request.user, Member.objects.select_related("union"), pk=pk)
    user: User = request.user
    enrollments = member.enrollments.select_related("plan", "union").filter(
        scope_filter(request.user)
    )
    return render(
        request,
        "enrollment/member_detail.html",
        {
            "member": member,
            "enrollments": enrollments,
            "can_reveal": user.is_superuser or user.role in REVEAL_ROLES,
            # The member's own trail (changes, numbers shown in full) and their rosters'.
            "audit_trail": audit.trail_for(
                user,
                [f"member:{member.pk}"]
                + [f"roster:{pk}" for pk in {e.roster_id for e in enrollments if e.roster_id}],
            ),
        },
    )


@require_GET
def roster_list(request: HttpRequest) -> HttpResponse:
    rosters = selectors.visible_rosters(request.user)
    status = request.GET.get("status", "")
    if status in Roster.Status.values:
        rosters = rosters.filter(status=status)
    return render(
        request,
        "enrollment/roster_list.html",
        {
            "page": _page(request, rosters),
            "status": status,
            "statuses": roster_status_choices(),
        },
    )
