"""`load_plans` ships the catalog under its exact codes and may run any number of times."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from plans.models import Plan, PlanVersion
from plans.services import CATALOG_DIR

CODES = {
    "jilin-allowance-2020",
    "linyi-inpatient-2019",
    "linyi-accident-2019",
    "shaanxi-gig-2023",
    "beijing-female-2021",
    "beijing-accident-2011",
    "beijing-critical-2021",
    "beijing-inpatient-2011",
    "beijing-child-accident-2011",
    "beijing-allowance-2011",
    "beijing-nonwork-2011",
}


@pytest.mark.django_db
def test_every_catalog_plan_is_loaded_under_its_code():
    call_command("load_plans", stdout=StringIO())
    assert set(Plan.objects.values_list("code", flat=True)) == CODES
    for version in PlanVersion.objects.all():
        assert version.status == PlanVersion.Status.PUBLISHED
        assert version.parsed_rules.schema_version == 1


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    call_command("load_plans", stdout=StringIO())
    before = list(PlanVersion.objects.values("pk", "rules", "updated_at"))
    out = StringIO()
    call_command("load_plans", stdout=out)
    assert list(PlanVersion.objects.values("pk", "rules", "updated_at")) == before
    assert "versions created" not in out.getvalue()


@pytest.mark.django_db
def test_a_published_version_is_never_rewritten_by_the_catalog():
    call_command("load_plans", stdout=StringIO())
    version = PlanVersion.objects.get(plan__code="jilin-allowance-2020")
    changed = json.loads(json.dumps(version.rules))
    changed["fees"]["per_share"] = "999.00"
    PlanVersion.objects.filter(pk=version.pk).update(rules=changed)
    out = StringIO()
    call_command("load_plans", stdout=out)
    version.refresh_from_db()
    assert version.rules["fees"]["per_share"] == "999.00"
    assert "left as they are" in out.getvalue()


def test_catalog_files_are_named_by_code():
    assert {path.stem for path in CATALOG_DIR.glob("*.json")} == CODES
