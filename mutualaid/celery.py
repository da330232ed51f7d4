"""The Celery application: the worker runs roster checks, imports, payouts and PDFs."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")

app = Celery("mutualaid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _portal_logging(loglevel=None, **_kwargs) -> None:
    """The worker and beat log as the web processes do (settings.LOGGING: one format, times in
    TIME_ZONE with their offset), instead of Celery's own format; ``--loglevel`` on their
    command line still sets how much they say."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
