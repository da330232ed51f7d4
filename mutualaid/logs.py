"""Logging helpers named in settings.LOGGING."""

from __future__ import annotations

import logging


class ExpectedAnswers(logging.Filter):
    """A 4xx answer (a page not found, a permission denied, a bad request) is logged as its one
    line, without the traceback Django attaches to it: it is the portal working as meant, and a
    traceback in the log would look like a fault. Errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
