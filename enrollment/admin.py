"""The Django admin for rosters and enrollments, scoped like every other page."""

from django.contrib import admin

from enrollment.models import Enrollment, Roster
from organisation.admin import ScopedAdmin


@admin.register(Roster)
class RosterAdmin(ScopedAdmin):
    list_display = ("union", "plan_version", "coverage_start", "status", "rows_total", "fee_total")
    list_filter = ("status",)
    raw_id_fields = ("union", "plan_version", "created_by")
    # Stored files have no URL (they are private, served only by the scoped download views), so
    # the admin's file widgets, which link to one, cannot show them.
    exclude = ("file", "annotated", "fee_notice", "certificates")


@admin.register(Enrollment)
class EnrollmentAdmin(ScopedAdmin):
    list_display = ("member", "plan", "union", "coverage_start", "shares", "fee", "status")
    list_filter = ("status", "plan")
    raw_id_fields = ("member", "plan_version", "union", "roster")
    search_fields = ("member__name",)
