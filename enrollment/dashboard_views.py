"""The dashboards page for office staff and auditors, and each table's .xlsx export."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from enrollment import dashboards
from enrollment.decorators import role_required
from enrollment.models import User
from mutualaid.exports import neutralise

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DASHBOARD_ROLES = (User.Role.OFFICE_STAFF, User.Role.AUDITOR)

# Chart geometry, in SVG user units.
LABEL_WIDTH = 230
BAR_WIDTH = 260
VALUE_WIDTH = 170
ROW_HEIGHT = 22
BAR_HEIGHT = 14
LABEL_CHARS = 16

NUMBER_FORMATS = {
    dashboards.MONEY: "#,##0.00",
    dashboards.PERCENT: "0.0%",
    dashboards.INT: "#,##0",
    dashboards.DAYS: "0.#",
    dashboards.RATIO: "0.00",
}


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


@role_required(*DASHBOARD_ROLES)
@require_GET
def dashboards_page(request: HttpRequest) -> HttpResponse:
    tables = [compute(request.user) for compute in dashboards.TABLES.values()]
    cards = [{"table": table, "chart": chart(table)} for table in tables]
    return render(request, "enrollment/dashboards.html", {"cards": cards})


def table_workbook(table: dashboards.Table) -> bytes:
    """The table as a one-sheet workbook: numbers as numbers, every text cell neutralised."""
    workbook = Workbook(write_only=True)
    workbook.properties.title = table.title
    ws = workbook.create_sheet(table.slug[:31])
    bold = Font(bold=True)

    def cell(value, *, number_format: str | None = None, header: bool = False):
        c = WriteOnlyCell(ws, value=neutralise(value))
        if number_format and not isinstance(value, str):
            c.number_format = number_format
        if header:
            c.font = bold
        return c

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
    compute = dashboards.TABLES.get(table)
    if compute is None:
        raise Http404
    data = table_workbook(compute(request.user))
    response = HttpResponse(data, content_type=XLSX)
    filename = f"{table}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
