"""python manage.py recompute_due_dates: count the stored due dates of open claims again.

The admin pages do this by themselves whenever a year's holidays change; the command is for the
other ways the calendar changes (entries loaded from a script or fixture, a new calendar package
that knows one more year, or after upgrading the counting rules). Idempotent: a second run
changes nothing. Writes one audit entry per run.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from claims.holidays import recompute_due_dates
from mutualaid.auditlog import audit


class Command(BaseCommand):
    help = "Count the due dates of open claims again (all of them, or those through --year)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--year",
            type=int,
            action="append",
            dest="years",
            help="Only claims whose counting runs through this year (repeatable).",
        )

    def handle(self, *args, years=None, **options) -> None:
        for year in years or ():
            if not 1900 <= year <= 2100:
                raise CommandError(f"{year} is not a year between 1900 and 2100.")
        with audit.acting(None, audit.Source.COMMAND):
            result = recompute_due_dates(years or (), all_open=not years)
        scope = ", ".join(str(y) for y in result.years) if result.years else "all years"
        self.stdout.write(
            f"Due dates counted again ({scope}): {result.changed} of {result.examined} open "
            "claims changed."
        )
