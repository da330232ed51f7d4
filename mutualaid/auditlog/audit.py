"""The audit log: who did what to which record, when and from where.

Three ways in:

* Saves and deletes of the audited models (members, enrollments, rosters, claims and their
  documents and payouts, payment batches, plans and their versions, users, unions) are recorded
  by signal handlers, with the fields that changed. Personal values in those changes are masked;
  medical facts, plan rules and passwords are only said to have changed.
* Bulk statements that bypass ``save()`` (a roster import of 100,000 people, activating a roster's
  enrollments, closing a payment batch) call :func:`record_bulk` with what they touched.
* Views and downloads of personal data in full (an ID or bank number shown unmasked, a claim
  document, an annotated roster, a bank transfer file) call :func:`record` from the view.

Who and from where come from a context: the web request (set by :class:`AuditMiddleware`), or
:func:`acting` around work done by a Celery worker or a management command on someone's behalf.
An entry is written in the same transaction as the change it describes, so a change that rolls
back leaves no entry, and a change never lands without one.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualaid.auditlog.models import AuditEntry

Action = AuditEntry.Action
Source = AuditEntry.Source

LABEL_MAX = 200
VALUE_MAX = 120
HIDDEN = "(changed)"


@dataclass(frozen=True)
class _Context:
    source: str
    request: HttpRequest | None = None
    user: object | None = None


_context: ContextVar[_Context | None] = ContextVar("audit_context", default=None)


@contextlib.contextmanager
def acting(user: object | None, source: str = Source.WORKER) -> Iterator[None]:
    """Attribute what happens inside the block to ``user`` (None: the system itself)."""
    token = _context.set(_Context(source=source, user=user))
    try:
        yield
    finally:
        _context.reset(token)


class AuditMiddleware:
    """Binds each request to the audit context, so entries know who asked and from where."""

    def __init__(self, get_response: Callable[[HttpRequest], object]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        token = _context.set(_Context(source=Source.WEB, request=request))
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)


def _who(user: object | None = None, request: HttpRequest | None = None) -> dict:
    from mutualaid.security import client_ip

    context = _context.get()
    if request is None and context is not None:
        request = context.request
    if user is None:
        if request is not None:
            candidate = getattr(request, "user", None)
            user = candidate if candidate is not None and candidate.is_authenticated else None
        elif context is not None:
            user = context.user
    who: dict = {
        "source": context.source if context else (Source.WEB if request else Source.COMMAND),
    }
    if user is not None:
        who.update(actor=user, actor_username=user.get_username(), actor_role=user.role or "")
    if request is not None:
        who["source"] = Source.WEB
        who["ip"] = client_ip(request) or None
        who["user_agent"] = request.META.get("HTTP_USER_AGENT", "")[:200]
    return who


def record(
    action: str,
    *,
    obj: Model | None = None,
    object_type: str = "",
    object_id: object = "",
    label: str = "",
    union_id: int | None = None,
    trail: str = "",
    changes: dict | None = None,
    count: int = 1,
    note: str = "",
    params: dict | None = None,
    user: object | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Write one entry. With ``obj`` of an audited model, its type, label, union and trail are
    filled in from the model's description; explicit arguments win."""
    if obj is not None:
        spec = SPECS.get(type(obj))
        if spec is not None:
            object_type = object_type or spec.type
            label = label or spec.label(obj)
            union_id = union_id if union_id is not None else spec.union_id(obj)
            trail = trail or spec.trail(obj)
        object_id = object_id or obj.pk
    return AuditEntry.objects.create(
        **_who(user, request),
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_label=str(label)[:LABEL_MAX],
        union_id=union_id,
        trail=trail,
        changes=changes or {},
        count=count,
        note=str(note)[:300],
        params=params or {},
    )


def record_bulk(
    *,
    object_type: str,
    count: int,
    note: str,
    union_id: int | None = None,
    trail: str = "",
    label: str = "",
    changes: dict | None = None,
    params: dict | None = None,
    user: object | None = None,
) -> AuditEntry | None:
    """One entry for a statement that changed ``count`` rows at once (nothing when none)."""
    if count <= 0:
        return None
    return record(
        Action.BULK,
        object_type=object_type,
        label=label,
        union_id=union_id,
        trail=trail,
        changes=changes,
        count=count,
        note=note,
        params=params,
        user=user,
    )


