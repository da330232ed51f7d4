"""Migrations 0007 and 0008 on a database where racing uploads had piled drafts up: the latest
draft of each unit, plan and coverage start stays, the others are withdrawn with an event, and
then the database holds one draft per unit, plan and coverage start."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests import factories

BEFORE = [("enrollment", "0006_people_and_audit_moved_out")]
AFTER = [("enrollment", "0008_one_draft_and_share_limit")]


@pytest.mark.django_db(transaction=True)
def test_piled_up_drafts_are_withdrawn_but_the_latest(world):
    version = factories.catalog_version()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        Roster = old.get_model("enrollment", "Roster")

        def draft(status="checked", union=world.unit_a, start=datetime.date(2026, 1, 1)):
            return Roster.objects.create(
                union_id=union.pk,
                plan_version_id=version.pk,
                coverage_start=start,
                coverage_end=start.replace(year=start.year + 1) - datetime.timedelta(days=1),
                status=status,
                created_by_id=world.clerk_a.pk,
            )

        piled = [draft(), draft("uploaded"), draft("refused")]
        latest = piled[-1]
        alone = draft(union=world.unit_b)
        submitted = draft("submitted")

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        Roster = new.get_model("enrollment", "Roster")
        RosterEvent = new.get_model("enrollment", "RosterEvent")
        status = dict(Roster.objects.values_list("pk", "status"))
        assert status == {
            piled[0].pk: "withdrawn",
            piled[1].pk: "withdrawn",
            latest.pk: "refused",
            alone.pk: "checked",
            submitted.pk: "submitted",
        }
        assert set(Roster.objects.values_list("plan_id", flat=True)) == {version.plan_id}
        events = RosterEvent.objects.filter(status="withdrawn")
        assert sorted(events.values_list("roster_id", flat=True)) == [piled[0].pk, piled[1].pk]
        with pytest.raises(IntegrityError), transaction.atomic():
            Roster.objects.create(
                union_id=world.unit_b.pk,
                plan_version_id=version.pk,
                plan_id=version.plan_id,
                coverage_start=datetime.date(2026, 1, 1),
                coverage_end=datetime.date(2026, 12, 31),
                status="uploaded",
                created_by_id=world.clerk_a.pk,
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
