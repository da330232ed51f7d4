from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationConfig(AppConfig):
    """The union tree, users and their roles, members, and the one scoping rule."""

    name = "organisation"
    verbose_name = _("Unions and people")

    def ready(self) -> None:
        from organisation import audited

        audited.register()
