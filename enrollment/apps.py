from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    """Rosters, enrollments, fees and the workbooks clerks exchange with the portal."""

    name = "enrollment"
    verbose_name = _("Rosters and enrollment")

    def ready(self) -> None:
        from enrollment import audited

        audited.register()
