from django.contrib import admin

from plans.models import Plan, PlanVersion
from plans.selectors import visible_plans


class PlanVersionInline(admin.TabularInline):
    model = PlanVersion
    fields = ("number", "status", "effective_from", "effective_to", "schema_version")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "region", "office")
    search_fields = ("code", "name", "region")
    # Where a plan is offered is set on the plan page, where each change is recorded.
    exclude = ("offered_under",)
    inlines = [PlanVersionInline]

    def get_queryset(self, request):
        # Another office's own plans do not exist here, as on the plan pages.
        return super().get_queryset(request).filter(pk__in=visible_plans(request.user))


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    list_display = ("plan", "number", "status", "effective_from", "effective_to")
    list_filter = ("status",)
    # Published versions are changed only by superseding them through the plan pages.
    readonly_fields = ("schema_version", "published_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(plan__in=visible_plans(request.user))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != PlanVersion.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)
