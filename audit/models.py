"""The audit table. Rows are only ever inserted: saving an existing row, deleting one and
bulk updates or deletes through the ORM raise; on PostgreSQL a trigger refuses them too."""

from __future__ import annotations

from typing import Any

from django.db import models


class AuditImmutable(Exception):
    """Someone tried to change or remove an audit row."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("Audit rows cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("Audit rows cannot be deleted.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AuditImmutable("Audit rows cannot be updated.")

    def for_search(
        self,
        *,
        actor: str = "",
        action: str = "",
        object_type: str = "",
        object_id: str = "",
        since: Any = None,
        until: Any = None,
    ) -> AuditEntryQuerySet:
        """Rows matching a staff search: actor by email (part) or id, action by prefix."""
        qs = self
        if actor:
            qs = (
                qs.filter(actor_user_id=int(actor))
                if actor.isdigit()
                else qs.filter(actor_email__icontains=actor)
            )
        if action:
            qs = qs.filter(action__startswith=action)
        if object_type:
            qs = qs.filter(object_type=object_type)
        if object_id:
            qs = qs.filter(object_id=object_id)
        if since is not None:
            qs = qs.filter(at__gte=since)
        if until is not None:
            qs = qs.filter(at__lt=until)
        return qs.order_by("-at", "-id")


class AuditEntry(models.Model):
    at = models.DateTimeField(db_index=True)
    # Not a foreign key: the trail outlives the accounts it names (deleting a user must not
    # touch, let alone remove, rows about what that user did).
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True, default="")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=100, blank=True, default="")  # app_label.model
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_repr = models.CharField(max_length=200, blank=True, default="")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["action", "at"], name="audit_action_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor_user_id", "at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_repr}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("Audit rows cannot be updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("Audit rows cannot be deleted.")
