"""Django's sign-in and sign-out signals, connected in AccountsConfig.ready.

They fire for every way of signing in (our pages, the admin, tests' force_login), so the
device list is complete; each receiver only calls a service.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from accounts import services
from accounts.middleware import seen_gate_key


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
        ip=services.client_ip(request),
    )
    cache.set(seen_gate_key(key), 1, timeout=int(services.SESSION_TOUCH_INTERVAL.total_seconds()))


def forget_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    key = request.session.session_key if request is not None else None
    if key:
        services.session_forget(session_key=key)
