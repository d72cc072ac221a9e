"""Accounts: the user (one paying household, email as login) and its API tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """An account: the person who signs in and pays. Viewing belongs to its profiles."""

    email = models.EmailField("email address", max_length=254, unique=True)
    country = models.CharField(
        max_length=2,
        default="",
        blank=True,
        help_text="ISO 3166-1 alpha-2; decides regional availability. Empty: DEFAULT_COUNTRY.",
    )
    language = models.CharField(
        max_length=16,
        default="",
        blank=True,
        help_text="The account's language (en, es, de): emails, and pages before a profile is "
        "chosen. Empty: the browser's (Accept-Language).",
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Bumped to sign the account out everywhere: it is part of the session auth hash.
    session_epoch = models.PositiveIntegerField(default=0)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def effective_country(self) -> str:
        return self.country or settings.DEFAULT_COUNTRY

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django checks this hash on every request; mixing in session_epoch lets one update
        # invalidate every session of the account (force sign-out everywhere).
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.session_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self, now: Any = None) -> ApiTokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def for_user(self, user: User) -> ApiTokenQuerySet:
        return self.filter(user=user)


class ApiToken(models.Model):
    """A bearer token for API consumers. Only a SHA-256 digest of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, for display.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class Maturity(models.IntegerChoices):
    """How much a profile may see. Catalog ratings map onto these levels (see catalog)."""

    KIDS = 10, _("Kids")
    TEENS = 20, _("Teens")
    ADULTS = 30, _("Adults")


class Profile(models.Model):
    """A viewer inside an account. History, My List, ratings and recommendations are per profile."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profiles"
    )
    name = models.CharField(max_length=50)
    maturity = models.PositiveSmallIntegerField(choices=Maturity.choices, default=Maturity.ADULTS)
    is_kids = models.BooleanField(default=False)
    language = models.CharField(max_length=16, default="en")
    avatar = models.CharField(
        max_length=32, blank=True, default="", help_text="A built-in avatar's name."
    )
    avatar_image = models.ImageField(
        upload_to="avatars/", blank=True, default="", help_text="An uploaded avatar (256x256)."
    )
    pin_hash = models.CharField(max_length=128, blank=True, default="")
    external_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="An id in another system, e.g. 'movielens:42' for an imported MovieLens user.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="accounts_profile_name_unique"
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="accounts_profile_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)


class ProfileUnlock(models.Model):
    """A PIN verification made through the API with one API token, valid until expires_at."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="unlocks")
    api_token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="unlocks")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "api_token"], name="accounts_profileunlock_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Unlock of {self.profile_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class UserSessionQuerySet(models.QuerySet["UserSession"]):
    def for_user(self, user: User) -> UserSessionQuerySet:
        return self.filter(user=user).order_by("-last_seen_at", "-id")


class UserSession(models.Model):
    """A signed-in browser session as the account page shows it (a device)."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_sessions"
    )
    user_agent = models.CharField(max_length=400, blank=True, default="")
    device_name = models.CharField(max_length=100, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    location = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-last_seen_at"])]

    def __str__(self) -> str:
        return f"{self.device_name or 'Unknown device'} ({self.user_id})"


class TotpDevice(models.Model):
    """The account's authenticator app. Unconfirmed until the first code is entered."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last accepted time step: a code for this step or an earlier one is refused (replay).
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"TOTP for {self.user_id}"


class RecoveryCode(models.Model):
    """A one-time 2FA recovery code; only its SHA-256 digest is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="accounts_recovery_unique")
        ]

    def __str__(self) -> str:
        return f"Recovery code of {self.user_id}"
