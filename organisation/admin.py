"""The Django admin for staff, limited to each user's node of the tree like every other page."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from mutualaid.crypto import digest
from organisation.models import Member, Union, User
from organisation.selectors import scoped
from plans.engine.identity import IdNumberError, normalise_id_number


class ScopedAdmin(admin.ModelAdmin):
    """Admin lists and change pages show only rows within the user's scope."""

    union_field = "union"

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request), self.union_field)


@admin.register(Union)
class UnionAdmin(ScopedAdmin):
    union_field = ""
    list_display = ("code", "name", "level", "parent", "headcount", "contact_name")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "union", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "full_name")
    autocomplete_fields = ("union",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Portal role"), {"fields": ("role", "union", "full_name", "phone")}),
    )

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))


@admin.register(Member)
class MemberAdmin(ScopedAdmin):
    # The raw ID and bank numbers are never put on an admin page; only the masked forms are.
    list_display = ("name", "id_number_masked", "gender", "employment_type", "union")
    list_filter = ("employment_type", "gender", "medical_insurance", "high_risk")
    # ID numbers are encrypted at rest: a whole ID number typed into the search box is found
    # through its lookup digest (get_search_results), anything else searches names.
    search_fields = ("name",)
    exclude = ("id_number", "bank_card", "id_number_digest")
    readonly_fields = ("id_number_masked", "bank_card_masked", "birth_date", "gender")
    autocomplete_fields = ("union",)

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        try:
            number = normalise_id_number(search_term)
        except IdNumberError:
            number = ""
        if len(number) == 18:
            return queryset.filter(id_number_digest=digest(number)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("bank card"))
    def bank_card_masked(self, obj):
        return obj.bank_card_masked
