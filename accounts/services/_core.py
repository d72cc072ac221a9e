"""Shared by the accounts services: throttle rules, field errors, links and emails, password
and address checks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from accounts import throttle
from accounts.models import User
from accounts.tasks import queue_account_email
from streamsite.errors import ValidationFailed


def throttle_rule(name: str) -> throttle.Rule:
    limits = settings.ACCOUNTS_THROTTLE[name]
    return throttle.Rule(
        name,
        limits["limit"],
        limits["window"],
        limits["cooloff"],
        progressive=bool(limits.get("progressive", False)),
        max_cooloff=int(limits.get("max_cooloff", 0)),
        locks=bool(limits.get("locks", True)),
    )


def fields_error(message: str, field: str, errors: list[str] | None = None) -> ValidationFailed:
    return ValidationFailed(message, extra={"fields": {field: errors or [message]}})


def site_link(name: str, *args: Any) -> str:
    return settings.ACCOUNTS_SITE_URL.rstrip("/") + reverse(name, args=args)


def queue_email(to: str, template: str, *, language: str = "", **context: Any) -> None:
    queue_account_email(to=to, template=template, context=context, language=language)


def validate_new_password(password: str, user: User | None) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise fields_error(exc.messages[0], "password", list(exc.messages)) from None


def try_again_in(refusal: str, wait: int) -> str:
    minutes = max(1, (wait + 59) // 60)
    return ngettext(
        "%(refusal)s Try again in %(minutes)d minute.",
        "%(refusal)s Try again in %(minutes)d minutes.",
        minutes,
    ) % {"refusal": refusal, "minutes": minutes}


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise fields_error(gettext("Enter a valid email address."), "email") from None
    return email
