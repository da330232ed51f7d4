"""Forms of the roster flow. They check what the user typed; services check the rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualaid.forms import day_in_range
from plans.engine.funding import FundingChoice, FundingError, funding_validate
from plans.models import Plan, PlanVersion
from plans.selectors import version_in_force

PERCENT = {"min_value": Decimal(0), "max_value": Decimal(100), "decimal_places": 2}


def _next_january() -> datetime.date:
    return datetime.date(timezone.localdate().year + 1, 1, 1)


PERCENT_FIELDS = {"unit": "unit_percent", "union": "union_percent", "member": "member_percent"}


def funding_initial(funding: dict | None) -> dict:
    """The upload form's funding fields set to a remembered choice (``Roster.funding``'s mode
    and percentages, see ``enrollment.renewal.last_funding``); empty: the fields' defaults."""
    if not funding:
        return {}
    initial = {"mode": funding.get("mode") or ""}
    percent = funding.get("percent") or {}
    for payer, field in PERCENT_FIELDS.items():
        try:
            value = Decimal(str(percent.get(payer, 0)))
        except ArithmeticError:
            value = Decimal(0)
        # 100.00 shows as 100, 33.50 as 33.5.
        initial[field] = (
            value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
        )
    return initial


class RosterUploadForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("Plan"),
        queryset=Plan.objects.none(),
        to_field_name="code",
        empty_label=_("Choose a plan"),
    )
    coverage_start = forms.DateField(
        label=_("Coverage start"),
        initial=_next_january,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("Cover runs one year from this day."),
    )
    mode = forms.CharField(
        label=_("Way of funding"), required=False, widget=forms.Select(choices=[])
    )
    unit_percent = forms.DecimalField(
        label=_("Unit administration pays (%)"), initial=100, **PERCENT
    )
    union_percent = forms.DecimalField(label=_("Union funds pay (%)"), initial=0, **PERCENT)
    member_percent = forms.DecimalField(label=_("Members pay (%)"), initial=0, **PERCENT)
    file = forms.FileField(
        label=_("Roster workbook (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
        self.fields["plan"].label_from_instance = lambda plan: plan.display_name
        # Picking a plan brings its help and renewal workbook, and sets the funding fields to the
        # unit's last choice for that plan (enrollment.renewal_views.upload_plan_panel).
        self.fields["plan"].widget.attrs.update(
            {
                "hx-get": reverse("enrollment:upload_plan_panel"),
                "hx-target": "#funding-help",
                "hx-trigger": "change",
            }
        )
        modes = [("", "—")]
        for plan in plans:
            version = plan.versions.filter(status=PlanVersion.Status.PUBLISHED).first()
            if version:
                modes += [
                    (m.code, m.label)
                    for m in version.parsed_rules.funding.modes
                    if (m.code, m.label) not in modes
                ]
        self.fields["mode"].widget.choices = modes
        limit = settings.ROSTER_MAX_UPLOAD_MB
        self.fields["file"].help_text = _(
            "Up to %(mb)s MB. Download the template for the plan if you do not have one."
        ) % {"mb": limit}
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.add_input(Submit("upload", _("Upload and check")))

    def clean_coverage_start(self):
        return day_in_range(self.cleaned_data["coverage_start"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty. Choose the filled-in roster."))
        limit = settings.ROSTER_MAX_UPLOAD_MB
        if upload.size > limit * 1024 * 1024:
            raise forms.ValidationError(
                _(
                    "The file is larger than %(mb)s MB. Remove other sheets or pictures, or split "
                    "the roster."
                )
                % {"mb": limit}
            )
        return upload

    def clean(self):
        data = super().clean()
        plan, start = data.get("plan"), data.get("coverage_start")
        if plan is None or start is None:
            return data
        version = version_in_force(plan, start)
        if version is None:
            self.add_error(
                "coverage_start", _("This plan has no published version in force on that day.")
            )
            return data
        data["plan_version"] = version
        choice = FundingChoice(
            mode=data.get("mode") or None,
            percent={
                payer: data.get(f"{payer}_percent") or Decimal(0)
                for payer in ("unit", "union", "member")
            },
        )
        try:
            funding_validate(version.parsed_rules, choice)
        except FundingError as exc:
            for payer, message in exc.errors.items():
                field = {
                    "unit": "unit_percent",
                    "union": "union_percent",
                    "member": "member_percent",
                    "mode": "mode",
                }.get(payer)
                self.add_error(field, message)
        data["funding"] = choice
        return data


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for return"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The unit's clerk sees this text."),
    )
