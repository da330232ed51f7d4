"""Renewal without a private spreadsheet (期满续交).

A unit renews a plan by uploading next period's roster, and under a 100%-participation rule that
roster must list everyone again. This module gives the clerk what they need for it from the
portal's own records:

* ``renewal_workbook``: the plan's template (``enrollment.workbooks.roster_template``, every
  column it has) filled with everyone enrolled in the plan for the unit's latest period, from
  the member records, so the clerk deletes who left, adds who joined and uploads it. It reads
  back through the roster check unchanged;
* ``member_list_workbook``: the unit's members with their cover, every text cell neutralised;
* ``last_funding``: the unit's last funding choice and split for a plan, to fill in the upload
  form again.

Both workbooks hold ID, phone and bank numbers in full: the views that serve them let only the
roles that may see numbers in full have them, count each download against the limits on numbers
shown in full and write it to the audit log (``enrollment.renewal_views``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from io import BytesIO

from django.db.models import Max, Sum
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from enrollment.annotate import HEADER_ROW, ROSTER_SHEET
from enrollment.models import Enrollment, Roster
from enrollment.workbooks import roster_template, template_columns
from mutualaid.exports import neutralise
from organisation.models import Member, Union, User
from plans.engine.columns import TEXT_KEYS
from plans.models import Plan, PlanVersion

# Cover that still holds or is about to: a cancelled enrollment is nobody's cover.
HELD = (Enrollment.Status.ACTIVE, Enrollment.Status.PENDING)
YES, NO = "是", "否"
GENDERS = {Member.Gender.MALE: "男", Member.Gender.FEMALE: "女"}


@dataclass(frozen=True)
class Period:
    """A plan's latest period in a unit: its first day and how many people it covers."""

    plan: Plan
    coverage_start: datetime.date
    coverage_end: datetime.date
    people: int


def _held(union: Union):
    return Enrollment.objects.filter(union=union, status__in=HELD)


def latest_start(union: Union, plan: Plan) -> datetime.date | None:
    """The first day of the unit's latest period in the plan (None: never enrolled)."""
    return _held(union).filter(plan=plan).aggregate(last=Max("coverage_start"))["last"]


def latest_periods(union: Union) -> list[Period]:
    """Each plan the unit has cover in, with its latest period (for the unit's page)."""
    periods = []
    rows = _held(union).values("plan").annotate(last=Max("coverage_start")).order_by("plan")
    plans = Plan.objects.in_bulk([row["plan"] for row in rows])
    for row in rows:
        cover = _held(union).filter(plan_id=row["plan"], coverage_start=row["last"])
        periods.append(
            Period(
                plan=plans[row["plan"]],
                coverage_start=row["last"],
                coverage_end=cover.aggregate(end=Max("coverage_end"))["end"],
                people=cover.values("member").distinct().count(),
            )
        )
    return sorted(periods, key=lambda p: p.plan.display_name)


def renewal_people(
    union: Union, plan: Plan
) -> tuple[datetime.date | None, list[tuple[Member, int]]]:
    """Everyone enrolled in the plan for the unit's latest period, once each with the shares
    they hold in it (a supplementary roster of the same period adds to them), by name."""
    start = latest_start(union, plan)
    if start is None:
        return None, []
    shares = dict(
        _held(union)
        .filter(plan=plan, coverage_start=start)
        .values("member")
        .annotate(n=Sum("shares"))
        .values_list("member", "n")
    )
    members = Member.objects.filter(pk__in=list(shares)).order_by("name", "pk")
    return start, [(member, shares[member.pk]) for member in members]


def published_version(plan: Plan) -> PlanVersion | None:
    """The version whose template a clerk downloads: the plan's latest published one."""
    return plan.versions.filter(status=PlanVersion.Status.PUBLISHED).order_by("-number").first()


def _yes_no(value: object) -> str:
    return YES if value else NO


def _cell_value(key: str, member: Member, shares: int) -> object:
    """What the template's column ``key`` holds for this member, as the roster check reads it."""
    if key == "gender":
        return GENDERS.get(member.gender, "")
    if key in ("medical_insurance", "high_risk"):
        return _yes_no(getattr(member, key))
    if key == "shares":
        return shares
    if key == "note":
        return ""
    value = getattr(member, key, None)
    if isinstance(value, bool):
        # A yes/no column added to the contract later (e.g. 医保数据授权) that the member records.
        return _yes_no(value)
    return "" if value is None else value


