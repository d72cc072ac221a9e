"""Writes for accounts. Every important change to an account goes through a function here."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop, ngettext

from accounts import (
    avatars,
    selectors,
    session_store,
    throttle,
    token_cache,
    token_touch,
    tokens,
)
from accounts.models import (
    ApiToken,
    Maturity,
    Profile,
    ProfileUnlock,
    RecoveryCode,
    TotpDevice,
    User,
    UserSession,
)
from accounts.tasks import queue_account_email, send_email_change, send_password_reset
from accounts.useragent import device_name
from audit.services import record
from streamsite.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)

# last_used_at is written at most this often per token, so reads stay reads.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)
# A device's last_seen_at is written at most this often.
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)
VERIFY_SALT = "accounts.verify-email"
EMAIL_CHANGE_SALT = "accounts.change-email"
LOGIN_FAILED = gettext_noop("Email or password is incorrect.")
PIN_LENGTH = 4
RECOVERY_CODE_COUNT = 10


def _rule(name: str) -> throttle.Rule:
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


def _fields_error(message: str, field: str, errors: list[str] | None = None) -> ValidationFailed:
    return ValidationFailed(message, extra={"fields": {field: errors or [message]}})


def _link(name: str, *args: Any) -> str:
    return settings.ACCOUNTS_SITE_URL.rstrip("/") + reverse(name, args=args)


def _send(to: str, template: str, *, language: str = "", **context: Any) -> None:
    queue_account_email(to=to, template=template, context=context, language=language)


def _validate_password(password: str, user: User | None) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise _fields_error(exc.messages[0], "password", list(exc.messages)) from None


def _try_again_in(refusal: str, wait: int) -> str:
    minutes = max(1, (wait + 59) // 60)
    return ngettext(
        "%(refusal)s Try again in %(minutes)d minute.",
        "%(refusal)s Try again in %(minutes)d minutes.",
        minutes,
    ) % {"refusal": refusal, "minutes": minutes}


def _normalise_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise _fields_error(gettext("Enter a valid email address."), "email") from None
    return email


# --- Sign-up, verification, sign-in ---------------------------------------------------------


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
    email = _normalise_email(email)
    _validate_password(password, User(email=email))
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)  # the hash a new account would cost, so timing says nothing
        _send(email, "signup_existing", login_url=_link("accounts:login"))
        return None
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, password, language=language)
            name = (profile_name.strip() or email.split("@")[0])[:50]
            Profile.objects.create(account=user, name=name, language=language or "en")
    except IntegrityError:  # registered concurrently
        _send(email, "signup_existing", login_url=_link("accounts:login"))
        return None
    email_verification_send(user=user)
    return user


def email_verification_send(*, user: User) -> None:
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)
    _send(user.email, "verify", language=user.language, verify_url=_link("accounts:verify", token))


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


UNLOCK_SALT = "accounts.unlock"
KNOWN_DEVICE_SALT = "accounts.known-device"
# An emailed unlock link works this long, and lets its address in for as long again.
UNLOCK_SECONDS = 15 * 60


def _pair(email_key: str, ip: str) -> str:
    return f"{email_key}|{ip}"


def login_check(
    *,
    request: HttpRequest | None,
    email: str,
    password: str,
    ip: str,
    known_device_user_id: int | None = None,
) -> User:
    """Check credentials, throttled so that an attacker cannot lock the owner out.

    Failures count per (address, client address) with progressive delays (`login_pair`: 5 free,
    then 30 s doubling to 15 min; a locked attempt costs no hash) and per client address across
    addresses (`login_ip`). Per address there is only a ceiling (`login_account`): past it, the
    right password alone still signs in from a known device (`known_device_user_id`, from the
    browser's signed cookie), with a second factor (the caller asks for it when 2FA is on), or
    after an emailed unlock link; otherwise the owner is sent that link (PermissionDenied
    `unlock_required`). Every failure answers the same message whether or not the address
    exists. A correct password for an unverified address sends a fresh link and is refused.
    """
    email_key = email.strip().lower()
    pair_rule, ip_rule, account_rule = (
        _rule("login_pair"),
        _rule("login_ip"),
        _rule("login_account"),
    )
    pair = _pair(email_key, ip)
    wait = max(throttle.locked_for(pair_rule, pair), throttle.locked_for(ip_rule, ip))
    if wait:
        minutes = max(1, (wait + 59) // 60)
        raise RateLimited(
            ngettext(
                "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
            extra={"retry_after": wait},
        )
    user = authenticate(request, email=email_key, password=password)
    if user is None:
        throttle.register_failure(pair_rule, pair)
        throttle.register_failure(ip_rule, ip)
        throttle.register_failure(account_rule, email_key)
        raise Unauthenticated(gettext(LOGIN_FAILED), code="invalid_credentials")
    throttle.reset(pair_rule, pair)
    assert isinstance(user, User)
    if user.email_verified_at is None and not user.is_staff:
        email_verification_send(user=user)
        raise PermissionDenied(
            gettext("Please confirm your email address first: we have sent you a new link."),
            code="email_unverified",
        )
    under_pressure = throttle.failures(account_rule, email_key) >= account_rule.limit
    if (
        under_pressure
        and known_device_user_id != user.pk
        and not throttle.marked(pair_rule, pair, "unlocked")
        and not selectors.two_factor_enabled(user)
    ):
        login_unlock_send(user=user, ip=ip)
        raise PermissionDenied(
            gettext(
                "Many failed sign-ins for this account came from elsewhere, so this device must be "
                "confirmed: we have emailed you a link. Follow it, then sign in again."
            ),
            code="unlock_required",
        )
    return user


def login_unlock_send(*, user: User, ip: str) -> None:
    """Email the owner a link that lets the address `ip` sign in past the ceiling."""
    token = signing.dumps({"u": user.pk, "a": ip}, salt=UNLOCK_SALT)
    _send(
        user.email,
        "login_unlock",
        language=user.language,
        unlock_url=_link("accounts:login-unlock", token),
    )


def login_unlock(*, token: str) -> User:
    """Follow an emailed unlock link: its address may sign in past the ceiling for a while."""
    try:
        data = signing.loads(token, salt=UNLOCK_SALT, max_age=UNLOCK_SECONDS)
    except signing.BadSignature:
        raise ValidationFailed(
            gettext("This link is invalid or has expired. Sign in again.")
        ) from None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None:
        raise ValidationFailed(gettext("This link is invalid or has expired. Sign in again."))
    pair = _pair(user.email.lower(), str(data.get("a")))
    throttle.reset(_rule("login_pair"), pair)
    throttle.mark(_rule("login_pair"), pair, "unlocked", UNLOCK_SECONDS)
    return user


def known_device_cookie(*, user: User) -> str:
    """The signed value a browser keeps after a sign-in, naming its account (not a secret)."""
    return signing.dumps({"u": user.pk}, salt=KNOWN_DEVICE_SALT)


def known_device_user_id(value: str | None) -> int | None:
    if not value:
        return None
    try:
        data = signing.loads(value, salt=KNOWN_DEVICE_SALT, max_age=365 * 24 * 3600)
    except signing.BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def _credentials_end(
    *, user: User, keep_session_key: str | None, keep_api_tokens: bool
) -> tuple[int, int]:
    """After a new password: end the other browser sessions and (unless kept) revoke every API
    token, so a stolen session or token dies with the old password. Returns the counts."""
    sessions = sessions_revoke_all(user=user, keep_session_key=keep_session_key)
    tokens_revoked = 0
    if not keep_api_tokens:
        tokens_revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token_cache.auth_changed()
    return sessions, tokens_revoked


@transaction.atomic
def password_change(
    *,
    user: User,
    old_password: str,
    new_password: str,
    keep_session_key: str | None = None,
    keep_api_tokens: bool = False,
) -> tuple[int, int]:
    """Change the password. Every other session is signed out and, by default, every API token
    revoked; the security email says which. Returns (sessions ended, tokens revoked). The kept
    session must be re-hashed by the caller (update_session_auth_hash)."""
    if not user.check_password(old_password):
        raise _fields_error(gettext("Your current password is incorrect."), "old_password")
    _validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record(action="account.password_change", obj=user)
    sessions, tokens_revoked = _credentials_end(
        user=user, keep_session_key=keep_session_key, keep_api_tokens=keep_api_tokens
    )
    _send(
        user.email,
        "password_changed",
        language=user.language,
        sessions_ended=sessions,
        tokens_revoked=tokens_revoked,
        tokens_kept=keep_api_tokens,
        reset=False,
    )
    return sessions, tokens_revoked


def password_reset_request(*, email: str) -> None:
    """Queue a reset link for the address. Whether it has an account is looked up by the task,
    not here: the request does the same work (one enqueue) for known and unknown addresses."""
    send_password_reset.delay_on_commit(email=email.strip())  # type: ignore[attr-defined]


def password_reset_send(*, email: str) -> bool:
    """Send a reset link when the address has an active account; returns whether one was sent."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    queue_account_email(
        to=user.email,
        template="password_reset",
        context={"reset_url": _link("accounts:reset-confirm", uid, token)},
        language=user.language,
    )
    return True


