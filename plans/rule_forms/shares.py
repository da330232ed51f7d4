"""How many shares a member may take."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.rule_forms.base import _EditorForm


class SharesForm(_EditorForm):
    min = forms.IntegerField(label=_("Fewest shares per person"), min_value=1)
    max = forms.IntegerField(label=_("Most shares per person"), min_value=1)
    uniform_per_unit = forms.BooleanField(
        label=_("Everyone in a unit takes the same number of shares"), required=False
    )
