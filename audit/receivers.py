"""Audit rows for what Django itself signals: sign-ins, failed sign-ins and role changes
(is_staff / is_superuser flips, group membership, a group's permissions). Connected in
AuditConfig.ready; the rows are written in the transaction of the save that fired them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_save

from audit.services import record

ROLE_FLAGS = ("is_staff", "is_superuser")


def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(action="auth.sign_in", obj=user, actor=user, request=request)


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # Django has already masked the password; only the address typed is kept.
    typed = str(credentials.get("email") or credentials.get("username") or "")[:200]
    user = get_user_model().objects.filter(email__iexact=typed).first() if typed else None
    record(
        action="auth.sign_in_failed",
        object_type="accounts.user",
        object_id=user.pk if user is not None else "",
        object_repr=typed,
        request=request,
    )


def _user_flags_before(sender: Any, instance: Any, update_fields: Any = None, **kw: Any) -> None:
    if update_fields is not None and not set(update_fields) & set(ROLE_FLAGS):
        return
    old = sender.objects.filter(pk=instance.pk).values(*ROLE_FLAGS).first() if instance.pk else None
    instance._audit_role_flags = old


def _user_flags_after(sender: Any, instance: Any, created: bool, **kw: Any) -> None:
    old = instance.__dict__.pop("_audit_role_flags", None)
    new = {f: getattr(instance, f) for f in ROLE_FLAGS}
    if created:
        if any(new.values()):
            record(action="role.change", obj=instance, before={}, after=new)
        return
    if old is None:
        return
    changed = [f for f in ROLE_FLAGS if old[f] != new[f]]
    if changed:
        record(
            action="role.change",
            obj=instance,
            before={f: old[f] for f in changed},
            after={f: new[f] for f in changed},
        )


def _group_names(pks: Any) -> list[str]:
    return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))


def _groups_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kw: Any):
    """User.groups changed, from either side (user.groups.add or group.user_set.add)."""
    if action not in ("pre_clear", "post_add", "post_remove"):
        return
    user_model = get_user_model()
    if reverse:  # instance is a Group; pk_set are users
        pairs = [(u, [instance.name]) for u in user_model.objects.filter(pk__in=pk_set or ())]
        if action == "pre_clear":
            pairs = [(u, [instance.name]) for u in instance.user_set.all()]
    else:
        names = (
            _group_names(instance.groups.values_list("pk", flat=True))
            if action == "pre_clear"
            else _group_names(pk_set or ())
        )
        pairs = [(instance, names)] if names else []
    key = "added" if action == "post_add" else "removed"
    for user, names in pairs:
        record(action="role.change", obj=user, after={f"groups_{key}": names})


def _group_permissions_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kw: Any
) -> None:
    if reverse or action not in ("pre_clear", "post_add", "post_remove"):
        return
    pks = instance.permissions.values_list("pk", flat=True) if action == "pre_clear" else pk_set
    perms = sorted(
        f"{app}.{code}"
        for app, code in Permission.objects.filter(pk__in=pks or ()).values_list(
            "content_type__app_label", "codename"
        )
    )
    if perms:
        key = "added" if action == "post_add" else "removed"
        record(action="role.group_permissions", obj=instance, after={f"permissions_{key}": perms})


def connect() -> None:
    user_model = get_user_model()
    user_logged_in.connect(signed_in, dispatch_uid="audit.sign_in")
    user_login_failed.connect(sign_in_failed, dispatch_uid="audit.sign_in_failed")
    pre_save.connect(_user_flags_before, sender=user_model, dispatch_uid="audit.role_flags_pre")
    post_save.connect(_user_flags_after, sender=user_model, dispatch_uid="audit.role_flags_post")
    m2m_changed.connect(
        _groups_changed, sender=user_model.groups.through, dispatch_uid="audit.groups"
    )
    m2m_changed.connect(
        _group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="audit.group_permissions",
    )