# What happened, by the key stored in AuditEntry.note; shown in the reader's language.
NOTES = {
    "roster_enrolled": _("Enrolled from roster #%(roster)s"),
    "roster_members": _("Added or updated from roster #%(roster)s"),
    "roster_released": _("Cancelled with roster #%(roster)s"),
    "roster_activated": _("Cover started on payment of roster #%(roster)s"),
    "batch_added": _("Put into payment batch %(batch)s"),
    "batch_paid": _("Paid in batch %(batch)s"),
    "batch_released": _("Released from cancelled batch %(batch)s"),
    "id_number_shown": _("ID number shown in full"),
    "bank_card_shown": _("Bank card number shown in full"),
    "payee_account_shown": _("Payee account shown in full"),
    "claim_form_bank_card": _("Bank card on file filled into a claim report form"),
    "reveal_limit_minute": _("Not shown in full: the limit of %(limit)s numbers a minute reached"),
    "reveal_limit_day": _("Not shown in full: the limit of %(limit)s numbers in 24 hours reached"),
    "document_opened": _("Claim document opened: %(requirement)s"),
    "claim_notice": _("Decision notice downloaded"),
    "roster_annotated": _("Annotated roster workbook downloaded (full ID numbers)"),
    "roster_fee_notice": _("Fee notice downloaded"),
    "roster_certificates": _("Certificate list downloaded"),
    "renewal_workbook": _(
        "Renewal workbook downloaded (%(count)s people with ID, phone and bank numbers in full)"
    ),
    "member_list_export": _(
        "Member list downloaded (%(count)s people with ID, phone and bank numbers in full)"
    ),
    "bank_file": _("Bank transfer file downloaded (%(count)s full bank card numbers)"),
    "notice_bundle": _("Decision notices bundle downloaded"),
    "drafts_purged": _("Unsubmitted roster drafts deleted after %(days)s days"),
    "roster_files_purged": _("Roster workbooks deleted %(days)s days after the roster closed"),
    "documents_purged": _("Claim documents deleted %(days)s days after the claim closed"),
    "bundles_purged": _("Notice bundles deleted after %(days)s days"),
    "audit_exported": _("Audit log exported (%(count)s entries)"),
    "subsidy_statement_pdf": _("Subsidy statement downloaded (PDF)"),
    "subsidy_statement_xlsx": _("Subsidy statement downloaded (workbook)"),
    "job_retried": _("Failed background work tried again: %(work)s"),
    "due_dates_recomputed": _(
        "Due dates of open claims counted again after the holidays of %(years)s were entered "
        "or changed: %(count)s claims changed"
    ),
}


_NOTE_KEY = re.compile(r"[a-z]+(?:_[a-z0-9]+)+")


def describe(entry: AuditEntry) -> str:
    """The entry's note in the reader's language."""
    text = NOTES.get(entry.note)
    if text is None:
        # A key this version no longer knows is not shown as it is stored; free text is.
        return "" if _NOTE_KEY.fullmatch(entry.note or "") else entry.note
    try:
        return str(text) % {"count": entry.count, **entry.params}
    except (KeyError, TypeError, ValueError):
        return str(text)


# --- what is recorded about each model ----------------------------------------------------------


@dataclass
class Spec:
    type: str
    label: Callable[[Model], str]
    union_id: Callable[[Model], int | None]
    trail: Callable[[Model], str]
    # Fields shown masked in changes, by their masking function.
    masked: dict[str, Callable[[str], str]] = field(default_factory=dict)
    # Fields whose values never reach the log; a change is noted as "(changed)".
    hidden: frozenset[str] = frozenset()
    # Bookkeeping fields: a save that changes only these is not an event.
    ignored: frozenset[str] = frozenset()
    # The fields a creation records (the rest is in the record itself).
    created: tuple[str, ...] = ()
    # How a stored value reads, by field, for values that are codes without choices (a benefit,
    # a document): called with the value and the entry, at display time.
    values: dict[str, Callable[[object, AuditEntry], object]] = field(default_factory=dict)
    # The record's name as a reader sees it, in the reader's language (the stored label is the
    # fallback once the record is gone).
    display_label: Callable[[Model], str] | None = None


