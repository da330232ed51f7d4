from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditLogConfig(AppConfig):
    """The audit log's table; the recorder every app calls is mutualaid.auditlog.audit."""

    name = "mutualaid.auditlog"
    label = "auditlog"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from mutualaid.auditlog import audit

        audit.register_all()