def renewal_workbook(union: Union, plan: Plan) -> tuple[bytes, int, datetime.date | None]:
    """The plan's template filled with the unit's latest period: (the .xlsx, the number of
    people in it, the period's first day). With nobody enrolled it is the blank template."""
    version = published_version(plan)
    if version is None:
        raise PlanVersion.DoesNotExist
    rules = version.parsed_rules
    data = roster_template(rules=rules, plan_code=plan.code, plan_name=plan.display_name)
    start, people = renewal_people(union, plan)
    if not people:
        return data, 0, start
    book = load_workbook(BytesIO(data))
    sheet = book[ROSTER_SHEET]
    columns = template_columns(rules)
    for offset, (member, shares) in enumerate(people, start=1):
        row = HEADER_ROW + offset
        for index, column in enumerate(columns, start=1):
            cell = sheet.cell(
                row=row, column=index, value=neutralise(_cell_value(column.key, member, shares))
            )
            if column.key in TEXT_KEYS:
                cell.number_format = "@"
            elif column.key == "birth_date":
                cell.number_format = "yyyy-mm-dd"
    out = BytesIO()
    book.save(out)
    return out.getvalue(), len(people), start


def member_list_workbook(union: Union, *, today: datetime.date) -> tuple[bytes, int]:
    """The unit's members with their cover, one row each: (the .xlsx, the number of members).
    Every text cell is neutralised; dates are dates and shares are numbers."""
    headers = [
        _("Name"),
        _("ID number"),
        _("Gender"),
        _("Birth date"),
        _("Phone"),
        _("Employment type"),
        _("Occupation"),
        _("In medical insurance"),
        _("High-risk industry"),
        _("Bank card"),
        _("Cover in force today"),
        _("All cover"),
    ]
    members = list(Member.objects.filter(union=union).order_by("name", "pk"))
    cover: dict[int, list[Enrollment]] = {}
    for enrollment in (
        Enrollment.objects.filter(union=union, member__in=[m.pk for m in members])
        .select_related("plan")
        .order_by("-coverage_start", "plan__name")
    ):
        cover.setdefault(enrollment.member_id, []).append(enrollment)

    def describe(e: Enrollment) -> str:
        return _("%(plan)s %(start)s to %(end)s, %(shares)s shares, %(status)s") % {
            "plan": e.plan.display_name,
            "start": f"{e.coverage_start:%Y-%m-%d}",
            "end": f"{e.coverage_end:%Y-%m-%d}",
            "shares": e.shares,
            "status": e.get_status_display(),
        }

    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_("Members")))
    sheet.append([neutralise(str(h)) for h in headers])
    for member in members:
        held = cover.get(member.pk, [])
        in_force = [
            e
            for e in held
            if e.status == Enrollment.Status.ACTIVE and e.coverage_start <= today <= e.coverage_end
        ]
        sheet.append(
            [
                neutralise(member.name),
                neutralise(member.id_number),
                neutralise(str(member.get_gender_display())),
                member.birth_date,
                neutralise(member.phone),
                neutralise(member.employment_type),
                neutralise(member.occupation),
                neutralise(_yes_no(member.medical_insurance)),
                neutralise(_yes_no(member.high_risk)),
                neutralise(member.bank_card),
                neutralise("；".join(describe(e) for e in in_force)),
                neutralise("；".join(describe(e) for e in held)),
            ]
        )
    out = BytesIO()
    book.save(out)
    return out.getvalue(), len(members)


def last_funding(union: Union, plan: Plan) -> dict | None:
    """The funding choice and split of the unit's latest roster of the plan (None: none yet)."""
    roster = (
        Roster.objects.filter(union=union, plan=plan)
        .exclude(funding={})
        .order_by("-created_at", "-pk")
        .only("funding")
        .first()
    )
    if roster is None or not roster.funding.get("percent"):
        return None
    return {"mode": roster.funding.get("mode"), "percent": roster.funding["percent"]}


def upload_plan_context(user: User, plan) -> dict:
    """What the upload page shows about the chosen plan for the clerk's unit."""
    version = published_version(plan) if plan else None
    union = user.union
    start = latest_start(union, plan) if plan and union else None
    return {
        "plan": plan,
        "rules": version.parsed_rules if version else None,
        "renewal_unit": union if start else None,
        "renewal_start": start,
        "remembered": last_funding(union, plan) if plan and union else None,
    }
