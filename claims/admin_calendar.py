"""Admin pages for the official holidays and make-up working days that due dates count
(``claims.workdays``).

Importing this module registers ``OfficialDay`` and ``HolidayYear`` with the default admin site
(``claims/admin.py`` imports it).

* A *holiday year* page is where a year is entered as a whole: two text boxes take the year's
  holidays and make-up working days as they appear in the State Council notice, one date or range
  per line, and saving replaces that year's entries; ticking “all holidays entered” makes the
  year's due dates official instead of weekends only.
* The *official day* list shows, filters (by year, by kind) and edits single entries. An entry
  for a year the calendar package covers overrides the package for that date, on purpose (a local
  change); the page warns when that happens.
* A make-up working day must be a Saturday or Sunday. A holiday may fall on a weekend (notices
  list whole ranges such as 1–7 October), so only the working-day-on-a-weekday case is refused.
* Every change that can move a due date (an entry added, changed or deleted, a year marked
  complete or not, a complete year deleted) counts the stored due dates of the open claims
  through that year again, in the same transaction (``claims.holidays.recompute_due_dates``),
  and says how many changed.
"""

from __future__ import annotations

import datetime
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from claims.holidays import recompute_due_dates
from claims.models import HolidayYear, OfficialDay
from claims.workdays import (
    is_weekend,
    official_day_error,
    package_covers,
    weekday_name,
)

ONE_DAY = datetime.timedelta(days=1)
NAME_MAX = OfficialDay._meta.get_field("name").max_length

_DATE = r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
_LINE = re.compile(rf"^{_DATE}(?:\s*(?:\.\.|~|～|至|–|—|-)\s*{_DATE})?(?:\s+(.*))?$")


def recompute_and_tell(modeladmin: admin.ModelAdmin, request, years) -> None:
    """Count the open claims' due dates through ``years`` again and tell the user."""
    years = sorted(set(years))
    if not years:
        return
    result = recompute_due_dates(years, actor=request.user)
    modeladmin.message_user(
        request,
        gettext(
            "Due dates counted again for the holidays of %(years)s: %(changed)d of %(examined)d "
            "open claims changed."
        )
        % {
            "years": "、".join(str(y) for y in years),
            "changed": result.changed,
            "examined": result.examined,
        },
    )


# Single official days ------------------------------------------------------------------------


class OfficialDayForm(forms.ModelForm):
    class Meta:
        model = OfficialDay
        fields = ("date", "is_workday", "name")
        help_texts = {
            "is_workday": _(
                "Ticked: a Saturday or Sunday worked in lieu (调休上班). "
                "Unticked: a public holiday."
            ),
        }

    def clean(self):
        cleaned = super().clean()
        day = cleaned.get("date")
        if day is not None:
            error = official_day_error(day, bool(cleaned.get("is_workday")))
            if error:
                self.add_error("is_workday", error)
        return cleaned


class YearListFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = OfficialDay.objects.dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


@admin.register(OfficialDay)
class OfficialDayAdmin(admin.ModelAdmin):
    form = OfficialDayForm
    list_display = ("date", "weekday", "is_workday", "name", "overrides_package")
    list_filter = (YearListFilter, "is_workday")
    search_fields = ("name",)
    ordering = ("date",)
    list_per_page = 100

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return weekday_name(obj.date)

    @admin.display(description=_("overrides the calendar package"), boolean=True)
    def overrides_package(self, obj):
        return package_covers(obj.date.year)

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            before = OfficialDay.objects.filter(pk=obj.pk).values_list("date", flat=True).first()
        super().save_model(request, obj, form, change)
        if not change or {"date", "is_workday"} & set(form.changed_data):
            recompute_and_tell(
                self, request, {obj.date.year} | ({before.year} if before else set())
            )
        if package_covers(obj.date.year):
            messages.warning(
                request,
                gettext(
                    "The calendar package already knows %(year)s; this entry overrides it for "
                    "%(date)s. Delete the entry to go back to the package."
                )
                % {"year": obj.date.year, "date": obj.date.isoformat()},
            )

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        recompute_and_tell(self, request, {obj.date.year})

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            years = {day.year for day in queryset.values_list("date", flat=True)}
            super().delete_queryset(request, queryset)
            recompute_and_tell(self, request, years)


