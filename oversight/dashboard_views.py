"""The dashboards page for office staff and auditors, and each table's .xlsx export.

Both read the same GET filters (``DashboardFilterForm``): a period and a plan. Input that does
not hold (a malformed date, a period running backwards or longer than ``MAX_YEARS``, a plan the
user cannot see) is reported in the form, and the figures fall back to the default filters.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from io import BytesIO

from crispy_forms.helper import FormHelper
from dateutil.relativedelta import relativedelta
from django import forms
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from enrollment.selectors import in_force_counts
from mutualaid.exports import neutralise
from mutualaid.formatting import AMOUNT_FORMAT
from mutualaid.reveals import REFUSED_NOTES
from organisation.decorators import role_required
from organisation.models import User
from oversight import dashboards
from oversight.audit_views import visible_entries
from plans.models import Plan
from plans.selectors import visible_plans

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DASHBOARD_ROLES = (User.Role.OFFICE_STAFF, User.Role.AUDITOR)

# Chart geometry, in SVG user units.
LABEL_WIDTH = 230
BAR_WIDTH = 260
VALUE_WIDTH = 170
ROW_HEIGHT = 22
BAR_HEIGHT = 14
LABEL_CHARS = 16

# The filters' limits: the longest period, and the days a period may start or end on.
MAX_YEARS = 5
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2099, 12, 31)

NUMBER_FORMATS = {
    dashboards.MONEY: AMOUNT_FORMAT,
    dashboards.PERCENT: "0.0%",
    dashboards.INT: "#,##0",
    dashboards.DAYS: "0.#",
    dashboards.RATIO: "0.00",
}


def _day_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date as year-month-day, e.g. 2026-01-31.")},
    )


class DashboardFilterForm(forms.Form):
    """The period and the plan the figures are for. Blank dates take the defaults: from
    1 January of the end date's year, up to today."""

    date_from = _day_field(_("From"))
    date_to = _day_field(_("To"))
    plan = forms.ModelChoiceField(
        label=_("Plan"),
        queryset=Plan.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("All plans"),
        error_messages={"invalid_choice": _("Choose one of the plans listed, or all plans.")},
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = visible_plans(user).order_by("name", "code")
        self.fields["plan"].label_from_instance = lambda plan: plan.display_name
        self.helper = FormHelper()
        self.helper.form_tag = False

    def _clean_day(self, name: str) -> datetime.date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise forms.ValidationError(
                _("Enter a date from %(first)s to %(last)s.")
                % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
            )
        return day

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("date_to") or dashboards.Filters.default().date_to
        start = data.get("date_from") or end.replace(month=1, day=1)
        if start > end:
            raise forms.ValidationError(
                _("The start date (%(start)s) is after the end date (%(end)s).")
                % {"start": start.isoformat(), "end": end.isoformat()}
            )
        if end >= start + relativedelta(years=MAX_YEARS):
            raise forms.ValidationError(
                _("Choose a period of at most %(years)s years.") % {"years": MAX_YEARS}
            )
        data["filters"] = dashboards.Filters(date_from=start, date_to=end, plan=data.get("plan"))
        return data


def read_filters(request: HttpRequest) -> tuple[DashboardFilterForm, dashboards.Filters, bool]:
    """The form to show, the filters to apply and whether the input had to be set aside.

    Valid input comes back as a fresh form showing the filters it resolved to (blank dates
    filled in); invalid input as the bound form with its errors, and the default filters."""
    form = DashboardFilterForm(request.GET or None, user=request.user)
    if not form.is_bound:
        filters = dashboards.Filters.default()
    elif form.is_valid():
        filters = form.cleaned_data["filters"]
    else:
        return form, dashboards.Filters.default(), True
    shown = DashboardFilterForm(user=request.user, initial=_initial(filters))
    return shown, filters, False


def _initial(filters: dashboards.Filters) -> dict:
    return {"date_from": filters.date_from, "date_to": filters.date_to, "plan": filters.plan}


def filters_query(filters: dashboards.Filters) -> str:
    query = QueryDict(mutable=True)
    query.update(filters.query())
    return query.urlencode()


@dataclass(frozen=True)
class ChartBar:
    label: str
    full_label: str
    text: str
    warn: bool
    y: int
    bar_y: int
    text_y: int
    width: int
    value_x: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[ChartBar]
    width: int
    height: int
    bar_x: int


def chart(table: dashboards.Table) -> Chart | None:
    """A horizontal bar chart of the table's bars, scaled to the largest, numbers beside."""
    if not table.bars:
        return None
    top = max((bar.value for bar in table.bars), default=0) or 1
    bars = []
    for index, bar in enumerate(table.bars):
        y = index * ROW_HEIGHT
        width = round(BAR_WIDTH * max(bar.value, 0) / top)
        label = bar.label if len(bar.label) <= LABEL_CHARS else bar.label[: LABEL_CHARS - 1] + "…"
        bars.append(
            ChartBar(
                label=label,
                full_label=bar.label,
                text=bar.text,
                warn=bar.warn,
                y=y,
                bar_y=y + (ROW_HEIGHT - BAR_HEIGHT) // 2,
                text_y=y + ROW_HEIGHT - 6,
                width=max(width, 1),
                value_x=LABEL_WIDTH + max(width, 1) + 6,
            )
        )
    return Chart(
        title=table.chart_title,
        bars=bars,
        width=LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH,
        height=len(bars) * ROW_HEIGHT,
        bar_x=LABEL_WIDTH,
    )


# How far back the page lists people who reached the limit on numbers shown in full.
REVEAL_ALERT_DAYS = 30


@dataclass(frozen=True)
class RevealAlert:
    name: str
    username: str
    union: str
    last: datetime.datetime
    count: int


def reveal_alerts(user: User) -> list[RevealAlert]:
    """Who had a number refused for reaching the limit on numbers shown in full
    (mutualaid/reveals.py) in the last REVEAL_ALERT_DAYS days, on records within the user's
    scope: one line per person, the latest first."""
    since = timezone.now() - datetime.timedelta(days=REVEAL_ALERT_DAYS)
    rows = list(
        visible_entries(user)
        .filter(note__in=list(REFUSED_NOTES.values()), at__gte=since)
        .values("actor_id", "actor_username")
        .annotate(last=Max("at"), count=Count("pk"))
        .order_by("-last")[:50]
    )
    people = User.objects.select_related("union").in_bulk([r["actor_id"] for r in rows])
    alerts = []
    for row in rows:
        person = people.get(row["actor_id"])
        alerts.append(
            RevealAlert(
                name=person.display_name if person else row["actor_username"],
                username=row["actor_username"],
                union=person.union.name if person and person.union else "",
                last=row["last"],
                count=row["count"],
            )
        )
    return alerts


@role_required(*DASHBOARD_ROLES)
@require_GET
def dashboards_page(request: HttpRequest) -> HttpResponse:
    form, filters, set_aside = read_filters(request)
    tables = [compute(request.user, filters) for compute in dashboards.TABLES.values()]
    cards = [{"table": table, "chart": chart(table)} for table in tables]
    plan_id = filters.plan.pk if filters.plan is not None else None
    in_force = in_force_counts(request.user, on=filters.date_to, plan_id=plan_id)
    return render(
        request,
        "oversight/dashboards.html",
        {
            "cards": cards,
            "in_force": in_force,
            "form": form,
            "filters": filters,
            "set_aside": set_aside,
            "query": filters_query(filters),
            "reveal_alerts": reveal_alerts(request.user),
            "reveal_alert_days": REVEAL_ALERT_DAYS,
            "is_auditor": request.user.role == User.Role.AUDITOR,
        },
    )


def table_workbook(table: dashboards.Table) -> bytes:
    """The table as a one-sheet workbook: numbers as numbers, every text cell neutralised.

    Above the header: the title, the filters in words, which rows they kept, and a blank line."""
    workbook = Workbook(write_only=True)
    workbook.properties.title = table.title
    ws = workbook.create_sheet(table.slug[:31])
    bold = Font(bold=True)
    filters = table.filters or dashboards.Filters.default()
    workbook.properties.subject = filters.describe()

    def cell(value, *, number_format: str | None = None, header: bool = False):
        c = WriteOnlyCell(ws, value=neutralise(value))
        if number_format and not isinstance(value, str):
            c.number_format = number_format
        if header:
            c.font = bold
        return c

    ws.append([cell(str(table.title), header=True)])
    ws.append([cell(filters.describe())])
    if table.basis:
        ws.append([cell(table.basis)])
    ws.append([])
    ws.append([cell(str(column.label), header=True) for column in table.columns])
    for row in table.rows:
        ws.append(
            [
                cell(
                    value if column.numeric or value is None else str(value),
                    number_format=NUMBER_FORMATS.get(column.kind),
                )
                for value, column in zip(row.values, table.columns, strict=True)
            ]
        )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@role_required(*DASHBOARD_ROLES)
@require_GET
def dashboard_export(request: HttpRequest, table: str) -> HttpResponse:
    """One table as a workbook, for the filters in the query string (the defaults when they do
    not hold, as on the page)."""
    compute = dashboards.TABLES.get(table)
    if compute is None:
        raise Http404
    _form, filters, _set_aside = read_filters(request)
    data = table_workbook(compute(request.user, filters))
    response = HttpResponse(data, content_type=XLSX)
    filename = f"{table}-{filters.slug()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
