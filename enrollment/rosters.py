"""Services for a roster's life: upload, check, submit (import), review, payment.

Views and tasks call these and nothing else changes a roster. Long work (reading the file,
importing thousands of people, PDFs) runs in a worker: the web side only records the request
and enqueues the task after its transaction commits.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.enrolling import ImportRefused
from enrollment.enrolling import import_rows as _import_rows
from enrollment.enrolling import release as _release
from enrollment.models import Enrollment, Roster, RosterEvent, RosterFinding
from enrollment.selectors import held_shares
from enrollment.services import coverage_end_for
from mutualaid import event_notes
from mutualaid.auditlog import audit
from mutualaid.outbox import jobs
from organisation.models import Union, User
from plans.engine.findings import ERROR, WARNING, Finding
from plans.engine.funding import FundingChoice, FundingError, funding_split, funding_validate
from plans.engine.renewal import Holder, renewal_compare
from plans.engine.roster import CheckResult, RosterFileError, RosterRow, check_roster
from plans.models import PlanVersion
from plans.reading import roster_read_limits
from plans.selectors import plans_offered_to

log = logging.getLogger(__name__)

# Rows are written in batches of this size: big enough to keep round trips few, small enough
# to keep each statement's parameters within SQLite's limits.
IMPORT_BATCH = 2000
# The worker writes its progress to the roster row at most this often (rows).
PROGRESS_EVERY = 2000

__all__ = ["FundingError", "RosterActionError"]

OPEN_FOR_REUPLOAD = (
    Roster.Status.UPLOADED,
    Roster.Status.CHECKING,
    Roster.Status.CHECKED,
    Roster.Status.REFUSED,
    Roster.Status.RETURNED,
)


class RosterActionError(Exception):
    """An action that the roster's state does not allow; the message is for the user."""


def _lock(roster_id: int) -> Roster:
    """Every state change of a roster happens under a row lock on it, taken here and only here,
    so two clicks, two staff or a click and a worker are served one after the other."""
    return Roster.objects.select_for_update().select_related("plan_version__plan").get(pk=roster_id)


def _event(roster: Roster, actor: User | None, note: str = "") -> None:
    RosterEvent.objects.create(roster=roster, status=roster.status, actor=actor, note=note)


# --- upload and check ------------------------------------------------------------------------


def _refuse_plan_not_offered(union: Union, plan) -> None:
    """A unit enrolls only in the plans offered under it (plans.selectors, the one rule)."""
    if not plans_offered_to(union).filter(pk=plan.pk).exists():
        raise RosterActionError(
            _(
                "The plan “%(plan)s” is not offered to your unit. Choose one of the plans "
                "listed on the upload page, or ask your office which plans it offers."
            )
            % {"plan": plan.display_name}
        )


