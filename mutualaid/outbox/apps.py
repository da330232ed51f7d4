from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """Background work that survives a broker or a worker going away (see jobs.py)."""

    name = "mutualaid.outbox"
    label = "outbox"
    verbose_name = _("Background work")
