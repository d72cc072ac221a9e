"""Fixtures for accounts: a verified household with three profiles, signed-in clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services, throttle
from accounts.models import Maturity, Profile, User

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _accounts_own_profile_limit(settings):
    """These tests are about accounts alone: its own limit (ACCOUNTS_MAX_PROFILES), not the
    billing plan's (billing's tests cover the provider wiring)."""
    settings.ACCOUNTS_PROFILE_LIMIT_PROVIDER = None


@pytest.fixture
def household(alice: User) -> dict[str, Profile]:
    """alice, verified, with an adult profile, a PIN-locked adult profile and a kids profile."""
    User.objects.filter(pk=alice.pk).update(email_verified_at=timezone.now())
    alice.refresh_from_db()
    main = services.profile_create(account=alice, name="Alice")
    locked = services.profile_create(account=alice, name="Private")
    services.profile_pin_set(profile=locked, account=alice, password=PASSWORD, pin="1234")
    kid = services.profile_create(account=alice, name="Kiddo", is_kids=True)
    assert kid.maturity == Maturity.KIDS
    return {"main": main, "locked": locked, "kid": kid}


@pytest.fixture
def bob_profile(bob: User) -> Profile:
    return services.profile_create(account=bob, name="Bob")


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def token_api(alice: User) -> APIClient:
    """An API client authenticated with one of alice's API tokens."""
    _, plaintext = services.api_token_create(user=alice, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


class Clock:
    """A clock tests can move: patches timezone.now for throttle and services."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(throttle, "now", lambda: self.now.timestamp())

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)
