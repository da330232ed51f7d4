"""Figures for the office staff's and auditors' dashboards, always within the user's scope.

Each table is computed by aggregating in the database (one grouped query per table, plus one to
load the plans' rules or the working-day calendar) and comes back as a ``Table``: plain rows of
raw values (numbers stay numbers for the spreadsheet export) with a display form for the page,
and the bars of a small chart.

Turnaround is counted in working days (the official calendar of ``claims.workdays``, as the due
date is): from the day a claim's documents were complete to the day it was paid, the first day
not counted. The 90th percentile is the nearest-rank one.

Every table takes the page's ``Filters``: a period (a first and a last day, both counted) and a
plan, or every plan the user can see. Each table reads the period its own way, stated in its
``basis`` line on the page and in its export:

* participation: a snapshot on the last day: members holding an active enrollment whose cover
  is in force that day (the first day does not apply);
* fees: rosters whose cover starts in the period;
* claims: claims reported in the period;
* payouts: paid payouts by the day they were paid, the others (due or in a batch) by the day
  they were granted;
* turnaround: claims paid in the period;
* payouts ÷ fees: the fees collected of the fees table and the payouts of the payouts table,
  so that the three tables agree.
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import formats, timezone
from django.utils.translation import gettext

from claims.models import Claim, Payout
from enrollment.models import Roster
from enrollment.selectors import enrollments_in_force, in_force_counts
from mutualaid.formatting import money
from organisation.models import User
from organisation.selectors import scoped, visible_units
from plans.models import Plan, PlanVersion
from plans.selectors import visible_plans

ZERO = Decimal("0.00")
# Rosters whose fee has been notified and is owed: submitted, approved or paid.
FEE_DUE_STATUSES = (Roster.Status.SUBMITTED, Roster.Status.APPROVED, Roster.Status.PAID)

TEXT, INT, MONEY, PERCENT, DAYS, RATIO = "text", "int", "money", "percent", "days", "ratio"


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = TEXT

    @property
    def numeric(self) -> bool:
        return self.kind != TEXT


@dataclass
class Row:
    values: list
    warn: bool = False  # marked on the page (a unit under its plan's participation threshold)

    def cells(self, columns: list[Column]) -> list[tuple[str, bool]]:
        return [(display(v, c.kind), c.numeric) for v, c in zip(self.values, columns, strict=True)]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    warn: bool = False


@dataclass
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: list[Row]
    note: str = ""
    chart_title: str = ""
    bars: list[Bar] = field(default_factory=list)
    # Which rows the filters kept, in words ("Claims reported from … to …").
    basis: str = ""
    filters: Filters | None = None

    @property
    def display_rows(self) -> list[tuple[list[tuple[str, bool]], bool]]:
        return [(row.cells(self.columns), row.warn) for row in self.rows]

    @property
    def labelled_rows(self) -> list[tuple[list[tuple[str, bool, str]], bool]]:
        """``display_rows`` with each cell's column label (a phone shows rows as labelled cards)."""
        return [
            ([(*cell, c.label) for cell, c in zip(cells, self.columns, strict=True)], warn)
            for cells, warn in self.display_rows
        ]


