"""How the portal reads an uploaded roster workbook: never in its own process.

A hostile workbook can make a spreadsheet library abort, panic or take all the memory there is,
so every reading of one (the worker's check and import, the ``check_roster`` command, the plan
admin's trial of a draft) happens in a child process with these limits; whatever stops the child
is a file-level refusal (``plans.engine.roster.read_table_isolated``).
"""

from __future__ import annotations

from django.conf import settings

from plans.engine.sandbox import Limits


def roster_read_limits() -> Limits:
    """The child's limits, from ROSTER_READ_MEMORY_MB and ROSTER_READ_SECONDS (CPU seconds; the
    clock allows half as long again)."""
    seconds = settings.ROSTER_READ_SECONDS
    return Limits(
        memory_mb=settings.ROSTER_READ_MEMORY_MB,
        cpu_seconds=seconds,
        wall_seconds=seconds + seconds // 2 + 5,
    )
