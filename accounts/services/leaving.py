"""The account itself: deletion with its export, and staff deactivation."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from accounts import selectors, session_store, token_cache
from accounts.models import ApiToken, Profile, User, UserSession
from accounts.services._core import fields_error
from accounts.services.devices import sessions_revoke_all
from accounts.tasks import queue_account_email
from audit.services import record


def account_delete(*, user: User, password: str) -> dict[str, Any]:
    """Delete the account and everything in it, after emailing its JSON export to the owner.

    Other apps first close what they hold (ACCOUNTS_ERASE_PROVIDERS, e.g. billing: the
    subscription canceled at once, cards detached at the gateway, invoices and payments kept
    without the person). They may call remote services, so they run before and outside the
    deletion's transaction; one that refuses (a payment in flight: 409; the gateway down:
    503) leaves the account in place. Uploaded avatars are deleted from storage after commit.
    Returns the export (the page also offers it for download before deleting).
    """
    if not user.check_password(password):
        raise fields_error(gettext("Your password is incorrect."), "password")
    export = selectors.account_export(user)
    for dotted in settings.ACCOUNTS_ERASE_PROVIDERS:
        import_string(dotted)(user)
    storage = Profile._meta.get_field("avatar_image").storage  # type: ignore[attr-defined]
    images = [
        name
        for name in Profile.objects.filter(account=user).values_list("avatar_image", flat=True)
        if name
    ]
    with transaction.atomic():
        keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
        session_store.delete_sessions(keys)
        email, language = user.email, user.language
        user.delete()
        for name in images:
            transaction.on_commit(lambda name=name: storage.delete(name))  # type: ignore[misc]
        queue_account_email(
            to=email,
            template="account_deleted",
            context={},
            language=language,
            attachments=[
                ("streamsite-export.json", json.dumps(export, indent=2), "application/json")
            ],
        )
    return export


@transaction.atomic
def account_deactivate(*, user: User) -> None:
    """Staff: stop the account from signing in and sign it out everywhere."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    record(action="account.deactivate", obj=user, before={"is_active": True})
    user.is_active = False
    sessions_revoke_all(user=user)
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token_cache.auth_changed()
