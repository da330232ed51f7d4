"""Pages for plan admins: copy a version, edit a draft in forms, try it against the version in
force, publish it. Everything they change is recorded as a PlanChange."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from mutualaid.forms import day_in_range
from organisation.decorators import role_required
from organisation.models import User
from plans import services
from plans.facts_forms import LABELS, FactsFields
from plans.models import Plan, PlanVersion
from plans.rule_forms import RulesEditor
from plans.selectors import version_in_force, visible_plans
from plans.trial import compare_claims, compare_roster

ADMIN = (User.Role.PLAN_ADMIN,)
DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
SAMPLE_CLAIMS = 3


def _next_january() -> datetime.date:
    return datetime.date(timezone.localdate().year + 1, 1, 1)


class EffectiveForm(forms.Form):
    effective_from = forms.DateField(label=gettext_lazy("In force from"), widget=DATE)


def _plan(request: HttpRequest, code: str) -> Plan:
    return get_object_or_404(visible_plans(request.user), code=code)


def _version(request: HttpRequest, code: str, number: int) -> PlanVersion:
    plan = _plan(request, code)
    return get_object_or_404(plan.versions, number=number)


@role_required(*ADMIN)
@require_POST
def version_copy(request: HttpRequest, code: str) -> HttpResponse:
    plan = _plan(request, code)
    try:
        draft = services.version_copy(plan=plan, user=request.user, effective_from=_next_january())
    except services.PlanAdminError as exc:
        messages.error(request, str(exc))
        return redirect("plans:plan_detail", code=plan.code)
    return redirect("plans:version_edit", code=plan.code, number=draft.number)


@role_required(*ADMIN)
@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = _version(request, code, number)
    if version.status != PlanVersion.Status.DRAFT:
        messages.error(request, _("Only a draft can be edited; make a new version instead."))
        return redirect("plans:plan_detail", code=code)
    editor = RulesEditor(request.POST or None, rules=version.rules)
    dates = EffectiveForm(
        request.POST or None, initial={"effective_from": version.effective_from}, prefix="version"
    )
    if request.method == "POST":
        valid_dates = dates.is_valid()
        if editor.is_valid() and valid_dates:
            services.version_edit(
                version=version,
                user=request.user,
                rules=editor.rules.to_dict(),
                effective_from=dates.cleaned_data["effective_from"],
            )
            messages.success(request, _("The draft is saved."))
            return redirect("plans:version_try", code=code, number=number)
        messages.error(request, _("The draft was not saved: see the marked fields."))
    return render(
        request,
        "plans/version_edit.html",
        {
            "plan": version.plan,
            "version": version,
            "editor": editor,
            "dates": dates,
            **editor.forms_for_template(),
        },
    )


class SampleClaimForm(FactsFields):
    benefit = forms.ChoiceField(
        label=gettext_lazy("Benefit"), required=False, choices=[("", "—"), *LABELS.items()]
    )


class TrialSetupForm(forms.Form):
    coverage_start = forms.DateField(label=gettext_lazy("Coverage start"), widget=DATE)
    headcount = forms.IntegerField(
        label=gettext_lazy("Unit headcount (for participation)"), required=False, min_value=1
    )
    roster = forms.FileField(label=gettext_lazy("Sample roster (.xlsx)"), required=False)

    def clean_coverage_start(self):
        return day_in_range(self.cleaned_data["coverage_start"])


@role_required(*ADMIN)
@require_http_methods(["GET", "POST"])
def version_try(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The draft and the version in force side by side, on a sample roster and sample claims."""
    from plans.engine.payout import FactsError, facts_from_json

    version = _version(request, code, number)
    plan = version.plan
    setup = TrialSetupForm(
        request.POST or None,
        request.FILES or None,
        initial={"coverage_start": version.effective_from},
    )
    samples = [
        SampleClaimForm(request.POST or None, prefix=f"claim{i}") for i in range(SAMPLE_CLAIMS)
    ]
    roster_result = claim_rows = None
    current = None
    if request.method == "POST" and setup.is_valid() and all(f.is_valid() for f in samples):
        start = setup.cleaned_data["coverage_start"]
        current = version_in_force(plan, start)
        if current is None or current.pk == version.pk:
            current = (
                plan.versions.filter(status=PlanVersion.Status.PUBLISHED)
                .exclude(pk=version.pk)
                .order_by("-effective_from")
                .first()
            )
        if current is None:
            setup.add_error(None, _("There is no published version to compare with."))
        else:
            upload = setup.cleaned_data.get("roster")
            if upload:
                roster_result = compare_roster(
                    current.parsed_rules,
                    version.parsed_rules,
                    upload.read(),
                    plan_code=plan.code,
                    coverage_start=start,
                    headcount=setup.cleaned_data.get("headcount"),
                )
            chosen = []
            for index, form in enumerate(samples, start=1):
                benefit = form.cleaned_data.get("benefit")
                if not benefit:
                    continue
                data = {
                    k: v for k, v in form.facts().items() if k not in ("hospital_name", "diagnosis")
                }
                # A sample claim is taken as filed on its last date (e.g. the discharge).
                dates = [
                    v for v in data.values() if isinstance(v, str) and len(v) == 10 and v[4] == "-"
                ]
                data.update(benefit=benefit, filed_date=max(dates, default=start.isoformat()))
                try:
                    facts = facts_from_json(data)
                except FactsError as exc:
                    for field, message in exc.errors.items():
                        form.add_error(field if field in form.fields else None, message)
                    continue
                chosen.append((f"{index}. {LABELS.get(benefit, benefit)}", facts))
            if chosen and not any(f.errors for f in samples):
                claim_rows = compare_claims(
                    current.parsed_rules, version.parsed_rules, chosen, coverage_start=start
                )
    return render(
        request,
        "plans/version_try.html",
        {
            "plan": plan,
            "version": version,
            "current": current,
            "setup": setup,
            "samples": samples,
            "roster_result": roster_result,
            "claim_rows": claim_rows,
            "publish_form": EffectiveForm(
                initial={"effective_from": version.effective_from}, prefix="version"
            ),
        },
    )


