from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from audit import receivers

        receivers.connect()


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: every ModelAdmin audited, roles enforced."""

    default = False
    default_site = "audit.admin_site.StaffAdminSite"
