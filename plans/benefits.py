"""The benefits plans can pay, by the name a clerk reads."""

from django.utils.translation import gettext_lazy as _

# The benefit codes the engine knows, by the name a clerk reads.
BENEFIT_LABELS = {
    "hospital_allowance": _("Hospital allowance"),
    "critical_illness": _("Critical illness"),
    "accident": _("Accident"),
    "inpatient_reimbursement": _("Inpatient costs"),
    "accident_medical": _("Accident medical costs"),
    "fire_loss": _("Household fire loss"),
}
