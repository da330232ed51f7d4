from django.core.management.base import BaseCommand

from demo.demo import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Load the demo union tree, members, users and a paid roster. Safe to run again."

    def handle(self, *args, **options):
        counts = demo_load()
        self.stdout.write(
            "Demo data: {unions} unions, {members} members, {users} users, "
            "{enrollments} enrollments.".format(**counts)
        )
        self.stdout.write(f"Demo logins use the password {DEMO_PASSWORD!r}.")
