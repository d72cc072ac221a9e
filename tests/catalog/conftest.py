"""Catalog fixtures: profiles for the authorisation matrix, API clients acting as a profile."""

import pytest

from accounts.models import Maturity
from tests.catalog.factories import ProfileFactory
from tests.clients import api_client as client_as


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


@pytest.fixture
def as_alice(alice, alice_profile):
    return client_as(alice, alice_profile)