def display(value: object, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == MONEY:
        # An aggregate may come back as a float on some databases: read it through its text.
        return money(value if isinstance(value, Decimal) else str(value), symbol=False)
    if kind == PERCENT:
        return f"{Decimal(value) * 100:.1f}%"
    if kind == RATIO:
        return f"{Decimal(value):.2f}"
    if kind == DAYS:
        return f"{value:g}" if isinstance(value, float) else str(value)
    if kind == INT:
        return f"{value:,}"
    return str(value)


def _money(value: Decimal | None) -> Decimal:
    return (value or ZERO).quantize(Decimal("0.01"))


def _rate(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def _plan_names(plan_ids) -> dict[int, str]:
    return {plan.pk: plan.display_name for plan in Plan.objects.filter(pk__in=set(plan_ids))}


# --- filters -------------------------------------------------------------------------------------


def day_text(day: datetime.date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


@dataclass(frozen=True)
class Filters:
    """The period (first and last day, both counted) and the plan (None: all the user can see)."""

    date_from: datetime.date
    date_to: datetime.date
    plan: Plan | None = None

    @classmethod
    def default(cls) -> Filters:
        """1 January of this year to today, every plan."""
        today = timezone.localdate()
        return cls(date_from=today.replace(month=1, day=1), date_to=today)

    @property
    def start(self) -> datetime.datetime:
        """The first moment of the period, in the portal's time zone."""
        zone = timezone.get_current_timezone()
        return datetime.datetime.combine(self.date_from, datetime.time.min, tzinfo=zone)

    @property
    def end(self) -> datetime.datetime:
        """The first moment after the period."""
        zone = timezone.get_current_timezone()
        after = self.date_to + datetime.timedelta(days=1)
        return datetime.datetime.combine(after, datetime.time.min, tzinfo=zone)

    def moments(self, lookup: str) -> Q:
        """``lookup`` (a date-time field) falls within the period."""
        return Q(**{f"{lookup}__gte": self.start, f"{lookup}__lt": self.end})

    def days(self, lookup: str) -> Q:
        """``lookup`` (a date field) falls within the period."""
        return Q(**{f"{lookup}__gte": self.date_from, f"{lookup}__lte": self.date_to})

    def plans(self, user: User, lookup: str) -> Q:
        """``lookup`` (a plan id) is the chosen plan, and in any case one the user may see."""
        condition = Q(**{f"{lookup}__in": visible_plans(user).values("pk")})
        if self.plan is not None:
            condition &= Q(**{lookup: self.plan.pk})
        return condition

    @property
    def plan_text(self) -> str:
        if self.plan is None:
            return gettext("all plans you can see")
        return self.plan.display_name

    @property
    def period_text(self) -> str:
        return gettext("%(start)s to %(end)s") % {
            "start": day_text(self.date_from),
            "end": day_text(self.date_to),
        }

    def describe(self) -> str:
        """The filters in words, for the page and the exports."""
        return gettext("Period: %(period)s. Plan: %(plan)s.") % {
            "period": self.period_text,
            "plan": self.plan_text,
        }

    def query(self) -> dict[str, str]:
        """The filters as the form's GET parameters."""
        return {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "plan": self.plan.code if self.plan is not None else "",
        }

    def slug(self) -> str:
        """The filters in a file name."""
        parts = [f"{self.date_from:%Y%m%d}", f"{self.date_to:%Y%m%d}"]
        if self.plan is not None:
            parts.append(self.plan.code)
        return "-".join(parts)


# --- participation -------------------------------------------------------------------------------


def participation(user: User, filters: Filters | None = None) -> Table:
    """Per unit and plan: members covered on the period's last day against the unit's headcount,
    and whether the rate reaches the threshold the plan sets for a unit of that size. Units with
    nobody covered that day (in the chosen plans) are listed too, without a plan.

    Covered: an active enrollment whose coverage period (first and last day counted) contains
    the day. A member holding several such enrollments of a plan in the unit counts once."""
    filters = filters or Filters.default()
    day = filters.date_to
    units = {
        u["pk"]: u
        for u in visible_units(user).order_by("path").values("pk", "name", "code", "headcount")
    }
    plan_id = filters.plan.pk if filters.plan is not None else None
    groups = (
        enrollments_in_force(user, on=day, plan_id=plan_id)
        .values("union_id", "plan_id")
        .annotate(members=Count("member_id", distinct=True), version=Max("plan_version_id"))
        .order_by()
    )
    groups = list(groups)
    versions = {v.pk: v for v in PlanVersion.objects.filter(pk__in={g["version"] for g in groups})}
    names = _plan_names(g["plan_id"] for g in groups)
    by_unit: dict[int, list[dict]] = {}
    for group in groups:
        by_unit.setdefault(group["union_id"], []).append(group)
    rows: list[Row] = []
    bars: list[Bar] = []
    for pk, unit in units.items():
        headcount = unit["headcount"]
        for group in sorted(by_unit.get(pk, []), key=lambda g: names.get(g["plan_id"], "")):
            rate = _rate(group["members"], headcount)
            threshold = versions[group["version"]].parsed_rules.participation_min_rate(headcount)
            under = threshold is not None and (rate is None or rate < threshold)
            plan = names.get(group["plan_id"], "")
            rows.append(
                Row(
                    [
                        unit["name"],
                        unit["code"],
                        plan,
                        headcount,
                        group["members"],
                        rate,
                        threshold,
                        gettext("Under threshold") if under else "",
                    ],
                    warn=under,
                )
            )
            bars.append(
                Bar(f"{unit['name']} · {plan}", float(rate or 0), display(rate, PERCENT), under)
            )
        if pk not in by_unit:
            rows.append(
                Row([unit["name"], unit["code"], "", headcount, 0, _rate(0, headcount), None, ""])
            )
    if rows:
        # Everyone covered that day, each member once however many plans or units cover them:
        # the count the home page shows (enrollment.selectors.in_force_counts).
        people = in_force_counts(user, on=day, plan_id=plan_id)["people"]
        headcounts = sum(unit["headcount"] for unit in units.values())
        rows.append(
            Row(
                [
                    gettext("Total"),
                    "",
                    "",
                    headcounts,
                    people,
                    _rate(people, headcounts),
                    None,
                    "",
                ]
            )
        )
    return Table(
        slug="participation",
        title=gettext("Participation by union"),
        columns=[
            Column(gettext("Union")),
            Column(gettext("Code")),
            Column(gettext("Plan")),
            Column(gettext("Headcount"), INT),
            Column(gettext("Enrolled members"), INT),
            Column(gettext("Participation rate"), PERCENT),
            Column(gettext("Required rate"), PERCENT),
            Column(gettext("Threshold")),
        ],
        rows=rows,
        note=gettext(
            "Enrolled members are distinct members whose paid cover in the plan is in force on "
            "the day (the day within the coverage period), counted once however many "
            "enrollments they hold; the total counts each member once across units and plans, "
            "as the home page does. The required rate is the plan's participation rule for a "
            "unit of that headcount. The period's first day does not apply to this table."
        ),
        chart_title=gettext("Participation rate"),
        bars=bars,
        basis=gettext("Cover in force on %(day)s.") % {"day": day_text(day)},
        filters=filters,
    )


# --- fees ----------------------------------------------------------------------------------------


def _fee_rosters(user: User, filters: Filters):
    """The rosters whose fees the dashboards count: cover starting in the period, plan chosen."""
    return scoped(
        user,
        Roster.objects.filter(
            filters.days("coverage_start"), filters.plans(user, "plan_version__plan_id")
        ),
    )


def fees(user: User, filters: Filters | None = None) -> Table:
    """Per unit and plan: fees notified on submitted, approved and paid rosters, and collected,
    for the rosters whose cover starts in the period."""
    filters = filters or Filters.default()
    groups = list(
        _fee_rosters(user, filters)
        .filter(status__in=FEE_DUE_STATUSES)
        .values("union__name", "union__code", "plan_version__plan_id")
        .annotate(
            rosters=Count("pk"),
            due=Sum("fee_total"),
            collected=Sum("payment_amount", filter=Q(status=Roster.Status.PAID)),
        )
        .order_by("union__path", "plan_version__plan_id")
    )
    names = _plan_names(g["plan_version__plan_id"] for g in groups)
    rows, bars = [], []
    total_due = total_collected = ZERO
    for g in groups:
        due, collected = _money(g["due"]), _money(g["collected"])
        total_due += due
        total_collected += collected
        plan = names.get(g["plan_version__plan_id"], "")
        rows.append(
            Row(
                [
                    g["union__name"],
                    g["union__code"],
                    plan,
                    g["rosters"],
                    due,
                    collected,
                    due - collected,
                    _rate(collected, due),
                ]
            )
        )
        bars.append(
            Bar(
                f"{g['union__name']} · {plan}",
                float(_rate(collected, due) or 0),
                f"{display(collected, MONEY)} / {display(due, MONEY)}",
            )
        )
    if rows:
        rows.append(
            Row(
                [
                    gettext("Total"),
                    "",
                    "",
                    sum(g["rosters"] for g in groups),
                    total_due,
                    total_collected,
                    total_due - total_collected,
                    _rate(total_collected, total_due),
                ]
            )
        )
    return Table(
        slug="fees",
        title=gettext("Fees due and collected"),
        columns=[
            Column(gettext("Union")),
            Column(gettext("Code")),
            Column(gettext("Plan")),
            Column(gettext("Rosters"), INT),
            Column(gettext("Fees due"), MONEY),
            Column(gettext("Fees collected"), MONEY),
            Column(gettext("Outstanding"), MONEY),
            Column(gettext("Collected share"), PERCENT),
        ],
        rows=rows,
        note=gettext(
            "Fees due: the fee totals of submitted, approved and paid rosters. Collected: the "
            "payments recorded on paid rosters, whenever they were received."
        ),
        chart_title=gettext("Collected share of fees due"),
        bars=bars,
        basis=gettext("Rosters whose cover starts from %(period)s.")
        % {"period": filters.period_text},
        filters=filters,
    )


# --- claims --------------------------------------------------------------------------------------


def claims(user: User, filters: Filters | None = None) -> Table:
    """Claims reported in the period per month, plan and status, with the approved amounts."""
    filters = filters or Filters.default()
    groups = list(
        scoped(
            user,
            Claim.objects.filter(
                filters.moments("reported_at"), filters.plans(user, "enrollment__plan_id")
            ),
        )
        .annotate(month=TruncMonth("reported_at"))
        .values("month", "enrollment__plan_id", "status")
        .annotate(count=Count("pk"), approved=Sum("approved_amount"))
        .order_by("month", "enrollment__plan_id", "status")
    )
    names = _plan_names(g["enrollment__plan_id"] for g in groups)
    labels = dict(Claim.Status.choices)
    rows, per_month = [], {}
    for g in groups:
        month = f"{g['month']:%Y-%m}"
        per_month[month] = per_month.get(month, 0) + g["count"]
        rows.append(
            Row(
                [
                    month,
                    names.get(g["enrollment__plan_id"], ""),
                    str(labels.get(g["status"], g["status"])),
                    g["count"],
                    _money(g["approved"]),
                ]
            )
        )
    return Table(
        slug="claims",
        title=gettext("Claims by status, plan and month"),
        columns=[
            Column(gettext("Month reported")),
            Column(gettext("Plan")),
            Column(gettext("Status")),
            Column(gettext("Claims"), INT),
            Column(gettext("Approved amount"), MONEY),
        ],
        rows=rows,
        note=gettext("Each claim in its current status."),
        chart_title=gettext("Claims reported per month"),
        bars=[Bar(month, count, str(count)) for month, count in per_month.items()],
        basis=gettext("Claims reported from %(period)s.") % {"period": filters.period_text},
        filters=filters,
    )


# --- payouts -------------------------------------------------------------------------------------


def _payouts(user: User, filters: Filters):
    """Payouts of the chosen plans in the period: a paid one by the day it was paid, any other
    (due, or in a payment batch) by the day it was granted."""
    paid = Q(status=Payout.Status.PAID)
    in_period = (paid & filters.moments("paid_at")) | (~paid & filters.moments("created_at"))
    return scoped(
        user,
        Payout.objects.filter(in_period, filters.plans(user, "claim__enrollment__plan_id")),
        union_field="claim__union",
    )


def payouts(user: User, filters: Filters | None = None) -> Table:
    """Payouts per plan, kind and status: how many and how much."""
    filters = filters or Filters.default()
    groups = list(
        _payouts(user, filters)
        .values("claim__enrollment__plan_id", "kind", "status")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("claim__enrollment__plan_id", "kind", "status")
    )
    names = _plan_names(g["claim__enrollment__plan_id"] for g in groups)
    kinds, statuses = dict(Payout.Kind.choices), dict(Payout.Status.choices)
    rows, per_plan = [], {}
    total = ZERO
    for g in groups:
        plan = names.get(g["claim__enrollment__plan_id"], "")
        amount = _money(g["amount"])
        total += amount
        per_plan[plan] = per_plan.get(plan, ZERO) + amount
        rows.append(
            Row(
                [
                    plan,
                    str(kinds.get(g["kind"], g["kind"])),
                    str(statuses.get(g["status"], g["status"])),
                    g["count"],
                    amount,
                ]
            )
        )
    if rows:
        rows.append(Row([gettext("Total"), "", "", sum(g["count"] for g in groups), total]))
    return Table(
        slug="payouts",
        title=gettext("Payouts"),
        columns=[
            Column(gettext("Plan")),
            Column(gettext("Kind")),
            Column(gettext("Status")),
            Column(gettext("Payouts"), INT),
            Column(gettext("Amount"), MONEY),
        ],
        rows=rows,
        chart_title=gettext("Payout amount per plan"),
        bars=[Bar(p, float(a), display(a, MONEY)) for p, a in per_plan.items()],
        basis=gettext(
            "Payouts paid from %(period)s, and those not yet paid that were granted in that period."
        )
        % {"period": filters.period_text},
        filters=filters,
    )


# --- turnaround ----------------------------------------------------------------------------------


def working_days_between(calendar, start: datetime.date, end: datetime.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when paid the same day)."""
    days, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        if calendar.is_workday(day):
            days += 1
    return days


def percentile(values: list[int], share: float) -> int | None:
    """The nearest-rank percentile: the smallest value with at least ``share`` of them at or
    below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def turnaround(user: User, filters: Filters | None = None) -> Table:
    """Per plan and overall, for the claims paid in the period: how many, median and 90th
    percentile of working days from complete documents to payment, and the share paid by the
    due date (the promise)."""
    from claims.workdays import calendar_for_years

    filters = filters or Filters.default()
    paid = list(
        scoped(user, Claim.objects.filter(status=Claim.Status.PAID))
        .filter(
            filters.moments("paid_at"),
            filters.plans(user, "enrollment__plan_id"),
            completed_at__isnull=False,
        )
        .values_list("enrollment__plan_id", "completed_at", "paid_at", "due_date")
    )
    spans = [
        (plan_id, timezone.localdate(done), timezone.localdate(paid_at), due)
        for plan_id, done, paid_at, due in paid
    ]
    years = set()
    for _plan, start, end, _due in spans:
        years.update(range(start.year, end.year + 1))
    calendar = calendar_for_years(years)
    per_plan: dict[int | None, list[tuple[int, bool]]] = {}
    for plan_id, start, end, due in spans:
        days = working_days_between(calendar, start, end) if end > start else 0
        on_time = due is not None and end <= due
        per_plan.setdefault(plan_id, []).append((days, on_time))
    names = _plan_names(p for p in per_plan if p is not None)
    promise = settings.CLAIM_DUE_WORKING_DAYS

    def row(label: str, items: list[tuple[int, bool]]) -> Row:
        days = [d for d, _ in items]
        on_time = sum(1 for _, ok in items if ok)
        median = statistics.median(days) if days else None
        p90 = percentile(days, 0.9)
        return Row(
            [label, len(items), median, p90, promise, on_time, _rate(on_time, len(items))],
            warn=p90 is not None and p90 > promise,
        )

    rows = [
        row(names.get(p, ""), items)
        for p, items in sorted(per_plan.items(), key=lambda kv: names.get(kv[0], ""))
    ]
    bars = []
    for r in rows:
        bars.append(
            Bar(f"{r.values[0]} · P50", float(r.values[2] or 0), display(r.values[2], DAYS))
        )
        bars.append(
            Bar(f"{r.values[0]} · P90", float(r.values[3] or 0), display(r.values[3], DAYS), r.warn)
        )
    if rows:
        rows.append(row(gettext("All plans"), [i for items in per_plan.values() for i in items]))
    return Table(
        slug="turnaround",
        title=gettext("Turnaround from complete documents to payment"),
        columns=[
            Column(gettext("Plan")),
            Column(gettext("Paid claims"), INT),
            Column(gettext("Median (working days)"), DAYS),
            Column(gettext("90th percentile (working days)"), DAYS),
            Column(gettext("Promise (working days)"), INT),
            Column(gettext("Paid by the due date"), INT),
            Column(gettext("Share on time"), PERCENT),
        ],
        rows=rows,
        note=gettext(
            "Counted in working days on the official calendar, from the day the documents were "
            "complete (not counted) to the day of payment. On time: paid on or before the "
            "claim's due date. The 90th percentile is the nearest-rank one."
        ),
        chart_title=gettext("Working days to payment"),
        bars=bars,
        basis=gettext("Claims paid from %(period)s.") % {"period": filters.period_text},
        filters=filters,
    )


# --- payouts ÷ fees ------------------------------------------------------------------------------


def loss_ratio(user: User, filters: Filters | None = None) -> Table:
    """Per plan: fees collected on paid rosters, payouts paid and granted, and paid ÷ collected,
    each counted as in the fees and the payouts tables."""
    filters = filters or Filters.default()
    collected = dict(
        _fee_rosters(user, filters)
        .filter(status=Roster.Status.PAID)
        .values("plan_version__plan_id")
        .annotate(total=Sum("payment_amount"))
        .order_by()
        .values_list("plan_version__plan_id", "total")
    )
    paid_out = {
        g["claim__enrollment__plan_id"]: g
        for g in _payouts(user, filters)
        .values("claim__enrollment__plan_id")
        .annotate(
            paid=Sum("amount", filter=Q(status=Payout.Status.PAID)),
            granted=Sum("amount"),
        )
        .order_by()
    }
    names = _plan_names([*collected, *paid_out])
    rows, bars = [], []
    for plan_id in sorted(set(collected) | set(paid_out), key=lambda p: names.get(p, "")):
        fee = _money(collected.get(plan_id))
        paid = _money(paid_out.get(plan_id, {}).get("paid"))
        granted = _money(paid_out.get(plan_id, {}).get("granted"))
        ratio = _rate(paid, fee)
        rows.append(Row([names.get(plan_id, ""), fee, granted, paid, ratio]))
        bars.append(Bar(names.get(plan_id, ""), float(ratio or 0), display(ratio, PERCENT)))
    return Table(
        slug="loss-ratio",
        title=gettext("Payouts ÷ fees per plan"),
        columns=[
            Column(gettext("Plan")),
            Column(gettext("Fees collected"), MONEY),
            Column(gettext("Payouts granted"), MONEY),
            Column(gettext("Payouts paid"), MONEY),
            Column(gettext("Paid ÷ collected"), PERCENT),
        ],
        rows=rows,
        note=gettext(
            "Granted payouts include those due or in a payment batch; the ratio uses the paid ones."
        ),
        chart_title=gettext("Payouts paid ÷ fees collected"),
        bars=bars,
        basis=gettext(
            "Fees collected on rosters whose cover starts from %(period)s; payouts paid in that "
            "period, and those not yet paid that were granted in it."
        )
        % {"period": filters.period_text},
        filters=filters,
    )


TABLES: dict[str, Callable[[User, Filters | None], Table]] = {
    "participation": participation,
    "fees": fees,
    "claims": claims,
    "payouts": payouts,
    "turnaround": turnaround,
    "loss-ratio": loss_ratio,
}
