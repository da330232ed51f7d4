"""The audit log for auditors: search it within their scope, and export what they found."""

from __future__ import annotations

import datetime
from io import BytesIO

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from mutualaid.auditlog import audit
from mutualaid.auditlog.models import AuditEntry
from mutualaid.crypto import digest
from mutualaid.exports import neutralise
from mutualaid.forms import day_in_range
from organisation.decorators import role_required
from organisation.models import Member, User
from organisation.selectors import scope_filter
from plans.engine.identity import IdNumberError, normalise_id_number

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AUDIT_ROLES = (User.Role.AUDITOR,)
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
# Entries that belong to no union: changes to the plans every office may use.
SHARED_TYPES = ("plan", "plan_version")


class AuditSearchForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("All actions"))] + list(AuditEntry.Action.choices),
    )
    record_type = forms.ChoiceField(
        label=_("Record type"),
        required=False,
        choices=[("", _("All records"))] + list(audit.RECORD_TYPES.items()),
    )
    record = forms.CharField(
        label=_("Record"),
        required=False,
        max_length=60,
        help_text=_("A claim or batch number, a member's full ID number, or part of a name."),
    )
    ip = forms.GenericIPAddressField(label=_("IP address"), required=False)

    # A date beyond the portal's range (0001-01-01, 9999-12-31) is a message beside the field,
    # not a day the search could turn into a time.
    def clean_date_from(self):
        return day_in_range(self.cleaned_data.get("date_from"))

    def clean_date_to(self):
        return day_in_range(self.cleaned_data.get("date_to"))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


def visible_entries(user: User) -> QuerySet[AuditEntry]:
    """The auditor's office and everything below it, and changes to the shared plans."""
    if user.is_superuser and user.union_id is None:
        return AuditEntry.objects.all()
    return AuditEntry.objects.filter(
        scope_filter(user) | Q(union__isnull=True, object_type__in=SHARED_TYPES)
    )


def _record_filter(text: str) -> Q:
    """A claim or batch number, a member's ID number (found through its keyed digest, since the
    number itself is stored encrypted), or a fragment of the record's label."""
    from claims.models import Claim, PaymentBatch

    condition = Q(object_label__icontains=text)
    try:
        number = normalise_id_number(text)
    except IdNumberError:
        number = ""
    if len(number) == 18:
        member = Member.objects.filter(id_number_digest=digest(number)).only("pk").first()
        if member is not None:
            condition |= Q(trail=f"member:{member.pk}")
    claim = Claim.objects.filter(number=text.strip()).only("pk").first()
    if claim is not None:
        condition |= Q(trail=f"claim:{claim.pk}")
    batch = PaymentBatch.objects.filter(number=text.strip()).only("pk").first()
    if batch is not None:
        condition |= Q(trail=f"batch:{batch.pk}")
    return condition


def _search(request: HttpRequest) -> tuple[AuditSearchForm, QuerySet[AuditEntry]]:
    form = AuditSearchForm(request.GET or None)
    entries = visible_entries(request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        zone = timezone.get_current_timezone()
        if data["date_from"]:
            start = datetime.datetime.combine(data["date_from"], datetime.time.min, zone)
            entries = entries.filter(at__gte=start)
        if data["date_to"]:
            end = datetime.datetime.combine(
                data["date_to"] + datetime.timedelta(days=1), datetime.time.min, zone
            )
            entries = entries.filter(at__lt=end)
        if data["user"]:
            entries = entries.filter(actor_username__icontains=data["user"].strip())
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["record_type"]:
            entries = entries.filter(object_type=data["record_type"])
        if data["record"].strip():
            entries = entries.filter(_record_filter(data["record"].strip()))
        if data["ip"]:
            entries = entries.filter(ip=data["ip"])
    elif form.is_bound:
        entries = entries.none()
    return form, entries


@role_required(*AUDIT_ROLES)
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form, entries = _search(request)
    page = Paginator(entries.select_related("actor"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "oversight/audit_log.html",
        {
            "form": form,
            "page": page,
            "rows": audit.entries_for_display(page.object_list),
            "query": query.urlencode(),
            "export_limit": EXPORT_LIMIT,
        },
    )


HEADERS = (
    _("Time"),
    _("User"),
    _("Role"),
    _("Source"),
    _("IP address"),
    _("Action"),
    _("Record type"),
    _("Record"),
    _("Records"),
    _("Details"),
    _("Changes"),
)


COLUMN_WIDTHS = (20, 14, 14, 10, 16, 14, 12, 36, 8, 44, 60)


def _changes_text(row: audit.Row) -> str:
    parts = []
    for change in row.changes:
        if change.hidden:
            parts.append(f"{change.field}: {_('(changed)')}")
        elif change.old is None:
            parts.append(f"{change.field}: {change.new}")
        else:
            parts.append(f"{change.field}: {change.old} → {change.new}")
    return "; ".join(parts)


@role_required(*AUDIT_ROLES)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The entries the search found, newest first, as a workbook (at most EXPORT_LIMIT)."""
    _form, entries = _search(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_("Audit log")))
    bold = Font(bold=True)
    for letter, width in zip("ABCDEFGHIJK", COLUMN_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    roles = dict(User.Role.choices)
    local = timezone.get_current_timezone()
    written = 0
    for start in range(0, EXPORT_LIMIT, 2000):
        chunk = list(entries[start : start + 2000])
        for row in audit.entries_for_display(chunk):
            entry = row.entry
            sheet.append(
                [
                    entry.at.astimezone(local).replace(tzinfo=None),
                    neutralise(entry.actor_username),
                    str(roles.get(entry.actor_role, entry.actor_role)),
                    entry.get_source_display(),
                    entry.ip or "",
                    entry.get_action_display(),
                    row.record_type,
                    neutralise(entry.object_label),
                    entry.count,
                    neutralise(row.description),
                    neutralise(_changes_text(row)),
                ]
            )
        written += len(chunk)
        if len(chunk) < 2000:
            break
    audit.record(
        audit.Action.DOWNLOAD,
        object_type="audit_log",
        count=written,
        note="audit_exported",
        union_id=request.user.union_id,
    )
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.xlsx"'
    return response
