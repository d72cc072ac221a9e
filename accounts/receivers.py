"""Django's sign-in and sign-out signals, connected in AccountsConfig.ready.

They fire for every way of signing in (our pages, the admin, tests' force_login), so the
device list is complete; each receiver only calls a service.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest

from accounts import services, token_cache
from accounts.middleware import seen_gate_key
from streamsite.client_address import client_address


def record_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    if request.session.session_key is None:
        request.session.save()
    key = request.session.session_key
    assert key is not None
    services.session_touch(
        user_id=user.pk,
        session_key=key,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=client_address(request),
    )
    cache.set(seen_gate_key(key), 1, timeout=int(services.SESSION_TOUCH_INTERVAL.total_seconds()))


def forget_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    key = request.session.session_key if request is not None else None
    if key:
        services.session_forget(session_key=key)


def _user_saved(sender: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every sign-in saves last_login; nothing a token lookup depends on
    token_cache.auth_changed()


def _auth_changed(sender: Any, **kwargs: Any) -> None:
    token_cache.auth_changed()


def _m2m_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        token_cache.auth_changed()


def connect_auth_changes() -> None:
    """Whatever a remembered API token's user, permissions or state depend on."""
    from django.contrib.auth.models import Group

    from accounts.models import ApiToken, Profile, User

    post_save.connect(_user_saved, sender=User, dispatch_uid="accounts.auth.user_saved")
    post_delete.connect(_auth_changed, sender=User, dispatch_uid="accounts.auth.user_deleted")
    for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
        signal.connect(_auth_changed, sender=ApiToken, dispatch_uid=f"accounts.auth.token_{name}")
        # Remembered profiles too (token_cache.profile_lookup): maturity, PIN, language.
        signal.connect(_auth_changed, sender=Profile, dispatch_uid=f"accounts.auth.profile_{name}")
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(
            _m2m_changed, sender=through, dispatch_uid=f"accounts.auth.m2m.{through.__name__}"
        )
