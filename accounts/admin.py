"""Staff screens: users with their profiles, devices and tokens; deactivate, sign out."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import ApiToken, Profile, User, UserSession
from streamsite import roles


class ProfileInline(admin.TabularInline):
    model = Profile
    extra = 0
    fields = ["name", "maturity", "is_kids", "language", "avatar", "external_id", "created_at"]
    readonly_fields = ["created_at"]
    show_change_link = False


class UserSessionInline(admin.TabularInline):
    model = UserSession
    extra = 0
    fields = ["device_name", "ip", "location", "created_at", "last_seen_at"]
    readonly_fields = ["device_name", "ip", "location", "created_at", "last_seen_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "country", "is_active", "is_staff", "email_verified_at", "date_joined"]
    list_filter = ["is_active", "is_staff", "country"]
    search_fields = ["email"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Account", {"fields": ("country", "email_verified_at", "date_joined", "last_login")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ["date_joined", "last_login"]
    inlines = [ProfileInline, UserSessionInline]
    actions = ["deactivate", "sign_out_everywhere"]
    ROLE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if not roles.can_change_roles(request.user):
            fields += [f for f in self.ROLE_FIELDS if f not in fields]
        return fields

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return roles.can_deactivate_accounts(request.user)

    def has_revoke_sessions_permission(self, request: HttpRequest) -> bool:
        return roles.can_revoke_sessions(request.user)

    @admin.action(description="Deactivate (and sign out everywhere)", permissions=["deactivate"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset.order_by("pk"))
        for user in users:
            services.account_deactivate(user=user)
        self.message_user(request, f"Deactivated {len(users)} account(s).", messages.SUCCESS)

    @admin.action(description="Sign out everywhere", permissions=["revoke_sessions"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset.order_by("pk"))
        for user in users:
            services.sessions_revoke_all(user=user)
        self.message_user(
            request, f"Signed {len(users)} account(s) out everywhere.", messages.SUCCESS
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    search_fields = ["user__email", "name", "prefix"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]
    list_select_related = ["user"]
