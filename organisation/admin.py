"""The Django admin for staff, limited to each user's node of the tree like every other page."""

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from mutualaid.searches import holds_id_number
from organisation.models import Member, Union, User
from organisation.selectors import scoped


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
    # Names only: an ID number never travels in a URL (the search box is a GET form), so one
    # typed here is sent to the portal's member search, which takes it by POST.
    search_fields = ("name",)
    exclude = ("id_number", "bank_card", "id_number_digest")
    readonly_fields = ("id_number_masked", "bank_card_masked", "birth_date", "gender")
    autocomplete_fields = ("union",)

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        if holds_id_number(request.GET.get(SEARCH_VAR, "")):
            messages.warning(
                request,
                _(
                    "Search by ID number on the member page of the portal: it keeps the number "
                    "out of web addresses."
                ),
            )
            return redirect("enrollment:member_list")
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("bank card"))
    def bank_card_masked(self, obj):
        return obj.bank_card_masked
