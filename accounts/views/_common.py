"""Shared by the accounts pages: the signed-in user, a safe next URL, keeping this session
through a credentials change, a form's status code."""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import forms, services
from accounts.models import User


def current_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def keep_signed_in(request: HttpRequest, user: User) -> None:
    """After a password change or sign-out-others: keep this session (its key rotates)."""
    old_key = request.session.session_key
    update_session_auth_hash(request, user)
    if old_key and request.session.session_key:
        services.session_rekey(old_key=old_key, new_key=request.session.session_key)


def form_status(form: forms.Form) -> int:
    return 400 if form.is_bound and form.errors else 200
