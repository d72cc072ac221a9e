"""Sign-in and sign-out, throttling with cool-off, password reset and change, email change."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _post_login(client: Client, email: str, password: str, **extra):
    return client.post("/login/", {"email": email, "password": password}, **extra)


def test_sign_in_rotates_the_session_key_and_goes_to_the_picker(household):
    client = Client()
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    response = _post_login(client, "alice@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/profiles/"
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(household["main"].account_id)


def test_sign_in_refuses_an_offsite_next_url(household):
    response = Client().post(
        "/login/",
        {"email": "alice@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/profiles/"


def test_wrong_password_and_unknown_address_answer_identically(household):
    wrong = _post_login(Client(), "alice@example.com", "not the password")
    unknown = _post_login(Client(), "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert b"Email or password is incorrect." in wrong.content
    assert list(wrong.context["form"].non_field_errors()) == list(
        unknown.context["form"].non_field_errors()
    )


def test_api_login_answers_identically_for_wrong_password_and_unknown_address(household):
    api = APIClient()
    wrong = api.post(
        "/api/v1/auth/token", {"email": "alice@example.com", "password": "nope", "name": "x"}
    )
    unknown = api.post(
        "/api/v1/auth/token", {"email": "nobody@example.com", "password": "nope", "name": "x"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_five_failures_from_one_client_lock_that_client_then_the_cool_off_unlocks_it(
    household, clock
):
    for _ in range(5):
        assert _post_login(Client(), "alice@example.com", "wrong").status_code == 400
    locked = _post_login(Client(), "alice@example.com", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts. Try again in 1 minute." in locked.content
    clock.advance(29)
    assert _post_login(Client(), "alice@example.com", PASSWORD).status_code == 429
    clock.advance(2)
    assert _post_login(Client(), "alice@example.com", PASSWORD).status_code == 302


def test_locked_attempt_costs_no_password_hash(household, monkeypatch):
    for _ in range(5):
        _post_login(Client(), "alice@example.com", "wrong")
    calls = []
    original_verify, original_encode = MD5PasswordHasher.verify, MD5PasswordHasher.encode
    monkeypatch.setattr(
        MD5PasswordHasher, "verify", lambda *a: calls.append("verify") or original_verify(*a)
    )
    monkeypatch.setattr(
        MD5PasswordHasher, "encode", lambda *a: calls.append("encode") or original_encode(*a)
    )
    assert _post_login(Client(), "alice@example.com", PASSWORD).status_code == 429
    assert calls == []


def test_lock_applies_to_unknown_addresses_alike(db, clock):
    for _ in range(5):
        _post_login(Client(), "nobody@example.com", "wrong")
    locked = _post_login(Client(), "nobody@example.com", "wrong")
    known = User.objects.create_user(email="known@example.com", password=PASSWORD)
    for _ in range(5):
        _post_login(Client(), known.email, "wrong")
    locked_known = _post_login(Client(), known.email, "wrong")
    assert locked.status_code == locked_known.status_code == 429
    # The same words for both: the lock tells nobody whether the address has an account.
    assert (
        locked.context["form"].non_field_errors() == locked_known.context["form"].non_field_errors()
    )
    assert "_auth_user_id" not in locked.wsgi_request.session


def test_per_ip_limit_locks_an_address_spraying_many_accounts(household, settings):
    settings.ACCOUNTS_THROTTLE = {
        **settings.ACCOUNTS_THROTTLE,
        "login_ip": {"limit": 3, "window": 900, "cooloff": 900},
    }
    for n in range(3):
        _post_login(Client(), f"user{n}@example.com", "wrong", REMOTE_ADDR="10.0.0.9")
    sprayer = Client()
    refused = _post_login(sprayer, "alice@example.com", PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert refused.status_code == 429
    assert sprayer.get("/account/").status_code == 302  # not signed in
    assert (
        _post_login(Client(), "alice@example.com", PASSWORD, REMOTE_ADDR="10.0.0.10").status_code
        == 302
    )


def test_api_login_is_throttled_with_retry_after(household):
    api = APIClient()
    for _ in range(5):
        api.post("/api/v1/auth/token", {"email": "alice@example.com", "password": "x", "name": "t"})
    response = api.post(
        "/api/v1/auth/token", {"email": "alice@example.com", "password": PASSWORD, "name": "t"}
    )
    assert response.status_code == 429
    assert response.json()["error"]["retry_after"] == 30


def test_sign_out_is_post_only_and_ends_the_session(household, alice_client):
    assert alice_client.get("/logout/").status_code == 405
    response = alice_client.post("/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in alice_client.session


def test_forms_enforce_csrf(household):
    client = Client(enforce_csrf_checks=True)
    response = _post_login(client, "alice@example.com", PASSWORD)
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True)
def test_password_reset_answers_the_same_and_the_link_works_once(household):
    client = Client()
    known = client.post("/password-reset/", {"email": "alice@example.com"})
    unknown = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+", str(mail.outbox[0].body)).group(0)  # type: ignore[union-attr]
    path = link.removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200
    response = client.post(path, {"password": "a brand new passphrase"})
    assert response.status_code == 302
    assert User.objects.get(email="alice@example.com").check_password("a brand new passphrase")
    assert client.get(path).status_code == 400  # used: the password hash changed


@pytest.mark.django_db(transaction=True)
def test_api_password_reset_is_enumeration_safe(household):
    api = APIClient()
    known = api.post("/api/v1/auth/password-reset", {"email": "alice@example.com"})
    unknown = api.post("/api/v1/auth/password-reset", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


def test_password_change_keeps_this_session_and_signs_out_the_others(household, alice):
    this, other = Client(), Client()
    this.force_login(alice)
    other.force_login(alice)
    response = this.post(
        "/account/",
        {"action": "password", "old_password": PASSWORD, "new_password": "another good phrase"},
    )
    assert response.status_code == 302
    assert this.get("/account/").status_code == 200
    signed_out = other.get("/account/")
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/login/")
    alice.refresh_from_db()
    assert alice.check_password("another good phrase")


def test_password_change_with_wrong_current_password_shows_the_error_and_changes_nothing(
    household, alice, alice_client
):
    response = alice_client.post(
        "/account/", {"action": "password", "old_password": "nope", "new_password": "x y z w q"}
    )
    assert response.status_code == 400
    assert b"Your current password is incorrect." in response.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_email_change_applies_only_when_the_new_address_confirms(household, alice, alice_client):
    response = alice_client.post(
        "/account/", {"action": "email", "new_email": "new@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    assert [m.to for m in mail.outbox] == [["new@example.com"], ["alice@example.com"]]
    link = re.search(r"http://\S+", str(mail.outbox[0].body)).group(0)  # type: ignore[union-attr]
    alice_client.get(link.removeprefix("http://127.0.0.1:8000"))
    alice.refresh_from_db()
    assert alice.email == "new@example.com"


@pytest.mark.django_db(transaction=True)
def test_email_change_to_a_taken_address_answers_the_same_and_changes_nothing(
    household, alice, alice_client, bob
):
    response = alice_client.post(
        "/account/", {"action": "email", "new_email": "bob@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    assert [m.subject for m in mail.outbox] == ["Streamsite: address change attempt"]