@transaction.atomic
def roster_upload(
    *,
    user: User,
    union: Union,
    plan_version: PlanVersion,
    coverage_start: datetime.date,
    funding: FundingChoice,
    upload: UploadedFile,
) -> Roster:
    """Store the file and queue its check. A draft of the same unit, plan and period is
    replaced, so the clerk fixes and re-uploads without piling up drafts.

    Uploads of one unit are served one at a time (a lock on the unit's row, taken before the
    draft is looked for), so uploads sent at the same moment replace one draft in turn; the
    database's unique constraint ``roster_one_draft_per_period`` backs that up. If anything fails
    after the file was stored, the file is deleted again."""

    _refuse_plan_not_offered(union, plan_version.plan)
    rules = plan_version.parsed_rules
    funding_validate(rules, funding)
    Union.objects.select_for_update(no_key=True).values_list("pk", flat=True).get(pk=union.pk)
    # A roster of the same period already with the office could be returned to the unit later,
    # and would then be a second draft: the unit waits for the decision or withdraws it first.
    if Roster.objects.filter(
        union=union,
        plan=plan_version.plan,
        coverage_start=coverage_start,
        status__in=[Roster.Status.SUBMITTING, Roster.Status.SUBMITTED, Roster.Status.APPROVED],
    ).exists():
        raise RosterActionError(
            _(
                "A roster of your unit for this plan and coverage start is already with the "
                "office. Wait for the office's decision, or withdraw that roster first, then "
                "upload again."
            )
        )
    roster = (
        Roster.objects.select_for_update()
        .filter(
            union=union,
            plan=plan_version.plan,
            coverage_start=coverage_start,
            status__in=OPEN_FOR_REUPLOAD,
        )
        .first()
    )
    old_file = roster.file.name if roster and roster.file else ""
    if roster is None:
        roster = Roster(union=union, created_by=user, coverage_start=coverage_start)
    roster.plan_version = plan_version
    roster.coverage_end = coverage_end_for(coverage_start, rules.coverage_months)
    roster.status = Roster.Status.UPLOADED
    roster.check_token = uuid.uuid4()
    roster.funding = {
        "mode": funding.mode,
        "percent": {payer: str(value) for payer, value in funding.percent.items()},
        "amounts": {},
    }
    roster.original_name = (upload.name or "")[:255]
    roster.file_size = upload.size or 0
    roster.rows_total = roster.rows_checked = roster.rows_valid = 0
    roster.error_count = roster.warning_count = 0
    roster.fee_total = Decimal("0.00")
    roster.problem = roster.return_reason = ""
    roster.renewal = {}
    old_annotated = roster.annotated.name if roster.annotated else ""
    roster.annotated = ""
    if old_annotated:
        transaction.on_commit(lambda: Roster.annotated.field.storage.delete(old_annotated))
    # A generated name: the clerk's file name is kept only as a label.
    roster.file.save(f"{uuid.uuid4().hex}.xlsx", upload, save=False)
    try:
        try:
            with transaction.atomic():
                roster.save()
        except IntegrityError as exc:
            raise RosterActionError(
                _(
                    "Another upload of a roster for this unit, plan and coverage start was "
                    "saved at the same moment. Nothing of this upload was kept; please upload "
                    "it again."
                )
            ) from exc
        roster.findings.all().delete()
        _event(roster, user, roster.original_name)
        if old_file:
            transaction.on_commit(lambda: Roster.file.field.storage.delete(old_file))
        jobs.enqueue(
            "enrollment.tasks.roster_check",
            roster.pk,
            str(roster.check_token),
            subject=f"roster:{roster.pk}",
            union_id=roster.union_id,
        )
    except BaseException:
        # Nothing of a failed upload is kept, its file least of all.
        Roster.file.field.storage.delete(roster.file.name)
        raise
    return roster


def _run_check(roster: Roster, *, on_progress=None) -> CheckResult:
    plan_version = roster.plan_version
    plan = plan_version.plan

    def lookup(ids: list[str]) -> dict[str, int]:
        return held_shares(
            plan_id=plan.pk,
            coverage_start=roster.coverage_start,
            coverage_end=roster.coverage_end,
            id_numbers=ids,
            exclude_roster_id=roster.pk,
        )

    with roster.file.open("rb") as handle:
        data = handle.read()
    return check_roster(
        data,
        rules=plan_version.parsed_rules,
        plan_code=plan.code,
        coverage_start=roster.coverage_start,
        headcount=roster.union.headcount or None,
        held_shares=lookup,
        max_bytes=settings.ROSTER_MAX_UPLOAD_MB * 1024 * 1024,
        progress=on_progress,
        sandbox=roster_read_limits(),
    )


