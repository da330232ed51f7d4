"""Pages for claims. Every query goes through the scoping selectors."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from claims.models import Claim
from claims.selectors import visible_claims
from enrollment.selectors import scoped_get_or_404

PAGE_SIZE = 50


@require_GET
def claim_list(request: HttpRequest) -> HttpResponse:
    claims = visible_claims(request.user)
    status = request.GET.get("status", "")
    if status in Claim.Status.values:
        claims = claims.filter(status=status)
    page = Paginator(claims, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "claims/claim_list.html",
        {"page": page, "status": status, "statuses": Claim.Status.choices},
    )


@require_GET
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    claim = scoped_get_or_404(request.user, visible_claims(request.user), pk=pk)
    events = claim.events.select_related("actor")
    return render(request, "claims/claim_detail.html", {"claim": claim, "events": events})