SPECS: dict[type[Model], Spec] = {}

BOOKKEEPING = frozenset({"updated_at", "created_at"})


def _simple(value: object) -> object:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "name") and not isinstance(value, str):  # a FieldFile
        return value.name or ""
    text = str(value)
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def _shown(spec: Spec, name: str, value: object) -> object:
    if name in spec.masked:
        return spec.masked[name](value) if value else ""
    return _simple(value)


def _values(instance: Model, names: list[str]) -> dict[str, object]:
    return {name: getattr(instance, name) for name in names}


def _tracked(spec: Spec, instance: Model, update_fields) -> list[str]:
    names = [
        f.attname
        for f in instance._meta.concrete_fields
        if not f.primary_key and f.attname not in spec.ignored and f.name not in spec.ignored
    ]
    if update_fields is not None:
        wanted = set(update_fields)
        names = [n for n in names if n in wanted or n.removesuffix("_id") in wanted]
    return names


def _on_pre_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    spec = SPECS.get(sender)
    if spec is None or raw or instance._state.adding or instance.pk is None:
        return
    names = _tracked(spec, instance, update_fields)
    if not names:
        instance._audit_before = None
        return
    instance._audit_before = (
        sender._base_manager.using(instance._state.db or "default")
        .filter(pk=instance.pk)
        .values(*names)
        .first()
    )


def _diff(spec: Spec, before: dict, instance: Model) -> dict:
    changes = {}
    for name, old in before.items():
        new = getattr(instance, name)
        if old == new or _simple(old) == _simple(new) and not isinstance(old, dict | list):
            continue
        key = name.removesuffix("_id") if name.endswith("_id") else name
        if name in spec.hidden:
            changes[key] = HIDDEN
        else:
            changes[key] = [_shown(spec, name, old), _shown(spec, name, new)]
    return changes


