"""Celery adapters for accounts."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete expired sessions (idempotent: a second run finds nothing to delete)."""
    from accounts.models import UserSession
    from accounts.session_store import delete_sessions

    expired = Session.objects.filter(expire_date__lt=timezone.now())
    keys = list(expired.values_list("session_key", flat=True)[:10_000])
    UserSession.objects.filter(session_key__in=keys).delete()
    return delete_sessions(keys)


@shared_task(name="accounts.tasks.flush_token_touches")
def flush_token_touches() -> int:
    """Write the API tokens' noted last uses (accounts.token_touch; safe to run twice)."""
    from accounts import token_touch

    return token_touch.flush()


def render_account_email(
    *, template: str, context: dict[str, Any], language: str = ""
) -> tuple[str, str]:
    """(subject, body) of accounts/email/<template>_subject.txt and <template>.txt, in
    `language` (the account's) when the site offers it, else in the active language (the
    request's; LANGUAGE_CODE off a request)."""
    from accounts.selectors import supported_language

    context = {**context, "site_url": settings.ACCOUNTS_SITE_URL}
    with translation.override(supported_language(language) or translation.get_language()):
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
        body = render_to_string(f"accounts/email/{template}.txt", context)
    return " ".join(subject.split()), body


def queue_account_email(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    attachments: list[tuple[str, str, str]] | None = None,
    language: str = "",
) -> None:
    """Render now (in `language`, see render_account_email) and store in the outbox with the
    caller's transaction (sent after commit, swept if its message is lost)."""
    from streamsite.outbox import email_enqueue

    subject, body = render_account_email(template=template, context=context, language=language)
    email_enqueue(to=to, subject=subject, body=body, attachments=attachments or ())


# Kept for messages queued before the outbox existed; new code calls queue_account_email.
@shared_task(
    name="accounts.tasks.send_account_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_account_email(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    attachments: list[tuple[str, str, str]] | None = None,
) -> None:
    """Render accounts/email/<template>_subject.txt and <template>.txt and send them."""
    subject, body = render_account_email(template=template, context=context)
    message = EmailMessage(subject=subject, body=body, to=[to])
    for filename, content, mimetype in attachments or []:
        message.attach(filename, content, mimetype)
    message.send()


@shared_task(name="accounts.tasks.send_password_reset")
def send_password_reset(*, email: str) -> bool:
    """The lookup behind a reset request, off the request path (no enumeration by timing)."""
    from accounts.services import password_reset_send

    return password_reset_send(email=email)


@shared_task(name="accounts.tasks.send_email_change")
def send_email_change(*, user_id: int, old_email: str, new_email: str) -> str:
    """The "is it taken?" decision behind an email change, off the request path."""
    from accounts.services import email_change_send

    return email_change_send(user_id=user_id, old_email=old_email, new_email=new_email)