def roster_check_run(*, roster_id: int, token: str) -> None:
    """The worker's half of a check. Running it twice gives the same result."""
    with transaction.atomic():
        roster = _lock(roster_id)
        if str(roster.check_token) != token or roster.status not in (
            Roster.Status.UPLOADED,
            Roster.Status.CHECKING,
        ):
            return
        roster.status = Roster.Status.CHECKING
        roster.save(update_fields=["status", "updated_at"])

    def on_progress(done: int, total: int) -> None:
        Roster.objects.filter(pk=roster_id, check_token=token).update(
            rows_checked=done, rows_total=total
        )

    try:
        result = _run_check(roster, on_progress=on_progress)
    except RosterFileError as refused:
        _store_refusal(roster_id, token, refused.finding)
        return
    except Exception:
        if not Roster.objects.filter(pk=roster_id, check_token=token).exists():
            # A newer upload replaced this one meanwhile (and deleted its file): this check's
            # result, or failure, is thrown away anyway.
            return
        # A bug, not a bad file: the clerk must not watch a progress bar forever. The roster
        # says so, and the error still reaches the worker's log and the task's failure.
        _store_system_error(roster_id, token)
        raise
    _store_result(roster_id, token, result)
    roster_annotate_run(roster_id=roster_id, token=token)


def roster_annotate_run(*, roster_id: int, token: str) -> None:
    """The clerk's own workbook with every finding marked, for download."""
    from enrollment.workbooks import annotate_roster

    roster = Roster.objects.get(pk=roster_id)
    if str(roster.check_token) != token or not roster.file:
        return
    findings = [
        Finding(f.code, f.level, f.row, f.column or None, f.message, f.col)
        for f in roster.findings.all().iterator(chunk_size=IMPORT_BATCH)
    ]
    summary = {
        "plan": roster.plan_version.plan.display_name,
        "rows": roster.rows_total,
        "valid_rows": roster.rows_valid,
        "fee_total": str(roster.fee_total),
        "checked_at": timezone.localtime(roster.checked_at).strftime("%Y-%m-%d %H:%M"),
    }
    with roster.file.open("rb") as handle:
        data = annotate_roster(
            handle.read(), sheet_name=roster.sheet_name, findings=findings, summary=summary
        )
    with transaction.atomic():
        roster = _lock(roster_id)
        if str(roster.check_token) != token:
            return
        old = roster.annotated.name
        roster.annotated.save(f"{uuid.uuid4().hex}.xlsx", ContentFile(data), save=True)
        if old:
            transaction.on_commit(lambda: Roster.annotated.field.storage.delete(old))


def _store_refusal(roster_id: int, token: str, finding: Finding) -> None:
    with transaction.atomic():
        roster = _lock(roster_id)
        if str(roster.check_token) != token:
            return
        stored = roster.file.name
        roster.status = Roster.Status.REFUSED
        roster.problem = finding.message
        roster.error_count, roster.warning_count = 1, 0
        roster.rows_total = roster.rows_checked = roster.rows_valid = 0
        roster.file = ""
        roster.checked_at = timezone.now()
        roster.save()
        roster.findings.all().delete()
        _save_findings(roster, [finding])
        _event(roster, None, finding.code)
        # Nothing of a refused file is kept.
        if stored:
            transaction.on_commit(lambda: Roster.file.field.storage.delete(stored))


def _store_system_error(roster_id: int, token: str) -> None:
    """The check stopped on a bug: the roster is refused saying so and, like every refused
    roster, keeps nothing of the file (the clerk uploads it again)."""
    with transaction.atomic():
        roster = _lock(roster_id)
        if str(roster.check_token) != token:
            return
        stored = roster.file.name
        roster.status = Roster.Status.REFUSED
        roster.problem = _(
            "The check stopped on a system error. It has been logged; please "
            "upload the file again later."
        )
        roster.file = ""
        roster.save(update_fields=["status", "problem", "file", "updated_at"])
        if stored:
            transaction.on_commit(lambda: Roster.file.field.storage.delete(stored))


