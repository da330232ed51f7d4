"""The audit log for auditors: search it within their scope, and export what they found."""

from __future__ import annotations

import datetime
import re
from io import BytesIO
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from mutualaid import searches
from mutualaid.auditlog import audit
from mutualaid.auditlog.models import AuditEntry
from mutualaid.crypto import digest
from mutualaid.exports import neutralise
from mutualaid.forms import day_in_range
from organisation.decorators import role_required
from organisation.models import Member, User
from organisation.selectors import scope_filter
from plans.engine.identity import IdNumberError, mask_id_number, normalise_id_number

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


def _record_filter(text: str, number_digest: str = "") -> Q:
    """A claim or batch number, a member's ID number (found through its keyed digest, since the
    number itself is stored encrypted), or a fragment of the record's label. A search kept under
    a token (see audit_log) brings the digest and shows only the masked number as its text."""
    from claims.models import Claim, PaymentBatch

    if number_digest:
        member = Member.objects.filter(id_number_digest=number_digest).only("pk").first()
        return Q(trail=f"member:{member.pk}") if member is not None else Q(pk__in=[])
    condition = Q(object_label__icontains=text)
    number = _whole_id_number(text)
    if number:
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


def _whole_id_number(text: str) -> str:
    try:
        number = normalise_id_number(text)
    except IdNumberError:
        return ""
    return number if re.fullmatch(r"\d{17}[\dX]", number) else ""


def _filtered(user: User, form: AuditSearchForm, number_digest: str = "") -> QuerySet[AuditEntry]:
    entries = visible_entries(user)
    if not form.is_bound:
        return entries
    if not form.is_valid():
        return entries.none()
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
    if number_digest or data["record"].strip():
        entries = entries.filter(_record_filter(data["record"].strip(), number_digest))
    if data["ip"]:
        entries = entries.filter(ip=data["ip"])
    return entries


class SearchGone(Exception):
    """The search's address names an ID number, or a kept search that has expired."""


def _search(request: HttpRequest) -> tuple[AuditSearchForm, QuerySet[AuditEntry], str]:
    """The search a GET asks for: the form's fields in the query string, or a search kept under a
    token (one that held an ID number); with the query string that asks for it again."""
    if searches.SEARCH_PARAM in request.GET:
        kept = searches.recall(request, "audit_log")
        if kept is None:
            raise SearchGone
        form = AuditSearchForm(kept["fields"])
        query = urlencode({searches.SEARCH_PARAM: request.GET[searches.SEARCH_PARAM]})
        return form, _filtered(request.user, form, kept["digest"]), query
    fields = request.GET.copy()
    fields.pop("page", None)
    if searches.any_holds_id_number(v for values in fields.lists() for v in values[1]):
        raise SearchGone
    form = AuditSearchForm(fields or None)
    return form, _filtered(request.user, form), fields.urlencode()


def _keep_search(request: HttpRequest, form: AuditSearchForm) -> HttpResponse:
    """After a valid POST: the search's address, under a token if the search holds an ID number
    (only its digest and masked form are kept), else in plain query parameters."""
    fields = {name: form.data.get(name, "") for name in form.fields}
    number = _whole_id_number(fields["record"])
    if number:
        fields["record"] = mask_id_number(number)
    if number or searches.any_holds_id_number(fields.values()):
        kept = {"fields": fields, "digest": digest(number) if number else ""}
        token = searches.keep(request, "audit_log", kept)
        return redirect(f"{request.path}?{urlencode({searches.SEARCH_PARAM: token})}")
    filled = {name: value for name, value in fields.items() if value}
    return redirect(f"{request.path}?{urlencode(filled)}" if filled else request.path)


def _gone(request: HttpRequest) -> HttpResponse:
    if searches.SEARCH_PARAM in request.GET:
        messages.info(request, _("That search has expired. Search again."))
    else:
        messages.warning(request, _("Search by ID number with the form on this page."))
    return redirect("oversight:audit_log")


@role_required(*AUDIT_ROLES)
@require_http_methods(["GET", "POST"])
def audit_log(request: HttpRequest) -> HttpResponse:
    """The search form is sent by POST, so an ID number typed into it never lands in an address
    (an access log, the browser's history); see mutualaid.searches."""
    if request.method == "POST":
        form = AuditSearchForm(request.POST)
        if form.is_valid():
            return _keep_search(request, form)
        entries, query = AuditEntry.objects.none(), ""
    else:
        try:
            form, entries, query = _search(request)
        except SearchGone:
            return _gone(request)
    page = Paginator(entries.select_related("actor"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "oversight/audit_log.html",
        {
            "form": form,
            "page": page,
            "rows": audit.entries_for_display(page.object_list),
            "query": query,
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
    try:
        _form, entries, _query = _search(request)
    except SearchGone:
        return _gone(request)
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
