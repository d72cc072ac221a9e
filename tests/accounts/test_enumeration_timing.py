"""No enumeration by timing: sign-up, sign-in, password reset and email change do the same work
for a known and an unknown address, measured with the production hasher (Argon2).

50 tries each, interleaved; the medians must be within 10% of each other (when they are not, 50
more tries each, and the medians of all 100 decide). Interleaving makes
ordinary load hit both sides alike (CI, with the suite on two workers at a load of about 3× the
cores, measured 0.97-1.02), so the assertion holds there. Only on a machine loaded past 4× its
cores are the figures measured and printed with the assertion skipped: a busy neighbour, not the
code, would decide it. Figures: docs/accounts.md.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TRIES = 50
PASSWORD = "correct horse battery"
KNOWN = "known@example.com"


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]


@pytest.fixture
def known(argon2):
    user = User.objects.create_user(KNOWN, PASSWORD)
    User.objects.filter(pk=user.pk).update(email_verified_at="2026-01-01T00:00:00Z")
    return user


OVERLOAD_FACTOR = 4  # load average per core past which the medians say more about neighbours


def _overloaded() -> bool:
    return os.getloadavg()[0] > OVERLOAD_FACTOR * (os.cpu_count() or 1)


def _median_ms(client: APIClient, url: str, bodies) -> list[float]:
    """Time each request; caches (throttle counters) are cleared outside the timed part."""
    times = []
    for body in bodies:
        cache.clear()
        started = time.perf_counter()
        response = client.post(url, body, format="json")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 500
    return times


def _compare(name: str, client: APIClient, url: str, known_body, unknown_body) -> None:
    known_times: list[float] = []
    unknown_times: list[float] = []
    for attempt in range(2):
        for i in range(attempt * TRIES, (attempt + 1) * TRIES):
            # Alternate which goes first, so neither always follows the other's leftovers.
            if i % 2:
                unknown_times += _median_ms(client, url, [unknown_body(i)])
                known_times += _median_ms(client, url, [known_body(i)])
            else:
                known_times += _median_ms(client, url, [known_body(i)])
                unknown_times += _median_ms(client, url, [unknown_body(i)])
        ratio = statistics.median(known_times) / statistics.median(unknown_times)
        # A leak shows in every sample; a neighbour's burst (CI on a shared host once measured
        # 1.103) rarely outlasts twice as many tries, so a ratio past the bound is measured
        # again and judged on all of them.
        if 0.9 <= ratio <= 1.1:
            break
    _judge(name, statistics.median(known_times), statistics.median(unknown_times))


def _judge(name: str, known_median: float, unknown_median: float) -> None:
    ratio = known_median / unknown_median
    load = os.getloadavg()[0]
    print(
        f"\n{name}: known {known_median:.1f} ms, unknown {unknown_median:.1f} ms, "
        f"ratio {ratio:.3f} (load {load:.1f} on {os.cpu_count()} cores)"
    )
    if _overloaded():
        pytest.skip(f"{name}: measured ratio {ratio:.3f}, but load {load:.1f} is too high to judge")
    assert 0.9 <= ratio <= 1.1, f"{name}: known/unknown median ratio {ratio:.3f}"


def _same_answer(client: APIClient, url: str, known_body, unknown_body) -> None:
    cache.clear()
    first = client.post(url, known_body, format="json")
    cache.clear()
    second = client.post(url, unknown_body, format="json")
    assert (first.status_code, first.json()) == (second.status_code, second.json())


def test_signup_same_answer_and_time(known):
    api = APIClient()
    known_body = lambda i: {"email": KNOWN, "password": PASSWORD}  # noqa: E731
    unknown_body = lambda i: {"email": f"new{i}@example.com", "password": PASSWORD}  # noqa: E731
    _same_answer(api, "/api/v1/auth/signup", known_body(0), unknown_body(999))
    _compare("sign-up", api, "/api/v1/auth/signup", known_body, unknown_body)


def test_signin_same_answer_and_time(known):
    api = APIClient()
    known_body = lambda i: {"email": KNOWN, "password": "wrong password", "name": "t"}  # noqa: E731
    unknown_body = lambda i: {  # noqa: E731
        "email": f"nobody{i}@example.com",
        "password": "wrong password",
        "name": "t",
    }
    _same_answer(api, "/api/v1/auth/token", known_body(0), unknown_body(999))
    _compare("sign-in", api, "/api/v1/auth/token", known_body, unknown_body)


def test_password_reset_same_answer_and_time(known):
    api = APIClient()
    known_body = lambda i: {"email": KNOWN}  # noqa: E731
    unknown_body = lambda i: {"email": f"nobody{i}@example.com"}  # noqa: E731
    _same_answer(api, "/api/v1/auth/password-reset", known_body(0), unknown_body(999))
    _compare("password reset", api, "/api/v1/auth/password-reset", known_body, unknown_body)


def test_email_change_same_answer_and_time(known, argon2):
    User.objects.create_user("taken@example.com", PASSWORD)
    browser = Client()
    browser.force_login(known)
    url = reverse("accounts:account")

    def body(email: str) -> dict:
        return {"action": "email", "password": PASSWORD, "new_email": email}

    cache.clear()
    taken = browser.post(url, body("taken@example.com"))
    cache.clear()
    free = browser.post(url, body("free-0@example.com"))
    assert (taken.status_code, taken["Location"]) == (free.status_code, free["Location"])
    known_times: list[float] = []
    unknown_times: list[float] = []
    for i in range(TRIES):
        pairs = [("taken@example.com", known_times), (f"free{i}@example.com", unknown_times)]
        for email, times in pairs if i % 2 == 0 else pairs[::-1]:
            cache.clear()
            started = time.perf_counter()
            response = browser.post(url, body(email))
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 302
    _judge("email change", statistics.median(known_times), statistics.median(unknown_times))


def test_the_queued_work_sends_the_right_mail(
    known, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset_request(email=KNOWN)
        services.password_reset_request(email="nobody@example.com")
        services.signup(email=KNOWN, password=PASSWORD)
        services.email_change_request(user=known, password=PASSWORD, new_email="free@example.com")
    # Mail leaves through the outbox, whose sends are not ordered by request: compare as a set.
    sent = sorted(
        (m.to[0], "/reset/" in m.body, "/verify/" in m.body, "tried to sign up" in m.body)
        for m in mailoutbox
    )
    assert sent == sorted(
        [
            (KNOWN, False, False, False),  # the notice to the old address of the change
            (KNOWN, False, False, True),  # "someone tried to sign up with your address"
            (KNOWN, True, False, False),  # the reset link
            ("free@example.com", False, True, False),  # the new address's confirmation link
        ]
    )