def _save_findings(roster: Roster, findings: Iterable[Finding]) -> None:
    RosterFinding.objects.bulk_create(
        (
            RosterFinding(
                roster=roster,
                row=f.row,
                column=f.column or "",
                col=f.col,
                code=f.code,
                level=f.level,
                message=f.message,
            )
            for f in findings
        ),
        batch_size=IMPORT_BATCH,
    )


def _store_result(roster_id: int, token: str, result: CheckResult) -> None:
    with transaction.atomic():
        roster = _lock(roster_id)
        if str(roster.check_token) != token:
            return
        rules = roster.plan_version.parsed_rules
        choice = _choice(roster)
        amounts = funding_split(
            rules, choice, fee_total=result.fee_total, members=result.valid_rows
        )
        roster.funding = dict(roster.funding, amounts={k: str(v) for k, v in amounts.items()})
        roster.status = Roster.Status.CHECKED
        roster.rows_total = roster.rows_checked = result.rows
        roster.rows_valid = result.valid_rows
        roster.fee_total = result.fee_total
        roster.error_count = sum(1 for f in result.findings if f.level == ERROR)
        roster.warning_count = sum(1 for f in result.findings if f.level == WARNING)
        roster.sheet_name = result.sheet_name
        roster.header_row = result.header_row
        roster.renewal = _renewal(roster, result.all_rows)
        roster.checked_at = timezone.now()
        roster.problem = ""
        roster.save()
        roster.findings.all().delete()
        _save_findings(roster, result.findings)
        _event(
            roster,
            None,
            event_notes.encode("checked", rows=result.rows, errors=roster.error_count),
        )


def _choice(roster: Roster) -> FundingChoice:
    return FundingChoice(
        mode=roster.funding.get("mode"),
        percent={k: Decimal(v) for k, v in roster.funding.get("percent", {}).items()},
    )


def _renewal(roster: Roster, rows: Iterable[RosterRow]) -> dict:
    """Compared with the unit's enrollments in the same plan for the previous period."""
    months = roster.plan_version.parsed_rules.coverage_months
    previous_start = _months_before(roster.coverage_start, months)
    previous = Enrollment.objects.filter(
        union=roster.union,
        plan=roster.plan_version.plan,
        coverage_start=previous_start,
        status=Enrollment.Status.ACTIVE,
    ).select_related("member")
    if not previous.exists():
        return {}
    holders = [
        Holder(
            e.member.id_number,
            e.member.name,
            e.member.phone,
            e.member.employment_type,
            e.shares,
            e.member.bank_card,
        )
        for e in previous.iterator(chunk_size=IMPORT_BATCH)
    ]
    report = renewal_compare(holders, rows)
    report["previous_start"] = previous_start.isoformat()
    return report


def _months_before(day: datetime.date, months: int) -> datetime.date:
    from dateutil.relativedelta import relativedelta

    return day - relativedelta(months=months)


# --- submit and import -----------------------------------------------------------------------


def _confirmed(roster: Roster, token: str | None) -> None:
    """The person confirmed this very roster: the confirmation page carries the check token of
    the file it described, and a new upload since then gets a new one."""
    if token is not None and token != str(roster.check_token):
        raise RosterActionError(
            _(
                "The roster changed after the confirmation was shown (a new file was uploaded). "
                "Nothing was done; look at it again."
            )
        )


@transaction.atomic
def roster_submit(*, roster: Roster, user: User, token: str | None = None) -> Roster:

    roster = _lock(roster.pk)
    _confirmed(roster, token)
    if not roster.can_submit:
        raise RosterActionError(_("Only a checked roster without errors can be submitted."))
    _refuse_plan_not_offered(roster.union, roster.plan_version.plan)
    roster.status = Roster.Status.SUBMITTING
    roster.save(update_fields=["status", "updated_at"])
    _event(roster, user)
    jobs.enqueue(
        "enrollment.tasks.roster_import",
        roster.pk,
        str(roster.check_token),
        user.pk,
        subject=f"roster:{roster.pk}",
        union_id=roster.union_id,
    )
    return roster


