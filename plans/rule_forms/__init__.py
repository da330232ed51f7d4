"""Structured forms for a plan version's rules, so a plan admin never edits JSON.

``RulesEditor`` builds one form or formset per part of the rule vocabulary
(``plans.engine.rules``): who may join, shares, fees and subsidies, funding, participation
thresholds, general settings and the benefits, each benefit with its payment tiers and documents.
The forms check what was typed (numbers, no negative money); the engine's own parser then judges
the assembled rules, and each problem it names by path (``benefits[0].stay_cap.local``) is put
beside the field that caused it, so there is one source of truth for what a usable plan is.

The modules, each importing only those listed before it:

* ``base``: messages, field makers, conversions (and the conventions for stored values);
* ``coverage``, ``eligibility``, ``shares``, ``fees``, ``funding``, ``participation``: the
  forms and formsets of those parts of the rules;
* ``benefits``: the benefit form, its tiers and documents, and how each kind is stored;
* ``errors``: the engine's problems put beside their fields;
* ``editor``: ``RulesEditor``, which puts them all together.
"""

from plans.rule_forms.base import NEGATIVE_MONEY, fraction_to_percent, percent_to_fraction
from plans.rule_forms.benefits import (
    BENEFIT_SPECS,
    FIELD_TYPES,
    TYPE_FIELDS,
    BenefitBundle,
    BenefitForm,
    BenefitFormSet,
    DocumentFormSet,
    TierFormSet,
)
from plans.rule_forms.coverage import GeneralForm
from plans.rule_forms.editor import RulesEditor
from plans.rule_forms.eligibility import EligibilityForm
from plans.rule_forms.fees import FeesForm, SubsidyFormSet
from plans.rule_forms.funding import FundingForm, MinShareFormSet, ModeFormSet
from plans.rule_forms.participation import ParticipationFormSet
from plans.rule_forms.shares import SharesForm

__all__ = [
    "BENEFIT_SPECS",
    "BenefitBundle",
    "BenefitForm",
    "BenefitFormSet",
    "DocumentFormSet",
    "EligibilityForm",
    "FIELD_TYPES",
    "FeesForm",
    "FundingForm",
    "GeneralForm",
    "MinShareFormSet",
    "ModeFormSet",
    "NEGATIVE_MONEY",
    "ParticipationFormSet",
    "RulesEditor",
    "SharesForm",
    "SubsidyFormSet",
    "TYPE_FIELDS",
    "TierFormSet",
    "fraction_to_percent",
    "percent_to_fraction",
]