def password_reset_user(*, uidb64: str, token: str) -> User:
    """The user a reset link is for; ValidationFailed when it is invalid or used."""
    try:
        user = User.objects.filter(pk=int(force_str(urlsafe_base64_decode(uidb64)))).first()
    except (ValueError, TypeError, OverflowError):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationFailed(gettext("This reset link is invalid or has already been used."))
    return user


@transaction.atomic
def password_reset_confirm(*, uidb64: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link: every session ends and every API token is revoked
    (whoever knew the old password may hold them); the security email says so."""
    user = password_reset_user(uidb64=uidb64, token=token)
    _validate_password(new_password, user)
    user.set_password(new_password)
    if user.email_verified_at is None:  # the link proved the address
        user.email_verified_at = timezone.now()
    user.save(update_fields=["password", "email_verified_at"])
    record(action="account.password_reset", obj=user, actor=user)
    sessions, tokens_revoked = _credentials_end(
        user=user, keep_session_key=None, keep_api_tokens=False
    )
    _send(
        user.email,
        "password_changed",
        language=user.language,
        sessions_ended=sessions,
        tokens_revoked=tokens_revoked,
        tokens_kept=False,
        reset=True,
    )
    return user


def email_change_request(*, user: User, password: str, new_email: str) -> None:
    """Send a confirmation link to the new address; the change happens when it is followed."""
    if not user.check_password(password):
        raise _fields_error(gettext("Your password is incorrect."), "password")
    new_email = _normalise_email(new_email)
    if new_email == user.email:
        raise _fields_error(gettext("That is already your address."), "email")
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
        context={"verify_url": _link("accounts:verify", token)},
        language=language,
    )
    queue_account_email(
        to=old_email,
        template="email_change_notice",
        context={"new_email": new_email},
        language=language,
    )
    return "sent"


# --- Profiles -------------------------------------------------------------------------------


def _profile_fields(
    *, name: str | None, maturity: int | None, is_kids: bool | None, language: str | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise _fields_error(gettext("A profile needs a name."), "name")
        if len(name) > 50:
            raise _fields_error(gettext("Use at most 50 characters."), "name")
        fields["name"] = name
    if maturity is not None:
        if maturity not in Maturity.values:
            raise _fields_error(gettext("Choose Kids, Teens or Adults."), "maturity")
        fields["maturity"] = maturity
    if is_kids is not None:
        fields["is_kids"] = is_kids
    if language is not None:
        language = language.strip()
        if not language or len(language) > 16:
            raise _fields_error(gettext("Enter a language code such as 'en'."), "language")
        fields["language"] = language
    return fields


def _check_avatar(avatar: str | None) -> None:
    if avatar and avatar not in avatars.BUILTIN:
        raise _fields_error(
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
        raise _fields_error(gettext("Another profile already has that name."), "name")
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
        raise _fields_error(gettext("Another profile already has that name."), "name")
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
        raise _fields_error(gettext("Your account password is incorrect."), "password")
    if pin is not None and (len(pin) != PIN_LENGTH or not pin.isdigit()):
        raise _fields_error(gettext("A PIN is exactly 4 digits."), "pin")
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
    rule = _rule("pin")
    ident = str(profile.pk)
    wait = throttle.locked_for(rule, ident)
    if wait:
        raise RateLimited(
            _try_again_in(gettext("Too many wrong PINs."), wait),
            extra={"retry_after": wait},
        )
    if not check_password(pin, profile.pin_hash):
        throttle.register_failure(rule, ident)
        raise _fields_error(gettext("That PIN is not right."), "pin")
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


# --- Devices and sessions -------------------------------------------------------------------


def session_touch(
    *,
    user_id: int,
    session_key: str,
    user_agent: str,
    ip: str | None,
    now: datetime | None = None,
) -> None:
    """Record that a session was seen (creates its device row on first sight)."""
    now = now or timezone.now()
    updated = UserSession.objects.filter(session_key=session_key, user_id=user_id).update(
        last_seen_at=now, ip=ip
    )
    if updated:
        return
    try:
        with transaction.atomic():
            UserSession.objects.create(
                session_key=session_key,
                user_id=user_id,
                user_agent=user_agent[:400],
                device_name=device_name(user_agent),
                ip=ip,
                location=_locate(ip),
                created_at=now,
                last_seen_at=now,
            )
    except IntegrityError:
        pass  # recorded concurrently, or the key moved to another user: leave it


def session_rekey(*, old_key: str, new_key: str) -> None:
    """The session kept its sign-in under a new key (rotation): move its device row."""
    if old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def session_forget(*, session_key: str) -> None:
    """The session ended (signed out): drop its device row."""
    UserSession.objects.filter(session_key=session_key).delete()


def _locate(ip: str | None) -> str:
    path = settings.ACCOUNTS_GEOIP_PATH
    if not path or not ip:
        return ""
    try:
        from django.contrib.gis.geoip2 import GeoIP2

        city = GeoIP2(path).city(ip)
    except Exception:  # noqa: BLE001 - location is a nicety; never fail a request over it
        return ""
    parts = [city.get("city"), city.get("country_name")]
    return ", ".join(p for p in parts if p)[:100]


@transaction.atomic
def session_revoke(*, user: User, session_id: int) -> None:
    """Sign out one device of the user's; another user's id is 404."""
    row = UserSession.objects.filter(pk=session_id, user=user).first()
    if row is None:
        raise NotFound(gettext("No such session."))
    session_store.delete_sessions([row.session_key])
    record(action="session.revoke", obj=user, before={"device": row.device_name, "ip": row.ip})
    row.delete()


@transaction.atomic
def sessions_revoke_all(*, user: User, keep_session_key: str | None = None) -> int:
    """Sign out every session of the account (but `keep_session_key`); returns how many.

    Bumping session_epoch changes the session auth hash, which signs out even sessions that
    were never recorded; the kept session must then be re-hashed by the caller
    (django.contrib.auth.update_session_auth_hash).
    """
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    token_cache.auth_changed()  # users remembered for sessions: the hash changed
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    session_store.delete_sessions(keys)
    rows.delete()
    record(action="session.revoke_all", obj=user, after={"sessions_ended": len(keys)})
    return len(keys)


# --- API tokens -----------------------------------------------------------------------------


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plaintext, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise _fields_error(gettext("A token needs a name."), "name")
    if expires_at is not None and expires_at <= timezone.now():
        raise _fields_error(gettext("The expiry must be in the future."), "expires_at")
    plaintext = tokens.generate()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=tokens.display_prefix(plaintext),
        digest=tokens.digest(plaintext),
        expires_at=expires_at,
    )
    record(action="token.create", obj=token, actor=user, after={"prefix": token.prefix})
    return token, plaintext


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens. Revoking twice is harmless; another user's id is 404."""
    token = ApiToken.objects.for_user(user).filter(pk=token_id).first()
    if token is None:
        raise NotFound(gettext("No such token."))
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record(action="token.revoke", obj=token, after={"prefix": token.prefix})
    token_cache.auth_changed()
    token.refresh_from_db(fields=["revoked_at"])
    return token


def _touch_due(token: ApiToken, now: datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    """Record that the token was used, at most once per TOKEN_TOUCH_INTERVAL: noted in the
    process and sent in a batch (accounts.token_touch), or written when the cache is not
    Redis."""
    now = now or timezone.now()
    if _touch_due(token, now):
        if not token_touch.note_later(token.pk, now):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # else by the flush
        token.last_used_at = now


# --- Two-factor authentication (TOTP) -------------------------------------------------------


def _code_digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def totp_begin(*, user: User) -> TotpDevice:
    """Start enrolment: a fresh secret, unconfirmed until a code from it is entered."""
    if selectors.two_factor_enabled(user):
        raise Conflict(gettext("Two-factor authentication is already on."))
    device, _ = TotpDevice.objects.update_or_create(
        user=user,
        defaults={"secret": pyotp.random_base32(), "confirmed_at": None, "last_step": 0},
    )
    return device


def _totp_accept(device: TotpDevice, code: str, now: datetime) -> bool:
    """Accept a code for the current step (±1 for clock drift) exactly once."""
    code = code.replace(" ", "").strip()
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(device.secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            # The conditional update is the claim: a replay (same or older step) matches 0 rows.
            return (
                TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step)
                == 1
            )
    return False


@transaction.atomic
def totp_confirm(*, user: User, code: str, now: datetime | None = None) -> list[str]:
    """Confirm enrolment with a first code; returns the recovery codes (shown once)."""
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise Conflict(gettext("Start setting up two-factor authentication first."))
    if not _totp_accept(device, code, now or timezone.now()):
        raise _fields_error(
            gettext("That code is not right; check your authenticator's clock."), "code"
        )
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=now or timezone.now())
    record(action="account.2fa_enable", obj=user)
    codes = recovery_codes_regenerate(user=user)
    _send(user.email, "two_factor_on", language=user.language)
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    codes = [
        "-".join(secrets.token_hex(5)[i : i + 5] for i in (0, 5))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=_code_digest(c)) for c in codes]
    )
    record(action="account.2fa_recovery_codes", obj=user)
    return codes


