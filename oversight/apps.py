from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    """Dashboards, the audit log's pages and search, retention and key rotation: it reads every
    app below it, and nothing imports it."""

    name = "oversight"
    verbose_name = _("Oversight")
