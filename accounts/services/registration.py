"""Sign-up, address verification and address changes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import selectors, token_cache
from accounts.models import Profile, User
from accounts.services._core import (
    fields_error,
    normalise_email,
    queue_email,
    site_link,
    validate_new_password,
)
from accounts.tasks import queue_account_email, send_email_change
from audit.services import record
from streamsite.errors import ValidationFailed

VERIFY_SALT = "accounts.verify-email"
EMAIL_CHANGE_SALT = "accounts.change-email"


def signup(*, email: str, password: str, profile_name: str = "", language: str = "") -> User | None:
    """Register an account. Enumeration-safe: the caller answers the same either way.

    A new address gets an account (with a first profile) and a verification link; an address
    already registered gets a note instead, and nothing changes. Returns the new user or None.
    Both paths do the same work, so their timing does not tell them apart either: one password
    hash (the known address's is thrown away) and one email handed to the queue.
    `language` (the one the visitor signed up in) becomes the account's and the first
    profile's, so emails sent later, off any request, are in it too.
    """
    language = selectors.supported_language(language) or ""
    email = normalise_email(email)
    validate_new_password(password, User(email=email))
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)  # the hash a new account would cost, so timing says nothing
        queue_email(email, "signup_existing", login_url=site_link("accounts:login"))
        return None
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, password, language=language)
            name = (profile_name.strip() or email.split("@")[0])[:50]
            Profile.objects.create(account=user, name=name, language=language or "en")
    except IntegrityError:  # registered concurrently
        queue_email(email, "signup_existing", login_url=site_link("accounts:login"))
        return None
    email_verification_send(user=user)
    return user


def email_verification_send(*, user: User) -> None:
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)
    queue_email(
        user.email, "verify", language=user.language, verify_url=site_link("accounts:verify", token)
    )


def email_verify(*, token: str) -> User:
    """Mark the address in a verification link as verified (or apply a confirmed change)."""
    max_age = settings.ACCOUNTS_EMAIL_LINK_MAX_AGE
    for salt in (VERIFY_SALT, EMAIL_CHANGE_SALT):
        try:
            data = signing.loads(token, salt=salt, max_age=max_age)
        except signing.BadSignature:
            continue
        user = User.objects.filter(pk=data.get("u"), is_active=True).first()
        if user is None:
            break
        if salt == VERIFY_SALT:
            if user.email != data.get("e"):
                break
            if user.email_verified_at is None:
                User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(
                    email_verified_at=timezone.now()
                )
                token_cache.auth_changed()  # users remembered for sessions
                user.refresh_from_db(fields=["email_verified_at"])
            return user
        if user.email != data.get("old"):
            break
        new_email = data["e"]
        with transaction.atomic():
            if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
                raise ValidationFailed(gettext("That address now belongs to another account."))
            user.email = new_email
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email", "email_verified_at"])
            record(
                action="account.email_change",
                obj=user,
                actor=user,
                before={"email": data["old"]},
                after={"email": new_email},
            )
        return user
    raise ValidationFailed(gettext("This link is invalid or has expired. Ask for a new one."))


def email_change_request(*, user: User, password: str, new_email: str) -> None:
    """Send a confirmation link to the new address; the change happens when it is followed."""
    if not user.check_password(password):
        raise fields_error(gettext("Your password is incorrect."), "password")
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise fields_error(gettext("That is already your address."), "email")
    # Whether the address is taken is decided by the task: the same work and answer here.
    send_email_change.delay_on_commit(  # type: ignore[attr-defined]
        user_id=user.pk, old_email=user.email, new_email=new_email
    )


def email_change_send(*, user_id: int, old_email: str, new_email: str) -> str:
    """Send the confirmation link to the new address (and a notice to the old one), or, when
    the address already has an account, warn its owner instead. Returns what was sent."""
    if User.objects.filter(email__iexact=new_email).exists():
        queue_account_email(to=new_email, template="email_change_taken", context={})
        return "taken"
    token = signing.dumps({"u": user_id, "e": new_email, "old": old_email}, salt=EMAIL_CHANGE_SALT)
    language = User.objects.filter(pk=user_id).values_list("language", flat=True).first() or ""
    queue_account_email(
        to=new_email,
        template="email_change",
        context={"verify_url": site_link("accounts:verify", token)},
        language=language,
    )
    queue_account_email(
        to=old_email,
        template="email_change_notice",
        context={"new_email": new_email},
        language=language,
    )
    return "sent"
