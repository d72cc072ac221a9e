"""Accounts: the user (one paying household, email as login) and its API tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)

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

    KIDS = 10, "Kids"
    TEENS = 20, "Teens"
    ADULTS = 30, "Adults"


class Profile(models.Model):
    """A viewer inside an account. History, My List, ratings and recommendations are per profile."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profiles"
    )
    name = models.CharField(max_length=50)
    maturity = models.PositiveSmallIntegerField(choices=Maturity.choices, default=Maturity.ADULTS)
    is_kids = models.BooleanField(default=False)
    language = models.CharField(max_length=16, default="en")
    avatar = models.CharField(max_length=32, blank=True, default="")
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
