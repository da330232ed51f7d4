"""The forms of receipts, subsidy statements and the office's bank account."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import OfficeBankAccount


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        initial=timezone.localdate,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )


class StatementReceiptForm(forms.Form):
    # No minimum here: the service refuses zero and less with its own clear message.
    amount = forms.DecimalField(label=_("Amount received (yuan)"), max_digits=14, decimal_places=2)
    received_on = _date_field(_("Date received"))
    reference = forms.CharField(label=_("Bank reference"), max_length=64)


class ReceiptForm(StatementReceiptForm):
    field_order = ["payer", "amount", "received_on", "reference"]

    payer = forms.ChoiceField(label=_("Payer"))

    def __init__(self, *args, payers: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].choices = list(payers)
        if len(payers) == 1:
            self.fields["payer"].initial = payers[0][0]


class StatementForm(forms.Form):
    giver = forms.ChoiceField(label=_("Subsidy giver"))
    period_start = forms.DateField(
        label=_("Cover starting from"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    period_end = forms.DateField(
        label=_("Cover starting until"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )

    def __init__(self, *args, givers: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["giver"].choices = [(g, g) for g in givers]


class BankAccountForm(forms.ModelForm):
    class Meta:
        model = OfficeBankAccount
        fields = ["account_name", "bank_name", "account_number"]

    def clean_account_number(self) -> str:
        return " ".join(self.cleaned_data["account_number"].split())