# A whole year ---------------------------------------------------------------------------------


def parse_days(text: str, *, year: int, is_workday: bool) -> list[tuple[datetime.date, str]]:
    """The (date, name) pairs of a text box: one ``YYYY-MM-DD [name]`` or
    ``YYYY-MM-DD..YYYY-MM-DD [name]`` per line (``~``, ``至`` and dashes also separate a range);
    blank lines and lines starting with ``#`` are ignored.

    Days of a holiday range that fall outside ``year`` are dropped when they are weekends (the
    New Year holiday can start on the Saturday before 1 January) and refused otherwise.
    Raises ValidationError listing every bad line."""
    days: list[tuple[datetime.date, str]] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            errors.append(
                gettext("Line %(n)d: “%(line)s” does not start with a date like 2027-10-01.")
                % {"n": number, "line": line}
            )
            continue
        parts = match.groups()
        name = (parts[6] or "").strip()
        try:
            first = datetime.date(*map(int, parts[0:3]))
            last = datetime.date(*map(int, parts[3:6])) if parts[3] else first
        except ValueError:
            errors.append(gettext("Line %(n)d: no such date.") % {"n": number})
            continue
        if last < first:
            errors.append(gettext("Line %(n)d: the range ends before it starts.") % {"n": number})
            continue
        if (last - first).days > 31:
            errors.append(
                gettext("Line %(n)d: a range of more than a month is surely a typo.")
                % {"n": number}
            )
            continue
        if len(name) > NAME_MAX:
            errors.append(
                gettext("Line %(n)d: the name is longer than %(max)d characters.")
                % {"n": number, "max": NAME_MAX}
            )
            continue
        day = first
        while day <= last:
            if day.year != year:
                if not (first != last and is_weekend(day) and not is_workday):
                    errors.append(
                        gettext(
                            "Line %(n)d: %(date)s is not in %(year)d; enter it under %(other)d."
                        )
                        % {"n": number, "date": day.isoformat(), "year": year, "other": day.year}
                    )
            else:
                error = official_day_error(day, is_workday)
                if error:
                    errors.append(gettext("Line %(n)d: ") % {"n": number} + error)
                else:
                    days.append((day, name))
            day += ONE_DAY
    if errors:
        raise ValidationError(errors)
    return days


def format_days(rows: list[tuple[datetime.date, str]]) -> str:
    """The text-box form of entries: runs of consecutive dates with one name become a range."""
    lines: list[str] = []
    runs: list[list] = []  # [first, last, name]
    for day, name in sorted(rows):
        if runs and runs[-1][1] + ONE_DAY == day and runs[-1][2] == name:
            runs[-1][1] = day
        else:
            runs.append([day, day, name])
    for first, last, name in runs:
        dates = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
        lines.append(f"{dates} {name}".rstrip())
    return "\n".join(lines)


