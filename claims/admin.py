from django.contrib import admin

from claims.models import Claim, ClaimEvent
from enrollment.admin import ScopedAdmin


class ClaimEventInline(admin.TabularInline):
    model = ClaimEvent
    fields = ("at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(ScopedAdmin):
    list_display = ("number", "union", "benefit", "status", "event_date", "approved_amount")
    list_filter = ("status", "benefit")
    search_fields = ("number",)
    # The notice file has no URL (served only by the scoped download view).
    exclude = ("payee_account", "notice")
    # The due date is counted from the completion date and the holiday calendar, and counted
    # again when the calendar changes (claims.holidays); a hand-typed one would be overwritten.
    readonly_fields = (
        "status",
        "proposal",
        "proposed_amount",
        "completed_at",
        "due_date",
        "due_basis",
    )
    raw_id_fields = ("enrollment", "union", "reported_by")
    inlines = [ClaimEventInline]


# The holiday calendar's admin lives in its own module; importing it registers it.
from claims import admin_calendar  # noqa: E402,F401
