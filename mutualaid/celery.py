"""The Celery application: the worker runs roster checks, imports, payouts and PDFs."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")

app = Celery("mutualaid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
