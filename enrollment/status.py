"""What a piece of cover or a roster is, in words and a colour: the one mapping every page uses.

Cover reads its dates, not only its status: cover paid for 2027 is "paid, cover from
2027-01-01" in December 2026, in force during its period and expired after it. A roster's badge
says what its state means for the person looking (errors to fix, ready to submit, waiting for
the office, paid) and is coloured by that meaning: red needs fixing, amber needs a look, blue
waits for someone else, green is done, grey is over.

The template filters in ``enrollment/templatetags/status_badges.py`` render these; views and
exports call ``cover_status`` and ``roster_badge`` directly.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext

from enrollment.models import Enrollment, Roster

# Bootstrap badge classes, one per meaning.
DANGER = "text-bg-danger"  # something to fix
WARNING = "text-bg-warning"  # look at it
INFO = "text-bg-info"  # waiting for someone, or for a date
PRIMARY = "text-bg-primary"  # with the office
SUCCESS = "text-bg-success"  # done, or in force
NEUTRAL = "text-bg-secondary"  # over: withdrawn, expired, cancelled
WORKING = "text-bg-light border"  # the portal is busy with it


@dataclass(frozen=True)
class Badge:
    """A state in words (``label``), a stable name for tests and scripts (``key``) and the
    badge class that colours it by meaning (``css``)."""

    key: str
    label: str
    css: str

    def __str__(self) -> str:
        return self.label


# --- cover ---------------------------------------------------------------------------------------


def cover_status(
    status: str, start: datetime.date, end: datetime.date, on: datetime.date | None = None
) -> Badge:
    """The state of cover with this status and period, on the day (today unless given).

    Matches ``Enrollment.objects.in_force``: the cover is "in force" exactly when that
    queryset holds it."""
    day = on or timezone.localdate()
    if status == Enrollment.Status.CANCELLED:
        return Badge("cancelled", gettext("Cancelled"), NEUTRAL)
    if status == Enrollment.Status.PENDING:
        return Badge("awaiting_payment", gettext("Awaiting payment"), WARNING)
    if day < start:
        return Badge(
            "paid_not_started",
            gettext("Paid, cover from %(date)s") % {"date": f"{start:%Y-%m-%d}"},
            INFO,
        )
    if day > end:
        return Badge("expired", gettext("Expired"), NEUTRAL)
    return Badge("in_force", gettext("In force"), SUCCESS)


def enrollment_status(enrollment: Enrollment, on: datetime.date | None = None) -> Badge:
    return cover_status(
        enrollment.status, enrollment.coverage_start, enrollment.coverage_end, on=on
    )


# --- rosters -------------------------------------------------------------------------------------


def roster_badge(roster: Roster, on: datetime.date | None = None) -> Badge:
    """The badge of a roster in every listing and on its page."""
    status = roster.status
    s = Roster.Status
    if status == s.CHECKED:
        if roster.error_count:
            return Badge("has_errors", gettext("Has errors, needs fixing"), DANGER)
        if not roster.rows_valid:
            return Badge("nobody_to_enrol", gettext("Checked, nobody to enrol"), WARNING)
        if roster.warning_count:
            return Badge("checked_warnings", gettext("Checked, with warnings"), WARNING)
        return Badge("checked", gettext("Checked, ready to submit"), SUCCESS)
    if status == s.PAID:
        cover = cover_status(
            Enrollment.Status.ACTIVE, roster.coverage_start, roster.coverage_end, on=on
        )
        if cover.key == "paid_not_started":
            return Badge(cover.key, cover.label, SUCCESS)
        if cover.key == "expired":
            return Badge("expired", gettext("Paid, cover expired"), NEUTRAL)
        return Badge("paid", gettext("Paid, cover in force"), SUCCESS)
    css = {
        s.UPLOADED: WORKING,
        s.CHECKING: WORKING,
        s.SUBMITTING: WORKING,
        s.REFUSED: DANGER,
        s.RETURNED: WARNING,
        s.SUBMITTED: PRIMARY,
        s.APPROVED: INFO,
        s.WITHDRAWN: NEUTRAL,
    }.get(status, NEUTRAL)
    return Badge(str(status), str(roster.get_status_display()), css)


def roster_status_choices() -> list[tuple[str, str]]:
    """The statuses to filter roster listings by, in words that hold whatever the dates: a paid
    roster's cover may not have started yet, or may have ended."""
    labels = {Roster.Status.PAID: gettext("Fee paid")}
    return [(value, labels.get(value, str(label))) for value, label in Roster.Status.choices]
