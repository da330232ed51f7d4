"""The headcount pages: the clerk proposes the unit's number, staff above the unit confirm or
reject it after seeing what changes (``organisation.headcount``). Wired into the enrollment
app's URLs next to the union pages they belong to."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from organisation import headcount
from organisation.models import HeadcountProposal, Union
from organisation.selectors import scoped_get_or_404


class ProposeForm(forms.Form):
    headcount = forms.IntegerField(
        label=gettext_lazy("Members on the unit's books"),
        min_value=1,
        max_value=headcount.MAX_HEADCOUNT,
        help_text=gettext_lazy(
            "Everyone the unit's union has on its books, whether or not they join a plan. "
            "Participation rules are measured against this number."
        ),
    )
    note = forms.CharField(
        label=gettext_lazy("Note for the reviewer"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For example: 8 retired at the end of the year, 5 new hires."),
    )


class DecideForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Reason (required when rejecting)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _unit(request: HttpRequest, pk: int) -> Union:
    return scoped_get_or_404(
        request.user,
        Union.objects.filter(level=Union.Level.GRASSROOTS).select_related("parent"),
        union_field="",
        pk=pk,
    )


@require_http_methods(["GET", "POST"])
def headcount_propose(request: HttpRequest, pk: int) -> HttpResponse:
    union = _unit(request, pk)
    if not headcount.may_propose(request.user, union):
        raise PermissionDenied
    form = ProposeForm(request.POST or None, initial={"headcount": union.headcount or None})
    if request.method == "POST" and form.is_valid():
        try:
            headcount.headcount_propose(
                user=request.user,
                union=union,
                headcount=form.cleaned_data["headcount"],
                note=form.cleaned_data["note"],
            )
        except headcount.HeadcountError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Headcount proposed. It counts once staff above your unit confirm it."),
            )
            return redirect("enrollment:union_detail", pk=union.pk)
    return render(
        request,
        "organisation/headcount_propose.html",
        {"union": union, "form": form, "pending": headcount.pending_proposal(union)},
    )


@require_http_methods(["GET", "POST"])
def headcount_decide(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = scoped_get_or_404(
        request.user,
        HeadcountProposal.objects.select_related("union", "proposed_by"),
        pk=pk,
    )
    union = proposal.union
    if not headcount.may_decide(request.user, union):
        raise PermissionDenied
    form = DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirm = "confirm" in request.POST
        if not confirm and "reject" not in request.POST:
            form.add_error(None, _("Choose to confirm or to reject the proposal."))
        else:
            try:
                headcount.headcount_decide(
                    user=request.user,
                    proposal=proposal,
                    confirm=confirm,
                    note=form.cleaned_data["note"],
                )
            except headcount.HeadcountError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Headcount confirmed: %(n)s.") % {"n": proposal.headcount}
                    if confirm
                    else _("Headcount proposal rejected."),
                )
                return redirect("enrollment:union_detail", pk=union.pk)
    return render(
        request,
        "organisation/headcount_decide.html",
        {
            "union": union,
            "proposal": proposal,
            "form": form,
            "is_pending": proposal.status == HeadcountProposal.Status.PENDING,
        },
    )