def roster_import_run(*, roster_id: int, token: str, actor_id: int | None) -> None:
    """Check the file again (others may have enrolled the same people meanwhile) and enroll
    every valid row, all or nothing. A second run finds the roster submitted and stops."""
    roster = Roster.objects.select_related("plan_version__plan", "union").get(pk=roster_id)
    if str(roster.check_token) != token or roster.status != Roster.Status.SUBMITTING:
        return
    actor = User.objects.filter(pk=actor_id).first()
    # The import is the submitting clerk's act, done by a worker: the log says both.
    with audit.acting(actor, audit.Source.WORKER):
        _import_checked(roster, roster_id, token, actor)


def _import_checked(roster: Roster, roster_id: int, token: str, actor: User | None) -> None:
    try:
        result = _run_check(roster)
    except RosterFileError as refused:
        _back_to_checked(roster_id, token, [refused.finding], actor)
        return
    if any(f.level == ERROR for f in result.findings):
        _store_result(roster_id, token, result)
        _back_to_checked(roster_id, token, None, actor)
        return
    try:
        with transaction.atomic():
            roster = _lock(roster_id)
            if str(roster.check_token) != token or roster.status != Roster.Status.SUBMITTING:
                return
            _import_rows(roster, result.valid)
            roster.status = Roster.Status.SUBMITTED
            roster.submitted_at = timezone.now()
            roster.rows_valid = result.valid_rows
            roster.fee_total = result.fee_total
            roster.save()
            _event(roster, actor, event_notes.encode("imported", n=result.valid_rows))
    except ImportRefused as refused:
        _back_to_checked(roster_id, token, refused.findings, actor)


def _back_to_checked(
    roster_id: int, token: str, findings: list[Finding] | None, actor: User | None
) -> None:
    with transaction.atomic():
        roster = _lock(roster_id)
        if str(roster.check_token) != token:
            return
        roster.status = Roster.Status.CHECKED
        roster.problem = _(
            "The roster was not submitted: the check found new problems (for example people "
            "enrolled by another union meanwhile). Nobody was enrolled; fix the rows below."
        )
        if findings:
            roster.error_count = len(findings)
            _save_findings(roster, findings)
        roster.save()
        _event(roster, actor, roster.problem)


# --- review and payment ----------------------------------------------------------------------


@transaction.atomic
def roster_return(*, roster: Roster, user: User, reason: str) -> Roster:
    reason = (reason or "").strip()
    if not reason:
        raise RosterActionError(_("Say why the roster is returned, so the unit can fix it."))
    roster = _lock(roster.pk)
    if roster.status not in (Roster.Status.SUBMITTED, Roster.Status.APPROVED):
        raise RosterActionError(_("Only a submitted or approved roster can be returned."))
    if roster.receipts.exists() or roster.subsidy_lines.exists():
        raise RosterActionError(
            _("Money was already received for this roster, so it can no longer be returned.")
        )
    _release(roster)
    roster.status = Roster.Status.RETURNED
    roster.return_reason = reason
    roster.save(update_fields=["status", "return_reason", "updated_at"])
    _event(roster, user, reason)
    return roster


@transaction.atomic
def roster_approve(*, roster: Roster, user: User, token: str | None = None) -> Roster:

    roster = _lock(roster.pk)
    _confirmed(roster, token)
    if roster.status != Roster.Status.SUBMITTED:
        raise RosterActionError(_("Only a submitted roster can be approved."))
    roster.status = Roster.Status.APPROVED
    roster.save(update_fields=["status", "updated_at"])
    _event(roster, user)
    jobs.enqueue(
        "enrollment.tasks.roster_fee_notice",
        roster.pk,
        subject=f"roster:{roster.pk}",
        union_id=roster.union_id,
    )
    return roster


