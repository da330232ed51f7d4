"""Pages for the union tree, members and rosters. Every query goes through the scoping selectors."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from enrollment import selectors
from enrollment.models import Member, Roster, Union, User
from plans.engine.identity import IdNumberError, normalise_id_number

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset) -> object:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    context = {
        "summary": selectors.scope_summary(user),
        "ancestors": user.union.ancestors() if user.union else [],
        "children": selectors.visible_unions(user).filter(parent=user.union)
        if user.union
        else Union.objects.none(),
        "recent_rosters": selectors.visible_rosters(user)[:5],
        "role": user.role,
    }
    return render(request, "home.html", context)


@require_GET
def union_list(request: HttpRequest) -> HttpResponse:
    unions = selectors.visible_unions(request.user).select_related("parent")
    query = request.GET.get("q", "").strip()
    if query:
        unions = unions.filter(Q(name__icontains=query) | Q(code__icontains=query))
    return render(
        request,
        "enrollment/union_list.html",
        {"page": _page(request, unions), "query": query, "base_depth": _base_depth(request.user)},
    )


def _base_depth(user: User) -> int:
    return user.union.depth if user.union else 0


@require_GET
def union_detail(request: HttpRequest, pk: int) -> HttpResponse:
    union = selectors.scoped_get_or_404(
        request.user, Union.objects.select_related("parent"), union_field="", pk=pk
    )
    members = selectors.visible_members(request.user).filter(union__path__startswith=union.path)
    return render(
        request,
        "enrollment/union_detail.html",
        {
            "union": union,
            "children": union.children.all(),
            "member_count": members.count(),
            "rosters": selectors.visible_rosters(request.user).filter(union=union)[:10],
        },
    )


@require_GET
def member_list(request: HttpRequest) -> HttpResponse:
    members = selectors.visible_members(request.user)
    query = request.GET.get("q", "").strip()
    if query:
        members = members.filter(_member_search(query))
    return render(
        request, "enrollment/member_list.html", {"page": _page(request, members), "query": query}
    )


def _member_search(query: str) -> Q:
    """A name fragment, or a whole ID number in any form a clerk might type it."""
    try:
        number = normalise_id_number(query)
    except IdNumberError:
        number = ""
    if len(number) == 18:
        return Q(id_number=number)
    return Q(name__icontains=query)


@require_GET
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.scoped_get_or_404(
        request.user, Member.objects.select_related("union"), pk=pk
    )
    enrollments = member.enrollments.select_related("plan", "union").filter(
        selectors.scope_filter(request.user)
    )
    return render(
        request, "enrollment/member_detail.html", {"member": member, "enrollments": enrollments}
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
        {"page": _page(request, rosters), "status": status, "statuses": Roster.Status.choices},
    )
