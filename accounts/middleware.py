"""Security headers on every response, the browser session's user, last-seen tracking of
signed-in devices, and the viewer's language."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts import selectors, services, token_cache
from streamsite import shared_counters
from streamsite.client_address import client_address


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy (Django's SecurityMiddleware and
    XFrameOptionsMiddleware add nosniff, Referrer-Policy, X-Frame-Options and, in production,
    HSTS)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.ACCOUNTS_CSP
        self.relaxed = self.policy.replace(
            "script-src 'self'", "script-src 'self' 'unsafe-inline'"
        ).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        relaxed = any(request.path.startswith(p) for p in settings.ACCOUNTS_CSP_RELAXED_PREFIXES)
        # With DEBUG (make demo, never production: check --deploy refuses it) an error is
        # Django's technical page, styled inline: it gets the relaxed policy to be readable.
        relaxed = relaxed or (settings.DEBUG and response.status_code >= 400)
        response.headers.setdefault(
            "Content-Security-Policy", self.relaxed if relaxed else self.policy
        )
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        return response


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_user(request: HttpRequest) -> Any:
    """The user the request's session is signed in as, or AnonymousUser: what
    django.contrib.auth.get_user answers, with the user remembered by this process under the
    auth epoch (accounts.token_cache.user_lookup) instead of one query per request.

    The remembered user is the one ModelBackend.get_user returned (so active), and the
    session's auth hash is checked against it exactly as Django does; anything else (another
    backend, no such user, a hash that does not verify, whether by a password change, a
    sign-out-everywhere or a rotated secret key) goes to Django's own get_user, which decides
    and flushes the session when it must. Changes reach the memory at once through the epoch:
    saving or deleting a user, deactivation and revoking its sessions bump it.
    """
    session = request.session  # type: ignore[attr-defined]
    try:
        user_id = auth._get_user_session_key(request)  # type: ignore[attr-defined]
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path == MODEL_BACKEND and backend_path in settings.AUTHENTICATION_BACKENDS:
        user = token_cache.user_lookup(user_id)
        session_hash = session.get(HASH_SESSION_KEY)
        if (
            user is not None
            and session_hash
            and constant_time_compare(session_hash, user.get_session_auth_hash())
        ):
            return user
    return auth.get_user(request)


def _request_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class SessionAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, with `request.user` from `session_user`."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _request_user(request))  # type: ignore[assignment]


def seen_gate_key(session_key: str) -> str:
    return "accounts:seen:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


class DeviceSessionMiddleware:
    """Keeps each signed-in session's last-seen time and address, writing at most once a
    minute per session (a cache key gates the write, so most requests cost no query), after
    the view has answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not session_key:
            return self.get_response(request)
        interval = int(services.SESSION_TOUCH_INTERVAL.total_seconds())
        gate = seen_gate_key(session_key)
        # The gate is counted with the request's shared counters when the view reads them (one
        # round trip for both, streamsite.shared_counters); the first count of an interval
        # is the one that writes. A view that reads no counter: the gate is added here.
        shared_counters.also_count(gate, interval)
        response = self.get_response(request)
        count = shared_counters.take_count(gate)
        first = count == 1 if count is not None else cache.add(gate, 1, timeout=interval)
        if first:
            user_id = request.session.get(SESSION_KEY)
            if user_id is not None and request.session.session_key == session_key:
                services.session_touch(
                    user_id=int(user_id),
                    session_key=session_key,
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    ip=client_address(request),
                )
        return response


class ViewerLanguageMiddleware:
    """Activates the viewer's language for the request (`selectors.viewer_language`) and says
    which it was (Content-Language; Vary: Accept-Language). The language is restored after
    the response, so nothing outside a request inherits it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = selectors.viewer_language(request)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        with translation.override(language):
            response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", language)
        return response
