"""Writes for plans.

Loading the shipped catalog is idempotent and never edits a published version.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from plans.engine.rules import RulesError, parse_rules
from plans.models import Plan, PlanVersion

CATALOG_DIR = Path(settings.BASE_DIR) / "fixtures" / "plans"


class CatalogError(Exception):
    pass


@dataclass
class LoadReport:
    created_plans: list[str] = field(default_factory=list)
    updated_plans: list[str] = field(default_factory=list)
    created_versions: list[str] = field(default_factory=list)
    updated_drafts: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_published: list[str] = field(default_factory=list)
    # Offices a newly created plan was offered under (a plan already there keeps its own).
    offered_under: list[str] = field(default_factory=list)


def catalog_read(directory: Path = CATALOG_DIR) -> list[dict]:
    """Read and validate every plan file before anything is written."""
    entries = []
    files = sorted(directory.glob("*.json"))
    if not files:
        raise CatalogError(f"No plan files in {directory}.")
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CatalogError(f"{path.name}: not valid JSON ({exc}).") from exc
        if data.get("code") != path.stem:
            raise CatalogError(f"{path.name}: its code must match the file name.")
        if not isinstance(data.get("region", ""), str) or len(data.get("region", "")) > 50:
            raise CatalogError(f"{path.name}: the region must be a text of at most 50 characters.")
        for version in data.get("versions", []):
            try:
                parse_rules(version["rules"])
                datetime.date.fromisoformat(version["effective_from"])
            except (RulesError, KeyError, TypeError, ValueError) as exc:
                raise CatalogError(f"{path.name} v{version.get('number')}: {exc}") from exc
        entries.append(data)
    return entries


@transaction.atomic
def plans_load_catalog(*, directory: Path = CATALOG_DIR) -> LoadReport:
    """Create or update the catalog's plans. A plan the catalog creates is offered under every
    office there is, as the plans an upgraded database already had are; where a plan is offered
    is then the plan admin's to narrow, and loading again never changes it."""
    from organisation.models import Union

    report = LoadReport()
    offices = list(Union.objects.filter(level=Union.Level.OFFICE))
    report.offered_under = [office.name for office in offices]
    for data in catalog_read(directory):
        described = {
            "name": data["name"],
            "region": data.get("region", ""),
            "description": data.get("description", ""),
        }
        plan, created = Plan.objects.get_or_create(code=data["code"], defaults=described)
        if created:
            plan.offered_under.add(*offices)
            report.created_plans.append(plan.code)
        elif any(getattr(plan, key) != value for key, value in described.items()):
            for key, value in described.items():
                setattr(plan, key, value)
            plan.save(update_fields=[*described, "updated_at"])
            report.updated_plans.append(plan.code)
        for item in data["versions"]:
            _load_version(plan, item, report)
    return report


def _load_version(plan: Plan, item: dict, report: LoadReport) -> None:
    label = f"{plan.code} v{item['number']}"
    rules = parse_rules(item["rules"]).to_dict()
    effective_to = item.get("effective_to")
    fields = {
        "effective_from": datetime.date.fromisoformat(item["effective_from"]),
        "effective_to": datetime.date.fromisoformat(effective_to) if effective_to else None,
        "rules": rules,
        "schema_version": rules["schema_version"],
    }
    version = PlanVersion.objects.filter(plan=plan, number=item["number"]).first()
    if version is None:
        PlanVersion.objects.create(
            plan=plan,
            number=item["number"],
            status=PlanVersion.Status.PUBLISHED,
            published_at=timezone.now(),
            **fields,
        )
        report.created_versions.append(label)
        return
    same = all(getattr(version, key) == value for key, value in fields.items())
    if same:
        report.unchanged.append(label)
    elif version.status == PlanVersion.Status.DRAFT:
        for key, value in fields.items():
            setattr(version, key, value)
        version.save()
        report.updated_drafts.append(label)
    else:
        # A published version is the contract members joined under; the catalog never
        # rewrites it. An admin supersedes it with a new version instead.
        report.kept_published.append(label)


# --- plan administration -----------------------------------------------------------------------


class PlanAdminError(Exception):
    """An action on a plan version that its state does not allow; the message is for the user."""


def _lock_plan(plan_id: int) -> Plan:
    """Versions of one plan change one at a time: publishing reads and rewrites its neighbours."""
    return Plan.objects.select_for_update().get(pk=plan_id)


@transaction.atomic
def version_copy(*, plan: Plan, user, effective_from: datetime.date) -> PlanVersion:
    """A new draft that starts as a copy of the plan's latest version."""
    from plans.models import PlanChange

    plan = _lock_plan(plan.pk)
    latest = plan.versions.order_by("-number").first()
    if latest is None:
        raise PlanAdminError(_("The plan has no version to copy."))
    if plan.versions.filter(status=PlanVersion.Status.DRAFT).exists():
        raise PlanAdminError(_("The plan already has a draft: edit or publish that one first."))
    draft = PlanVersion.objects.create(
        plan=plan,
        number=latest.number + 1,
        status=PlanVersion.Status.DRAFT,
        effective_from=effective_from,
        rules=latest.rules,
        schema_version=latest.schema_version,
    )
    PlanChange.objects.create(
        plan=plan,
        version=draft,
        action=PlanChange.Action.CREATED,
        actor=user,
        after=draft.rules,
        note=f"copied from v{latest.number}",
    )
    return draft


