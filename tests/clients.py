"""Test clients signed in as someone: the API with a forced login (optionally naming a profile
in `X-Profile-Id`), the API with a real token, and a browser session (optionally with a chosen
profile, as the profile picker leaves it); and a helper that has the process follow the auth
epoch, as a running server does."""

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


def token_client(user, name: str = "tests", *, profile=None) -> APIClient:
    """The API with a real bearer token of `user` (authentication runs as in production),
    acting as `profile` (the X-Profile-Id header) when given."""
    from accounts import services

    _, plaintext = services.api_token_create(user=user, name=name)
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    if profile is not None:
        headers["HTTP_X_PROFILE_ID"] = str(profile.pk)
    client.credentials(**headers)
    return client


def follow_auth_epoch() -> None:
    """Have this process follow the auth epoch as it stands (accounts.token_cache), as a server
    does once it has answered a request since the last change: a token's first request is then
    remembered (one read while the epoch is new to the process is not)."""
    from accounts import token_cache
    from streamsite import shared_counters

    with shared_counters.request_scope():
        token_cache.lookup("0" * 64)  # no such token: the epoch read, nothing remembered


def browser_client(user, profile=None, *, pin_ok: bool | None = None) -> Client:
    """A signed-in browser session, on `profile` when given (`pin_ok`: as if its PIN had been
    typed, or not)."""
    from accounts.selectors import SESSION_PROFILE, SESSION_PROFILE_PIN_OK

    client = Client()
    client.force_login(user)
    if profile is not None:
        session = client.session
        session[SESSION_PROFILE] = profile.pk
        if pin_ok is not None:
            session[SESSION_PROFILE_PIN_OK] = pin_ok
        session.save()
    return client


def sign_in_browser(page, live_server, user, profile=None, *, pin_ok: bool = False) -> None:
    """A real browser (Playwright `page`) signed in to `live_server` as `user`, on `profile`
    when given: the session cookie of a `browser_client`, replacing any other cookie."""
    client = browser_client(user, profile, pin_ok=pin_ok if profile is not None else None)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