def totp_verify(*, user: User, code: str, now: datetime | None = None) -> None:
    """Check a second-factor code: a TOTP code (never twice) or an unused recovery code."""
    now = now or timezone.now()
    rule = _rule("two_factor")
    ident = str(user.pk)
    wait = throttle.locked_for(rule, ident)
    if wait:
        raise RateLimited(
            _try_again_in(gettext("Too many wrong codes."), wait),
            extra={"retry_after": wait},
        )
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise Conflict(gettext("Two-factor authentication is not on."))
    if _totp_accept(device, code, now):
        throttle.reset(rule, ident)
        return
    used = RecoveryCode.objects.filter(
        user=user, digest=_code_digest(code), used_at__isnull=True
    ).update(used_at=now)
    if used == 1:
        throttle.reset(rule, ident)
        return
    throttle.register_failure(rule, ident)
    raise _fields_error(gettext("That code is not right or has already been used."), "code")


@transaction.atomic
def totp_disable(*, user: User, password: str) -> None:
    if not user.check_password(password):
        raise _fields_error(gettext("Your password is incorrect."), "password")
    deleted, _ = TotpDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    if deleted:
        record(action="account.2fa_disable", obj=user)
        _send(user.email, "two_factor_off", language=user.language)


# --- The account itself ---------------------------------------------------------------------


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
        raise _fields_error(gettext("Your password is incorrect."), "password")
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
