"""Test clients signed in as someone: the API with a forced login (optionally naming a profile
in `X-Profile-Id`), the API with a real token, and a browser session (optionally with a chosen
profile, as the profile picker leaves it)."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient


def api_client(user=None, profile=None) -> APIClient:
    """The API as `user` (anonymous when None), speaking for `profile` when given."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    if profile is not None:
        client.credentials(HTTP_X_PROFILE_ID=str(profile.pk))
    return client


def token_client(user, name: str = "tests") -> APIClient:
    """The API with a real bearer token of `user` (authentication runs as in production)."""
    from accounts import services

    _, plaintext = services.api_token_create(user=user, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def browser_client(user, profile=None) -> Client:
    """A signed-in browser session, on `profile` when given."""
    from accounts.selectors import SESSION_PROFILE

    client = Client()
    client.force_login(user)
    if profile is not None:
        session = client.session
        session[SESSION_PROFILE] = profile.pk
        session.save()
    return client
