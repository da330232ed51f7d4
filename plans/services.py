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
    report = LoadReport()
    for data in catalog_read(directory):
        plan, created = Plan.objects.get_or_create(
            code=data["code"],
            defaults={"name": data["name"], "description": data.get("description", "")},
        )
        if created:
            report.created_plans.append(plan.code)
        elif (plan.name, plan.description) != (data["name"], data.get("description", "")):
            plan.name, plan.description = data["name"], data.get("description", "")
            plan.save(update_fields=["name", "description", "updated_at"])
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
