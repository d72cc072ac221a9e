"""Throttling that protects the owner (issue 16, item 5): failures lock (address, client) pairs
with progressive delays; the per-account ceiling never locks the owner out, it only asks an
unknown device for a second factor or an emailed unlock link."""

from __future__ import annotations

import re

import pyotp
import pytest
from django.core import mail
from django.test import Client

from accounts import services
from accounts.models import TotpDevice
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

OWNER_IP = "198.51.100.7"
EMAIL = "alice@example.com"


def _login(client: Client, password: str, ip: str):
    return client.post("/login/", {"email": EMAIL, "password": password}, REMOTE_ADDR=ip)


def _attack(tries: int, *, per_address: int = 3) -> None:
    """Wrong passwords from many addresses, few from each (under any per-client lock)."""
    for n in range(tries):
        response = _login(Client(), f"guess-{n}", f"203.0.113.{n // per_address + 1}")
        assert response.status_code == 400


@pytest.fixture
def known_browser(household) -> Client:
    """The owner's browser, signed in once before (it holds the known-device cookie)."""
    browser = Client()
    assert _login(browser, PASSWORD, OWNER_IP).status_code == 302
    browser.post("/logout/")
    return browser


def test_progressive_delays_double_per_failure_for_one_client_only(household, clock):
    for _ in range(5):
        assert _login(Client(), "wrong", "203.0.113.9").status_code == 400
    waits = []
    for _ in range(4):
        locked = Client().post(
            "/api/v1/auth/token",
            {"email": EMAIL, "password": "wrong", "name": "t"},
            REMOTE_ADDR="203.0.113.9",
        )
        waits.append(locked.json()["error"]["retry_after"])
        clock.advance(waits[-1] + 1)
        assert _login(Client(), "wrong", "203.0.113.9").status_code == 400
    assert waits == [30, 60, 120, 240]
    # The owner, elsewhere, is not delayed at all.
    assert _login(Client(), PASSWORD, OWNER_IP).status_code == 302


def test_an_attacker_from_other_addresses_cannot_lock_the_owner_out(known_browser):
    _attack(60)
    response = _login(known_browser, PASSWORD, OWNER_IP)
    assert response.status_code == 302
    assert response["Location"] == "/profiles/"
    assert known_browser.get("/account/").status_code == 200


def test_past_the_ceiling_an_unknown_device_gets_in_through_an_emailed_link(household):
    _attack(20)
    mail.outbox.clear()
    browser = Client()
    refused = _login(browser, PASSWORD, OWNER_IP)
    assert refused.status_code == 403
    assert b"we have emailed you a link" in refused.content
    assert "_auth_user_id" not in browser.session
    [message] = mail.outbox
    assert message.to == [EMAIL]
    link = re.search(r"http://127\.0\.0\.1:8000(/login/unlock/\S+/)", message.body)
    assert link is not None
    # A wrong password is still wrong, and the link does not sign anyone in by itself.
    assert browser.get(link.group(1)).status_code == 302
    assert "_auth_user_id" not in browser.session
    assert _login(browser, "wrong", OWNER_IP).status_code == 400
    assert _login(browser, PASSWORD, OWNER_IP).status_code == 302
    assert browser.get("/account/").status_code == 200


def test_the_unlock_link_is_bound_to_the_address_it_was_sent_for(household):
    _attack(20)
    _login(Client(), PASSWORD, OWNER_IP)
    link = re.search(r"(/login/unlock/\S+/)", mail.outbox[-1].body)
    assert link is not None
    assert Client().get(link.group(1)).status_code == 302
    # Another address (a fresh browser) still needs its own confirmation; the owner's does not.
    assert _login(Client(), PASSWORD, "192.0.2.50").status_code == 403
    assert _login(Client(), PASSWORD, OWNER_IP).status_code == 302
    # A forged link is refused and unlocks nothing.
    assert Client().get("/login/unlock/forged/").status_code == 400


def test_past_the_ceiling_a_second_factor_lets_an_unknown_device_in(household, alice):
    device = services.totp_begin(user=alice)
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at="2026-01-01T00:00:00Z")
    _attack(20)
    browser = Client()
    response = _login(browser, PASSWORD, OWNER_IP)
    assert response.status_code == 302
    assert response["Location"] == "/login/code/"
    code = pyotp.TOTP(device.secret).now()
    done = browser.post("/login/code/", {"code": code}, REMOTE_ADDR=OWNER_IP)
    assert done.status_code == 302
    assert browser.get("/account/").status_code == 200


def test_the_ceiling_does_not_tell_known_from_unknown_addresses(household):
    for n in range(25):
        Client().post(
            "/login/", {"email": "nobody@example.com", "password": "x"}, REMOTE_ADDR=f"10.9.{n}.1"
        )
    wrong = Client().post("/login/", {"email": EMAIL, "password": "x"}, REMOTE_ADDR="10.8.0.1")
    unknown = Client().post(
        "/login/", {"email": "nobody@example.com", "password": "x"}, REMOTE_ADDR="10.8.0.1"
    )
    assert wrong.status_code == unknown.status_code == 400
    # The same words too: the ceiling says nothing about which address has an account.
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
