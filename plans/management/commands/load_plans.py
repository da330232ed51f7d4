from django.core.management.base import BaseCommand, CommandError

from plans.services import CatalogError, plans_load_catalog


class Command(BaseCommand):
    help = "Load the shipped plan catalog (fixtures/plans). Safe to run any number of times."

    def handle(self, *args, **options):
        try:
            report = plans_load_catalog()
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        for title, items in (
            ("plans created", report.created_plans),
            ("plans renamed or redescribed", report.updated_plans),
            ("versions created", report.created_versions),
            ("draft versions updated", report.updated_drafts),
            ("versions unchanged", report.unchanged),
            (
                "published versions left as they are (they differ from the catalog)",
                report.kept_published,
            ),
        ):
            if items:
                self.stdout.write(f"{title}: {len(items)}")
                for item in items:
                    self.stdout.write(f"  {item}")
        if report.created_plans:
            where = "、".join(report.offered_under) or "no office yet"
            self.stdout.write(
                f"new plans offered under: {where} (plan admins set where each plan is "
                "offered on its page)"
            )
        self.stdout.write(self.style.SUCCESS("Plan catalog loaded."))
