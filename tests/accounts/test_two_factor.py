"""TOTP two-factor: enrolment, sign-in with a code, replay refused, recovery codes, disabling."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import RecoveryCode, TotpDevice
from streamsite.errors import ValidationFailed
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(household, alice) -> tuple[pyotp.TOTP, list[str]]:
    device = services.totp_begin(user=alice)
    totp = pyotp.TOTP(device.secret)
    at = timezone.now() - timedelta(minutes=5)
    codes = services.totp_confirm(user=alice, code=totp.at(at), now=at)
    return totp, codes


def test_enrolment_page_shows_a_qr_code_then_confirms_with_a_code(household, alice, alice_client):
    alice_client.post("/account/security/", {"action": "begin"})
    page = alice_client.get("/account/security/")
    assert b"<svg" in page.content
    secret = page.context["secret"]
    wrong = alice_client.post("/account/security/", {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 400
    assert TotpDevice.objects.get(user=alice).confirmed_at is None
    response = alice_client.post(
        "/account/security/", {"action": "confirm", "code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 200
    assert len(response.context["recovery_codes"]) == 10
    assert TotpDevice.objects.get(user=alice).confirmed_at is not None
    assert RecoveryCode.objects.filter(user=alice, used_at__isnull=True).count() == 10


def test_sign_in_with_two_factor_needs_the_code_before_the_session_is_signed_in(enrolled):
    totp, _ = enrolled
    client = Client()
    response = client.post("/login/", {"email": "alice@example.com", "password": PASSWORD})
    assert response["Location"] == "/login/code/"
    assert "_auth_user_id" not in client.session
    assert client.post("/login/code/", {"code": "000000"}).status_code == 400
    assert "_auth_user_id" not in client.session
    response = client.post("/login/code/", {"code": totp.now()})
    assert response.status_code == 302
    assert response["Location"] == "/profiles/"
    assert "_auth_user_id" in client.session


def test_a_totp_code_cannot_be_used_twice(enrolled, alice):
    totp, _ = enrolled
    now = timezone.now()
    code = totp.at(now)
    services.totp_verify(user=alice, code=code, now=now)
    with pytest.raises(ValidationFailed) as exc:
        services.totp_verify(user=alice, code=code, now=now)
    assert exc.value.message == "That code is not right or has already been used."


def test_an_older_code_is_refused_after_a_newer_one(enrolled, alice):
    totp, _ = enrolled
    now = timezone.now()
    services.totp_verify(user=alice, code=totp.at(now), now=now)
    with pytest.raises(ValidationFailed):
        services.totp_verify(user=alice, code=totp.at(now - timedelta(seconds=30)), now=now)


def test_a_recovery_code_works_exactly_once(enrolled, alice):
    _, codes = enrolled
    services.totp_verify(user=alice, code=codes[0])
    with pytest.raises(ValidationFailed):
        services.totp_verify(user=alice, code=codes[0])
    assert RecoveryCode.objects.filter(user=alice, used_at__isnull=False).count() == 1


def test_wrong_codes_are_throttled(enrolled, alice, clock):
    totp, _ = enrolled
    client = Client()
    client.post("/login/", {"email": "alice@example.com", "password": PASSWORD})
    for _ in range(5):
        client.post("/login/code/", {"code": "000000"})
    response = client.post("/login/code/", {"code": totp.now()})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_api_sign_in_asks_for_the_code_then_accepts_it(enrolled):
    totp, _ = enrolled
    api = APIClient()
    body = {"email": "alice@example.com", "password": PASSWORD, "name": "cli"}
    response = api.post("/api/v1/auth/token", body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"
    assert api.post("/api/v1/auth/token", {**body, "code": totp.now()}).status_code == 201


def test_disabling_needs_the_password(enrolled, alice, alice_client):
    response = alice_client.post("/account/security/", {"action": "disable", "password": "nope"})
    assert response.status_code == 400
    assert TotpDevice.objects.filter(user=alice).exists()
    response = alice_client.post("/account/security/", {"action": "disable", "password": PASSWORD})
    assert response.status_code == 302
    assert not TotpDevice.objects.filter(user=alice).exists()
    assert RecoveryCode.objects.filter(user=alice).count() == 0
