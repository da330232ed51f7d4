"""The one seam between services and background tasks.

Services decide that work is to be done; tasks do it by calling services. So that the two never
import each other, a service names the task ("enrollment.tasks.roster_check") and this module
sends it once the current transaction commits: a task never starts on data its caller rolled
back, and never before that data is visible to the worker. The task's module is imported here,
by name, only when the message is sent.
"""

from __future__ import annotations

import importlib

from django.db import transaction


def task_named(name: str):
    """The Celery task object registered under ``name`` (its module path and function)."""
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(module), function)


def enqueue(name: str, *args: object) -> None:
    """Send the task ``name`` with ``args`` when the current transaction commits."""
    transaction.on_commit(lambda: task_named(name).delay(*args))