@transaction.atomic
def version_edit(
    *, version: PlanVersion, user, rules: dict, effective_from: datetime.date
) -> PlanVersion:
    """Save a draft's rules. A published version is never edited: it is superseded instead."""
    from plans.models import PlanChange

    _lock_plan(version.plan_id)
    version = PlanVersion.objects.get(pk=version.pk)
    if version.status != PlanVersion.Status.DRAFT:
        raise PlanAdminError(_("Only a draft can be edited; make a new version instead."))
    canonical = parse_rules(rules).to_dict()
    before = version.rules
    version.rules = canonical
    version.schema_version = canonical["schema_version"]
    version.effective_from = effective_from
    version.save()
    if before != canonical:
        PlanChange.objects.create(
            plan=version.plan,
            version=version,
            action=PlanChange.Action.EDITED,
            actor=user,
            before=before,
            after=canonical,
        )
    return version


def version_publish_preview(
    *, version: PlanVersion, effective_from: datetime.date
) -> list[tuple[PlanVersion, datetime.date]]:
    """What publishing would do, without doing it: each published version that then ends, with
    its new last day. Raises PlanAdminError when the version cannot be published from that day."""
    if version.status != PlanVersion.Status.DRAFT:
        raise PlanAdminError(_("This version is already published."))
    published = list(
        version.plan.versions.filter(status=PlanVersion.Status.PUBLISHED).order_by("effective_from")
    )
    for older in published:
        if older.effective_from >= effective_from:
            raise PlanAdminError(
                _(
                    "Version %(n)s is already in force from %(day)s; a new version must start "
                    "after that."
                )
                % {"n": older.number, "day": older.effective_from}
            )
    day_before = effective_from - datetime.timedelta(days=1)
    return [
        (older, day_before)
        for older in published
        if older.effective_to is None or older.effective_to >= effective_from
    ]


@transaction.atomic
def version_publish(*, version: PlanVersion, user, effective_from: datetime.date) -> PlanVersion:
    """Publish a draft from ``effective_from``. The version in force until then ends the day
    before and is marked superseded; enrollments and claims made under it keep it."""
    from plans.models import PlanChange

    plan = _lock_plan(version.plan_id)
    version = PlanVersion.objects.get(pk=version.pk)
    if version.status != PlanVersion.Status.DRAFT:
        raise PlanAdminError(_("This version is already published."))
    parse_rules(version.rules)
    for older, new_end in version_publish_preview(version=version, effective_from=effective_from):
        before = {"effective_to": str(older.effective_to) if older.effective_to else None}
        older.effective_to = new_end
        older.status = PlanVersion.Status.SUPERSEDED
        older.save(update_fields=["effective_to", "status", "updated_at"])
        PlanChange.objects.create(
            plan=plan,
            version=older,
            action=PlanChange.Action.SUPERSEDED,
            actor=user,
            before=before,
            after={"effective_to": str(older.effective_to)},
        )
    version.status = PlanVersion.Status.PUBLISHED
    version.effective_from = effective_from
    version.effective_to = None
    version.published_at = timezone.now()
    version.save()
    PlanChange.objects.create(
        plan=plan,
        version=version,
        action=PlanChange.Action.PUBLISHED,
        actor=user,
        after={"effective_from": str(effective_from)},
    )
    return version


# --- where a plan is offered -------------------------------------------------------------------


def offering_nodes():
    """The nodes a plan can be offered under: offices, city and county unions."""
    from organisation.models import Union

    return Union.objects.exclude(level=Union.Level.GRASSROOTS).order_by("path")


@transaction.atomic
def plan_set_offered_under(*, plan: Plan, user, unions) -> bool:
    """Offer the plan under exactly these nodes (offices, city or county unions). Units already
    enrolled keep their cover; only new rosters follow the change. Recorded as a PlanChange and
    in the audit log; returns whether anything changed."""
    from mutualaid.auditlog import audit
    from plans.models import PlanChange

    plan = _lock_plan(plan.pk)
    chosen = {union.pk: union for union in unions}
    allowed = offering_nodes()
    if plan.office_id is not None:
        allowed = allowed.filter(path__startswith=plan.office.path)
    allowed_ids = set(allowed.values_list("pk", flat=True))
    refused = sorted(union.name for pk, union in chosen.items() if pk not in allowed_ids)
    if refused:
        raise PlanAdminError(
            _("The plan cannot be offered under %(names)s.") % {"names": "、".join(refused)}
        )
    before = list(plan.offered_under.order_by("path"))
    if {u.pk for u in before} == set(chosen):
        return False
    after = sorted(chosen.values(), key=lambda u: u.path)
    plan.offered_under.set(after)

    def names(nodes) -> str:
        return "、".join(node.name for node in nodes) or "—"

    PlanChange.objects.create(
        plan=plan,
        action=PlanChange.Action.OFFERED,
        actor=user,
        after={"offered_under": [u.pk for u in after]},
        note=f"{names(before)} → {names(after)}",
    )
    audit.record(
        audit.Action.UPDATE,
        obj=plan,
        user=user,
        changes={"offered_under": [names(before), names(after)]},
    )
    return True