def _on_post_save(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    spec = SPECS.get(sender)
    if spec is None or raw:
        return
    if created:
        names = [instance._meta.get_field(name).attname for name in spec.created]
        changes = {
            name.removesuffix("_id") if name.endswith("_id") else name: _shown(spec, name, value)
            for name, value in _values(instance, names).items()
            if value not in (None, "", {}, []) and name not in spec.hidden
        }
        record(Action.CREATE, obj=instance, changes=changes)
        return
    before = getattr(instance, "_audit_before", None)
    instance._audit_before = None
    if before is None:
        # The row was not there a moment ago (or only bookkeeping changed): nothing to say.
        return
    changes = _diff(spec, before, instance)
    if changes:
        record(Action.UPDATE, obj=instance, changes=changes)


def _on_post_delete(sender, instance, **kwargs) -> None:
    if sender in SPECS:
        record(Action.DELETE, obj=instance)


def register(model: type[Model], spec: Spec) -> None:
    SPECS[model] = spec
    uid = f"audit-{model._meta.label_lower}"
    pre_save.connect(_on_pre_save, sender=model, dispatch_uid=uid + "-pre")
    post_save.connect(_on_post_save, sender=model, dispatch_uid=uid + "-post")
    post_delete.connect(_on_post_delete, sender=model, dispatch_uid=uid + "-delete")


def trail(kind: str, attname: str = "pk") -> Callable[[Model], str]:
    return lambda obj: f"{kind}:{getattr(obj, attname)}"


def attr(name: str) -> Callable[[Model], int | None]:
    return lambda obj: getattr(obj, name)


def _on_login(sender, request, user, **kwargs) -> None:
    record(Action.LOGIN, obj=user, request=request, user=user)


def _on_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(Action.LOGOUT, obj=user, request=request, user=user)


def _on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()  # noqa: N806
    username = str(credentials.get("username", ""))[:150]
    known = User.objects.filter(username=username).only("pk", "union_id").first()
    record(
        Action.LOGIN_FAILED,
        object_type="user",
        object_id=known.pk if known else "",
        label=username,
        union_id=known.union_id if known else None,
        trail=f"user:{known.pk}" if known else "",
        request=request,
    )


_task_tokens: dict[str, object] = {}


def _on_task_start(task_id=None, **kwargs) -> None:
    _task_tokens[task_id] = _context.set(_Context(source=Source.WORKER))


def _on_task_end(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _context.reset(token)


def register_all() -> None:
    """Called once from the audit log app's ready(): sign-ins, sign-outs and worker tasks.

    Each app registers its own models (and what to keep of them) from its ready(), through
    :func:`register`; this module knows none of them.
    """
    from celery.signals import task_postrun, task_prerun
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

    user_logged_in.connect(_on_login, dispatch_uid="audit-login")
    user_logged_out.connect(_on_logout, dispatch_uid="audit-logout")
    user_login_failed.connect(_on_login_failed, dispatch_uid="audit-login-failed")
    task_prerun.connect(_on_task_start, dispatch_uid="audit-task-start")
    task_postrun.connect(_on_task_end, dispatch_uid="audit-task-end")


# --- reading the log -----------------------------------------------------------------------------

RECORD_TYPES = {
    "member": _("Member"),
    "enrollment": _("Enrollment"),
    "roster": _("Roster"),
    "claim": _("Claim"),
    "claim_document": _("Claim document"),
    "payout": _("Payout"),
    "payment_batch": _("Payment batch"),
    "transfer": _("Bank transfer"),
    "notice_bundle": _("Notice bundle"),
    "plan": _("Plan"),
    "plan_version": _("Plan version"),
    "user": _("User"),
    "union": _("Union"),
    "job": _("Background work"),
    "receipt": _("Receipt"),
    "subsidy_statement": _("Subsidy statement"),
    "office_bank_account": _("Office bank account"),
    "headcount_proposal": _("Headcount proposal"),
}


@dataclass(frozen=True)
class Change:
    field: str
    old: object
    new: object
    hidden: bool = False


@dataclass(frozen=True)
class Row:
    entry: AuditEntry
    record_type: str
    description: str
    changes: list[Change]
    label: str = ""


def _field(object_type: str, name: str):
    model = next((m for m, spec in SPECS.items() if spec.type == object_type), None)
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a field removed since the entry was written
        return None


# Labels for fields whose models give them none a reader would understand.
FIELD_LABELS = {
    "due_basis": _("due date counted in"),
    "size": _("size"),
    "file_size": _("size"),
    "original_name": _("file name"),
    "kind": _("kind"),
    "amount": _("amount"),
    "total": _("total"),
    "status": _("status"),
    "payee_name": _("payee"),
    "payee_account": _("payee account"),
    "notice": _("decision notice file"),
    "file": _("uploaded file"),
    "annotated": _("checked workbook"),
    "fee_notice": _("fee notice file"),
    "certificates": _("certificate list file"),
    "checked_at": _("checked on"),
    "submitted_at": _("submitted on"),
    "exported_at": _("exported to the bank on"),
    "paid_at": _("paid on"),
    "paid_by": _("payment confirmed by"),
    "returned_at": _("returned on"),
    "returned_by": _("return recorded by"),
    "created_by": _("made by"),
    "updated_by": _("changed by"),
    "uploaded_by": _("uploaded by"),
    "granted_by": _("granted by"),
    "rows_total": _("rows"),
    "rows_checked": _("rows checked"),
    "rows_valid": _("rows without errors"),
    "error_count": _("errors"),
    "warning_count": _("warnings"),
    "sheet_name": _("worksheet"),
    "header_row": _("header row"),
    "check_token": _("check"),
    "content_type": _("file type"),
    "sha256": _("file fingerprint"),
    "reason": _("reason"),
    "claim": _("claim"),
    "batch": _("payment batch"),
    "payout": _("payout"),
    "office": _("office"),
    "path": _("place in the union tree"),
    "depth": _("level in the union tree"),
}

FILE_SET = _("generated")
FILE_REPLACED = _("replaced")
FILE_REMOVED = _("removed")
SIZE_FIELDS = frozenset({"size", "file_size"})


def _file_change(old: object, new: object) -> tuple[object, object]:
    """A stored file is said to be there, new or gone; its storage path is never shown."""
    if not old and new:
        return None, str(FILE_SET)
    if old and not new:
        return None, str(FILE_REMOVED)
    return None, str(FILE_REPLACED)


def file_size(value: object) -> object:
    """Bytes as a reader counts them: 980 B, 15.8 KB, 2.4 MB."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        return value
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _spec_for(object_type: str) -> tuple[type[Model] | None, Spec | None]:
    return next(((m, s) for m, s in SPECS.items() if s.type == object_type), (None, None))


class _Names:
    """Readable values for a page of entries: choice labels, and the names of related records
    (one query per record, remembered for the page)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[type[Model], object], str] = {}

    def record(self, model: type[Model], pk: object) -> Model | None:
        key = (model, ("record", pk))
        if key not in self.cache:
            self.cache[key] = model._base_manager.filter(pk=pk).first()
        return self.cache[key]

    def __call__(self, model_field, value: object) -> object:
        if value in (None, "") or model_field is None:
            return value
        if model_field.get_internal_type() == "DateTimeField" and isinstance(value, str):
            try:
                moment = datetime.datetime.fromisoformat(value)
            except ValueError:
                return value
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if model_field.is_relation and model_field.many_to_one:
            model = model_field.related_model
            key = (model, value)
            if key not in self.cache:
                found = model._base_manager.filter(pk=value).first()
                spec = SPECS.get(model)
                if found is None:
                    self.cache[key] = f"#{value}"
                elif spec is not None and spec.display_label is not None:
                    self.cache[key] = str(spec.display_label(found))
                else:
                    self.cache[key] = str(getattr(found, "display_name", "") or found)
            return self.cache[key]
        return value


def _label(name: str, model_field) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    if model_field is None:
        return name.replace("_", " ")
    return str(model_field.verbose_name)


def _changes(entry: AuditEntry, names: _Names) -> list[Change]:
    _model, spec = _spec_for(entry.object_type)
    rows = []
    for name, value in (entry.changes or {}).items():
        model_field = _field(entry.object_type, name)
        label = _label(name, model_field)
        render = spec.values.get(name) if spec is not None else None

        def shown(v, model_field=model_field, render=render, name=name):
            if v in (None, ""):
                return v
            if render is not None:
                return render(v, entry)
            if name in SIZE_FIELDS:
                return file_size(v)
            return names(model_field, v)

        is_file = model_field is not None and model_field.get_internal_type() in (
            "FileField",
            "ImageField",
        )
        if value == HIDDEN:
            rows.append(Change(label, None, None, hidden=True))
        elif is_file:
            old, new = value if isinstance(value, list) and len(value) == 2 else ("", value)
            rows.append(Change(label, *_file_change(old, new)))
        elif isinstance(value, list) and len(value) == 2:
            rows.append(Change(label, shown(value[0]), shown(value[1])))
        else:
            rows.append(Change(label, None, shown(value)))
    return rows


def _record_label(entry: AuditEntry, names: _Names) -> str:
    """The record's name in the reader's language, while the record is there."""
    model, spec = _spec_for(entry.object_type)
    if spec is None or spec.display_label is None or not entry.object_id:
        return entry.object_label
    try:
        found = names.record(model, entry.object_id)
    except (ValueError, TypeError):
        return entry.object_label
    if found is None:
        return entry.object_label
    return str(spec.display_label(found))


def entries_for_display(entries) -> list[Row]:
    names = _Names()
    return [
        Row(
            entry=entry,
            record_type=str(RECORD_TYPES.get(entry.object_type, entry.object_type)),
            description=describe(entry),
            changes=_changes(entry, names),
            label=_record_label(entry, names),
        )
        for entry in entries
    ]


TRAIL_ROLES = ("office_staff", "auditor")
TRAIL_SHOWN = 200


def trail_for(user, trails: list[str]) -> list[Row] | None:
    """What the log holds on one record (and the trails that belong with it), newest first, for
    office staff and auditors; None for everyone else, whose pages show no trail."""
    if not (user.is_superuser or user.role in TRAIL_ROLES):
        return None
    entries = AuditEntry.objects.filter(trail__in=trails).select_related("actor")
    return entries_for_display(entries[:TRAIL_SHOWN])