@transaction.atomic
def roster_withdraw(*, roster: Roster, user: User) -> Roster:
    roster = _lock(roster.pk)
    # A roster still being enrolled may be withdrawn too: the import takes the same lock, so
    # either it finished first (and its enrollments are released here) or it finds the roster
    # withdrawn and enrolls nobody.
    withdrawable = (*OPEN_FOR_REUPLOAD, Roster.Status.SUBMITTING, Roster.Status.SUBMITTED)
    if roster.status not in withdrawable:
        raise RosterActionError(_("This roster can no longer be withdrawn."))
    _release(roster)
    roster.status = Roster.Status.WITHDRAWN
    roster.save(update_fields=["status", "updated_at"])
    _event(roster, user)
    return roster


# --- documents -------------------------------------------------------------------------------


def roster_fee_notice_make(*, roster_id: int) -> None:
    from enrollment.documents import fee_notice_pdf

    roster = Roster.objects.select_related("union", "plan_version__plan").get(pk=roster_id)
    pdf = fee_notice_pdf(roster)
    with transaction.atomic():
        roster = _lock(roster_id)
        old = roster.fee_notice.name
        roster.fee_notice.save(f"{uuid.uuid4().hex}.pdf", ContentFile(pdf), save=True)
        if old:
            transaction.on_commit(lambda: Roster.fee_notice.field.storage.delete(old))


def roster_certificates_make(*, roster_id: int) -> None:
    """One PDF for a roster of up to 5,000 people; a zip of such PDFs for a bigger one, since
    a single PDF of 100,000 people would take minutes and gigabytes to lay out."""
    import io
    import zipfile

    from enrollment.documents import certificates_parts, certificates_pdf

    roster = Roster.objects.select_related("union", "plan_version__plan").get(pk=roster_id)
    parts = certificates_parts(roster)
    if len(parts) == 1:
        data, suffix = certificates_pdf(roster), "pdf"
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:
            for first, count in parts:
                last = first + count - 1
                bundle.writestr(
                    f"参保凭证-{first:06d}-{last:06d}.pdf",
                    certificates_pdf(roster, first=first, count=count),
                )
        data, suffix = buffer.getvalue(), "zip"
    with transaction.atomic():
        roster = _lock(roster_id)
        old = roster.certificates.name
        roster.certificates.save(f"{uuid.uuid4().hex}.{suffix}", ContentFile(data), save=True)
        if old:
            transaction.on_commit(lambda: Roster.certificates.field.storage.delete(old))


# --- when background work gives up -----------------------------------------------------------
# Called by the outbox (mutualaid/outbox/jobs.py) through enrollment.tasks when a roster's job
# failed for good: the roster leaves its waiting state, so nobody watches a progress bar forever.


def roster_check_failed(*, roster_id: int, token: str) -> None:
    """The check could not be completed: the file is refused, and nothing of it is kept."""
    _store_refusal(
        roster_id,
        token,
        Finding(
            "file_corrupt",
            ERROR,
            None,
            None,
            _(
                "This file could not be checked: reading it stopped the checking program "
                "more than once. Open it in Excel or WPS, save it again as .xlsx and upload "
                "it again; if that does not help, send it to the office."
            ),
        ),
    )


def roster_import_failed(*, roster_id: int, token: str, actor_id: int | None) -> None:
    """The enrollment could not be completed: nobody was enrolled, the roster can be submitted
    again (or withdrawn)."""
    with transaction.atomic():
        roster = _lock(roster_id)
        if str(roster.check_token) != token or roster.status != Roster.Status.SUBMITTING:
            return
        roster.status = Roster.Status.CHECKED
        roster.problem = _(
            "The roster was not submitted because of a system problem; nobody was enrolled. "
            "Submit it again; if it fails again, ask the office."
        )
        roster.save(update_fields=["status", "problem", "updated_at"])
        _event(roster, User.objects.filter(pk=actor_id).first(), roster.problem)