class HolidayYearForm(forms.ModelForm):
    holidays = forms.CharField(
        label=_("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "cols": 60}),
        help_text=_(
            "One per line: a date or a range, then the name, e.g. “2027-10-01..2027-10-07 "
            "国庆节” or “2027-01-01 元旦”. Every day of a range is entered, weekends included."
        ),
    )
    makeup_days = forms.CharField(
        label=_("Make-up working days"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text=_(
            "One Saturday or Sunday worked in lieu (调休上班) per line, e.g. “2027-09-26 "
            "国庆节调休”."
        ),
    )

    # False when the user may not add, change and delete OfficialDay rows: the year is then
    # edited without its entries (declared fields would otherwise come back empty and wipe them).
    edit_days = True

    class Meta:
        model = HolidayYear
        fields = ("year", "complete")
        help_texts = {
            "complete": _(
                "Tick once every holiday and make-up day of the year is entered: due dates in "
                "this year then count them instead of weekends only."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered_days: dict[datetime.date, tuple[bool, str]] | None = None
        if not self.edit_days:
            del self.fields["holidays"], self.fields["makeup_days"]
        elif self.instance.pk:
            rows = OfficialDay.objects.filter(date__year=self.instance.year).values_list(
                "date", "is_workday", "name"
            )
            self.initial["holidays"] = format_days([(d, n) for d, w, n in rows if not w])
            self.initial["makeup_days"] = format_days([(d, n) for d, w, n in rows if w])

    def _year(self) -> int | None:
        if "year" in self.fields:
            return self.cleaned_data.get("year")
        return self.instance.year

    def clean_year(self):
        year = self.cleaned_data["year"]
        if not 1900 <= year <= 2100:
            raise ValidationError(_("Enter a year between 1900 and 2100."))
        return year

    def clean(self):
        cleaned = super().clean()
        year = self._year()
        if year is None or "holidays" not in self.fields:
            return cleaned
        entered: dict[datetime.date, tuple[bool, str]] = {}
        for field, is_workday in (("holidays", False), ("makeup_days", True)):
            try:
                days = parse_days(cleaned.get(field) or "", year=year, is_workday=is_workday)
            except ValidationError as exc:
                self.add_error(field, exc)
                continue
            for day, name in days:
                previous = entered.get(day)
                if previous is not None and previous[0] != is_workday:
                    self.add_error(
                        field,
                        gettext("%(date)s is both a holiday and a make-up working day.")
                        % {"date": day.isoformat()},
                    )
                entered[day] = (is_workday, name)
        if self.errors:
            return cleaned
        has_holiday = any(not w and not is_weekend(d) for d, (w, _n) in entered.items())
        if cleaned.get("complete") and not has_holiday and not package_covers(year):
            self.add_error(
                "complete",
                gettext(
                    "No holiday on a weekday is entered for %(year)d; enter the holidays before "
                    "marking the year complete."
                )
                % {"year": year},
            )
        self.entered_days = entered
        return cleaned

    def save_days(self) -> tuple[int, int]:
        """Make the year's OfficialDay rows exactly the entered ones; (written, deleted)."""
        if self.entered_days is None:
            return (0, 0)
        year = self.instance.year
        entered = self.entered_days
        existing = {row.date: row for row in OfficialDay.objects.filter(date__year=year).order_by()}
        stale = [row.pk for day, row in existing.items() if day not in entered]
        deleted = OfficialDay.objects.filter(pk__in=stale).delete()[0] if stale else 0
        new, changed = [], []
        for day, (is_workday, name) in entered.items():
            row = existing.get(day)
            if row is None:
                new.append(OfficialDay(date=day, is_workday=is_workday, name=name))
            elif (row.is_workday, row.name) != (is_workday, name):
                row.is_workday, row.name = is_workday, name
                changed.append(row)
        OfficialDay.objects.bulk_create(new)
        OfficialDay.objects.bulk_update(changed, ["is_workday", "name"])
        return (len(new) + len(changed), deleted)


def _entries_in_year(**filters) -> Coalesce:
    counted = (
        OfficialDay.objects.filter(date__year=OuterRef("year"), **filters)
        .order_by()
        .annotate(group=Value(1))
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@admin.register(HolidayYear)
class HolidayYearAdmin(admin.ModelAdmin):
    form = HolidayYearForm
    list_display = (
        "year",
        "complete",
        "package_covered",
        "holiday_count",
        "makeup_count",
        "entries_link",
    )
    list_filter = ("complete",)
    search_fields = ("year",)
    ordering = ("-year",)
    actions = ("mark_complete", "mark_incomplete")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                holiday_count=_entries_in_year(is_workday=False),
                makeup_count=_entries_in_year(is_workday=True),
            )
        )

    def _can_edit_days(self, request) -> bool:
        return all(
            request.user.has_perm(f"claims.{action}_officialday")
            for action in ("add", "change", "delete")
        )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not self._can_edit_days(request):
            form = type(form.__name__, (form,), {"edit_days": False})
        return form

    def get_readonly_fields(self, request, obj=None):
        # The entries belong to the year by their dates; renumbering the year would orphan them.
        return ("year",) if obj is not None else ()

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ("year", "complete")})]
        if self._can_edit_days(request):
            fieldsets.append(
                (
                    _("Holidays and make-up working days"),
                    {
                        "fields": ("holidays", "makeup_days"),
                        "description": _(
                            "Copy them from the State Council notice. Saving replaces this "
                            "year's entries with these lines; lines starting with # are ignored."
                        ),
                    },
                )
            )
        return fieldsets

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        written, deleted = form.save_days()
        if not change or written or deleted or "complete" in form.changed_data:
            recompute_and_tell(self, request, {form.instance.year})
        if written or deleted:
            self.message_user(
                request,
                gettext("%(year)s: %(written)d days written, %(deleted)d removed.")
                % {"year": form.instance.year, "written": written, "deleted": deleted},
            )
        if package_covers(form.instance.year) and form.entered_days:
            self.message_user(
                request,
                gettext(
                    "The calendar package already knows %(year)s; these entries override it "
                    "for their dates."
                )
                % {"year": form.instance.year},
                messages.WARNING,
            )

    def delete_model(self, request, obj):
        # The year's entries stay (they belong to their dates); only completeness goes.
        super().delete_model(request, obj)
        if obj.complete:
            recompute_and_tell(self, request, {obj.year})

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            years = set(queryset.filter(complete=True).values_list("year", flat=True))
            super().delete_queryset(request, queryset)
            recompute_and_tell(self, request, years)

    @admin.display(description=_("known to the calendar package"), boolean=True)
    def package_covered(self, obj):
        return package_covers(obj.year)

    @admin.display(description=_("holidays"), ordering="holiday_count")
    def holiday_count(self, obj):
        return obj.holiday_count

    @admin.display(description=_("make-up days"), ordering="makeup_count")
    def makeup_count(self, obj):
        return obj.makeup_count

    @admin.display(description=_("entries"))
    def entries_link(self, obj):
        url = reverse("admin:claims_officialday_changelist", current_app=self.admin_site.name)
        return format_html('<a href="{}?year={}">{}</a>', url, obj.year, gettext("list"))

    @admin.action(description=_("Mark as complete (all holidays entered)"))
    @transaction.atomic
    def mark_complete(self, request, queryset):
        years = dict(queryset.filter(complete=False).values_list("pk", "year"))
        holidays = OfficialDay.objects.filter(
            is_workday=False, date__year__in=list(years.values())
        ).values_list("date", flat=True)
        with_holiday = {day.year for day in holidays if not is_weekend(day)}
        ready = [pk for pk, y in years.items() if y in with_holiday or package_covers(y)]
        refused = sorted(
            y for y in years.values() if y not in with_holiday and not package_covers(y)
        )
        marked = HolidayYear.objects.filter(pk__in=ready).update(complete=True)
        if marked:
            self.message_user(
                request,
                ngettext("%d year marked complete.", "%d years marked complete.", marked) % marked,
            )
            recompute_and_tell(self, request, [years[pk] for pk in ready])
        if refused:
            self.message_user(
                request,
                gettext("Not marked, no weekday holiday entered yet: %(years)s.")
                % {"years": ", ".join(str(y) for y in refused)},
                messages.WARNING,
            )

    @admin.action(description=_("Mark as not complete (due dates count weekends only)"))
    @transaction.atomic
    def mark_incomplete(self, request, queryset):
        years = dict(queryset.filter(complete=True).values_list("pk", "year"))
        marked = HolidayYear.objects.filter(pk__in=list(years)).update(complete=False)
        self.message_user(
            request,
            ngettext("%d year marked not complete.", "%d years marked not complete.", marked)
            % marked,
        )
        recompute_and_tell(self, request, years.values())