@role_required(*ADMIN)
@require_POST
def version_publish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Posted from the try page, it shows what publishing will change and asks once; posted
    again from that page with ``confirmed``, it publishes."""
    version = _version(request, code, number)
    form = EffectiveForm(request.POST, prefix="version")
    if not form.is_valid():
        messages.error(request, _("Give the date the version comes into force."))
        return redirect("plans:version_try", code=code, number=number)
    effective_from = form.cleaned_data["effective_from"]
    try:
        if request.POST.get("confirmed") != "yes":
            ending = services.version_publish_preview(
                version=version, effective_from=effective_from
            )
            return render(
                request,
                "plans/version_publish_confirm.html",
                {
                    "plan": version.plan,
                    "version": version,
                    "effective_from": effective_from,
                    "ending": ending,
                    "form": form,
                },
            )
        services.version_publish(version=version, user=request.user, effective_from=effective_from)
    except services.PlanAdminError as exc:
        messages.error(request, str(exc))
        return redirect("plans:version_try", code=code, number=number)
    messages.success(request, _("Version %(n)s is published.") % {"n": version.number})
    return redirect("plans:plan_detail", code=code)


# --- where a plan is offered -------------------------------------------------------------------


class _NodeChoices(forms.ModelMultipleChoiceField):
    """A value that is no row id at all is an invalid choice, never a database error."""

    def clean(self, value):
        for item in value or ():
            if not str(item).isdigit() or int(item) > 2**63 - 1:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
        return super().clean(value)


class OfferedUnderForm(forms.Form):
    unions = _NodeChoices(
        label=gettext_lazy("Offered under"),
        queryset=services.offering_nodes(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Units at or below a chosen office, city or county union may enroll in the plan. "
            "Units already enrolled keep their cover."
        ),
    )

    def __init__(self, *args, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        nodes = services.offering_nodes()
        if plan.office_id is not None:
            nodes = nodes.filter(path__startswith=plan.office.path)
        self.fields["unions"].queryset = nodes
        self.fields["unions"].label_from_instance = lambda union: (
            "\u3000" * union.depth + union.name
        )


@role_required(*ADMIN)
@require_http_methods(["GET", "POST"])
def plan_offered(request: HttpRequest, code: str) -> HttpResponse:
    """The plan admin chooses under which offices, city and county unions the plan is offered."""
    plan = _plan(request, code)
    form = OfferedUnderForm(
        request.POST or None, plan=plan, initial={"unions": list(plan.offered_under.all())}
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.plan_set_offered_under(
                plan=plan, user=request.user, unions=form.cleaned_data["unions"]
            )
        except services.PlanAdminError as exc:
            form.add_error("unions", str(exc))
        else:
            if changed:
                messages.success(request, _("Where the plan is offered is saved."))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("plans:plan_detail", code=plan.code)
    return render(request, "plans/plan_offered.html", {"plan": plan, "form": form})
