"""Profiles: create, edit, avatars, PINs, switching."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import avatars, selectors, throttle
from accounts.models import ApiToken, Maturity, Profile, ProfileUnlock, User
from accounts.services._core import fields_error, throttle_rule, try_again_in
from streamsite.errors import Conflict, PermissionDenied, RateLimited

PIN_LENGTH = 4


def _profile_fields(
    *, name: str | None, maturity: int | None, is_kids: bool | None, language: str | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise fields_error(gettext("A profile needs a name."), "name")
        if len(name) > 50:
            raise fields_error(gettext("Use at most 50 characters."), "name")
        fields["name"] = name
    if maturity is not None:
        if maturity not in Maturity.values:
            raise fields_error(gettext("Choose Kids, Teens or Adults."), "maturity")
        fields["maturity"] = maturity
    if is_kids is not None:
        fields["is_kids"] = is_kids
    if language is not None:
        language = language.strip()
        if not language or len(language) > 16:
            raise fields_error(gettext("Enter a language code such as 'en'."), "language")
        fields["language"] = language
    return fields


def _check_avatar(avatar: str | None) -> None:
    if avatar and avatar not in avatars.BUILTIN:
        raise fields_error(
            gettext("Choose one of the built-in avatars: %(avatars)s.")
            % {"avatars": ", ".join(avatars.BUILTIN)},
            "avatar",
        )


def _lock_account(account: User) -> None:
    # Serialises profile writes of one account so the limit and "last profile" hold.
    User.objects.select_for_update().filter(pk=account.pk).first()


@transaction.atomic
def profile_create(
    *,
    account: User,
    name: str,
    maturity: int = Maturity.ADULTS,
    is_kids: bool = False,
    language: str = "en",
    avatar: str = "",
    external_id: str = "",
) -> Profile:
    fields = _profile_fields(name=name, maturity=maturity, is_kids=is_kids, language=language)
    _check_avatar(avatar)
    _lock_account(account)
    limit = selectors.profile_limit(account)
    if Profile.objects.filter(account=account).count() >= limit:
        raise Conflict(
            gettext("This account already has the most profiles it may have (%(limit)d).")
            % {"limit": limit}
        )
    if Profile.objects.filter(account=account, name__iexact=fields["name"]).exists():
        raise fields_error(gettext("Another profile already has that name."), "name")
    if fields["is_kids"]:
        fields["maturity"] = Maturity.KIDS
    avatar = avatar or list(avatars.BUILTIN)[Profile.objects.filter(account=account).count() % 8]
    return Profile.objects.create(account=account, avatar=avatar, external_id=external_id, **fields)


@transaction.atomic
def profile_update(
    *,
    profile: Profile,
    name: str | None = None,
    maturity: int | None = None,
    is_kids: bool | None = None,
    language: str | None = None,
    avatar: str | None = None,
) -> Profile:
    fields = _profile_fields(name=name, maturity=maturity, is_kids=is_kids, language=language)
    _check_avatar(avatar)
    if (
        "name" in fields
        and Profile.objects.filter(account_id=profile.account_id, name__iexact=fields["name"])
        .exclude(pk=profile.pk)
        .exists()
    ):
        raise fields_error(gettext("Another profile already has that name."), "name")
    if avatar is not None:
        fields["avatar"] = avatar
    for key, value in fields.items():
        setattr(profile, key, value)
    if profile.is_kids:
        profile.maturity = Maturity.KIDS
        fields["maturity"] = Maturity.KIDS
    if fields:
        profile.save(update_fields=list(fields))
    return profile


def profile_avatar_upload(*, profile: Profile, upload: UploadedFile) -> Profile:
    """Resize an uploaded image to a 256x256 PNG and make it the profile's avatar."""
    content = avatars.resize_upload(upload)
    old = profile.avatar_image.name if profile.avatar_image else ""
    profile.avatar_image.save(content.name or "avatar.png", content, save=False)
    profile.save(update_fields=["avatar_image"])
    if old:
        profile.avatar_image.storage.delete(old)
    return profile


@transaction.atomic
def profile_delete(*, profile: Profile) -> None:
    """Delete a profile and everything personal in it. The last profile cannot be deleted."""
    account = User.objects.get(pk=profile.account_id)
    _lock_account(account)
    if Profile.objects.filter(account=account).count() <= 1:
        raise Conflict(gettext("The last profile cannot be deleted."))
    image = profile.avatar_image.name if profile.avatar_image else ""
    profile.delete()
    if image:
        storage = Profile._meta.get_field("avatar_image").storage  # type: ignore[attr-defined]
        transaction.on_commit(lambda: storage.delete(image))


def profile_pin_set(*, profile: Profile, account: User, password: str, pin: str | None) -> Profile:
    """Set (4 digits) or remove (None) a profile's PIN; needs the account password."""
    if not account.check_password(password):
        raise fields_error(gettext("Your account password is incorrect."), "password")
    if pin is not None and (len(pin) != PIN_LENGTH or not pin.isdigit()):
        raise fields_error(gettext("A PIN is exactly 4 digits."), "pin")
    profile.pin_hash = make_password(pin) if pin is not None else ""
    profile.save(update_fields=["pin_hash"])
    if pin is None:
        ProfileUnlock.objects.filter(profile=profile).delete()
    return profile


def profile_pin_verify(
    *, profile: Profile, pin: str, api_token: ApiToken | None = None
) -> datetime | None:
    """Check a profile's PIN (throttled per profile). With an API token, records an unlock
    for that token valid ACCOUNTS_PIN_UNLOCK_SECONDS and returns its expiry."""
    if not profile.has_pin:
        return None
    rule = throttle_rule("pin")
    ident = str(profile.pk)
    wait = throttle.locked_for(rule, ident)
    if wait:
        raise RateLimited(
            try_again_in(gettext("Too many wrong PINs."), wait),
            extra={"retry_after": wait},
        )
    if not check_password(pin, profile.pin_hash):
        throttle.register_failure(rule, ident)
        raise fields_error(gettext("That PIN is not right."), "pin")
    throttle.reset(rule, ident)
    if api_token is None:
        return None
    expires_at = timezone.now() + timedelta(seconds=settings.ACCOUNTS_PIN_UNLOCK_SECONDS)
    ProfileUnlock.objects.update_or_create(
        profile=profile, api_token=api_token, defaults={"expires_at": expires_at}
    )
    return expires_at


def profile_switch(*, request: Any, profile: Profile, pin: str | None = None) -> None:
    """Make `profile` the session's current profile (the PIN first, when it has one)."""
    if profile.has_pin:
        if pin is None:
            raise PermissionDenied(
                gettext("This profile is locked: enter its PIN."), code="pin_required"
            )
        profile_pin_verify(profile=profile, pin=pin)
    request.session[selectors.SESSION_PROFILE] = profile.pk
    request.session[selectors.SESSION_PROFILE_PIN_OK] = profile.has_pin
    # Forget the profile cached on the request (DRF wraps the HttpRequest: clear both).
    for target in (request, getattr(request, "_request", None)):
        if target is not None:
            vars(target).pop("_accounts_profile", None)
