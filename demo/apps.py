from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo office, its people, cover and claims (manage.py load_demo); nothing imports it."""

    name = "demo"
    verbose_name = _("Demo data")
