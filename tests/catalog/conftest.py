"""Catalog fixtures: profiles for the authorisation matrix, API clients acting as a profile."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Maturity
from tests.catalog.factories import ProfileFactory


@pytest.fixture
def alice_profile(alice):
    return ProfileFactory(account=alice, name="Alice")


@pytest.fixture
def alice_kid(alice):
    """Another profile of the same account."""
    return ProfileFactory(account=alice, name="Kid", maturity=Maturity.KIDS, is_kids=True)


@pytest.fixture
def bob_profile(bob):
    return ProfileFactory(account=bob, name="Bob")


def client_as(user, profile=None) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    if profile is not None:
        client.credentials(HTTP_X_PROFILE_ID=str(profile.pk))
    return client


@pytest.fixture
def as_alice(alice, alice_profile):
    return client_as(alice, alice_profile)
