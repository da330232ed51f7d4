"""A roster keeps its plan beside its plan version, so that 0008 can let the database hold one
draft per unit, plan and coverage start.

Drafts that uploads racing each other piled up before are withdrawn here, all but the latest of
each unit, plan and coverage start, each with an event saying why; nothing else changes."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import gettext

OPEN_DRAFTS = ("uploaded", "checking", "checked", "refused", "returned")


def fill_plan(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Foreign keys are checked as each row is written, not at commit: PostgreSQL creates
        # the new column's index at the end of this migration, and refuses to while checks wait.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Roster = apps.get_model("enrollment", "Roster")
    PlanVersion = apps.get_model("plans", "PlanVersion")
    Roster.objects.filter(plan__isnull=True).update(
        plan_id=Subquery(PlanVersion.objects.filter(pk=OuterRef("plan_version_id")).values("plan_id")[:1])
    )


def withdraw_piled_up_drafts(apps, schema_editor):
    Roster = apps.get_model("enrollment", "Roster")
    RosterEvent = apps.get_model("enrollment", "RosterEvent")
    drafts = Roster.objects.filter(status__in=OPEN_DRAFTS)
    piles = (
        drafts.values("union_id", "plan_id", "coverage_start")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    note = gettext("Replaced by a later upload of the same unit, plan and coverage start.")
    for pile in piles:
        same = drafts.filter(
            union_id=pile["union_id"], plan_id=pile["plan_id"], coverage_start=pile["coverage_start"]
        ).order_by("-updated_at", "-pk")
        for roster in list(same)[1:]:
            roster.status = "withdrawn"
            roster.save(update_fields=["status"])
            RosterEvent.objects.create(roster=roster, status="withdrawn", note=note)


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0006_people_and_audit_moved_out"),
        ("plans", "0003_office_in_organisation"),
    ]

    operations = [
        migrations.AddField(
            model_name="roster",
            name="plan",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="plans.plan",
                verbose_name="plan",
            ),
        ),
        migrations.RunPython(fill_plan, migrations.RunPython.noop),
        migrations.RunPython(withdraw_piled_up_drafts, migrations.RunPython.noop),
    ]
