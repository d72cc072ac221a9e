"""Issue #7's "Done when", through the API only: a new visitor signs up and gets a token, picks
a plan, pays with a sandbox test card, streams within the plan's limits, upgrades with the
right proration, and a failed card walks through dunning to a blocked account.

The billing clock is moved by the test (no sleeping); renewals and dunning are the beat tasks,
run in-process. Every money amount is asserted to the cent (USD minor units).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from rest_framework.test import APIClient

from billing import services
from billing.models import Invoice, Payment, SandboxCharge
from billing.tasks import run_dunning, run_renewals
from tests.playback.sessions.conftest import write_fake_asset
from tests.playback.sessions.factories import TitleFactory

# Committed for real (emails and cache invalidation happen after commit, as in production);
# the flush that follows drops the seeded plans, which plans_reseeded puts back.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("plans_reseeded")]

PASSWORD = "correct-Horse-battery-9"
BASIC, PREMIUM = 799, 2299  # USD cents, the seeded prices
CHECKOUT = datetime(2026, 3, 10, 12, tzinfo=UTC)  # period 10 Mar - 10 Apr: 31 days
UPGRADE = datetime(2026, 3, 20, 12, tzinfo=UTC)  # 21 of the 31 days left
RENEWAL = datetime(2026, 4, 10, 12, tzinfo=UTC)


def at(day: int, month: int = 4) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def variants(playlist: str) -> list[str]:
    """The rendition folders a master playlist lists, in order."""
    return [line.rsplit("/", 2)[-2] for line in playlist.splitlines() if line.endswith(".m3u8")]


def error(response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


@pytest.fixture
def title(settings, tmp_path):
    """A film whose HLS ladder has 360p, 720p and 1080p rungs (fake files, no ffmpeg)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    film = TitleFactory(name="Paper Kingdom", slug="paper-kingdom")
    write_fake_asset(settings.MEDIA_ROOT, f"title-{film.pk}")
    return film


def test_visitor_subscribes_streams_upgrades_and_a_failing_card_ends_in_a_blocked_account(
    frozen_clock, title
):
    frozen_clock.set(CHECKOUT)
    anon = APIClient()

    # --- A new visitor signs up, confirms the address from the email, and gets a token.
    signup = anon.post(
        "/api/v1/auth/signup",
        {"email": "dana@example.com", "password": PASSWORD, "profile_name": "Dana"},
        format="json",
    )
    assert signup.status_code == 202
    token = re.search(r"/verify/([^/\s]+)/", mail.outbox[0].body).group(1)
    assert anon.post("/api/v1/auth/verify", {"token": token}, format="json").status_code == 200
    login = anon.post(
        "/api/v1/auth/token",
        {"email": "dana@example.com", "password": PASSWORD, "name": "Living-room TV"},
        format="json",
    )
    assert login.status_code == 201
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['token']}")
    (profile,) = api.get("/api/v1/profiles").json()
    assert profile["name"] == "Dana"
    viewer = {"HTTP_X_PROFILE_ID": str(profile["id"])}

    def play(device: str):
        body = {"title_id": title.pk, "device": device}
        return api.post("/api/v1/playback/sessions", body, format="json", **viewer)

    # Without a plan there is nothing to watch, and billing says why.
    assert error(play("TV")) == (403, "not_entitled", "Choose a plan to start watching.")

    # --- Plans: Basic is one screen up to 720p for $7.99.
    plans = {p["code"]: p for p in anon.get("/api/v1/billing/plans").json()}
    assert list(plans) == ["basic", "standard", "premium"]
    usd = {code: {x["currency"]: x["amount"] for x in p["prices"]} for code, p in plans.items()}
    assert (usd["basic"]["USD"], usd["standard"]["USD"], usd["premium"]["USD"]) == (799, 1549, 2299)
    assert (plans["basic"]["max_streams"], plans["basic"]["max_resolution"]) == (1, 720)
    assert (plans["premium"]["max_streams"], plans["premium"]["max_resolution"]) == (4, 2160)

    # --- Pays with the sandbox Visa: a card token, then the checkout with an Idempotency-Key.
    card = api.post(
        "/api/v1/billing/sandbox/tokens",
        {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        format="json",
    ).json()
    assert (card["brand"], card["last4"]) == ("visa", "4242")
    checkout = {"plan": "basic", "currency": "USD", "card_token": card["token"], "trial": False}
    first = api.post(
        "/api/v1/billing/subscription", checkout, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
    )
    assert first.status_code == 201
    assert first["Idempotent-Replayed"] == "false"
    sub = first.json()
    assert (sub["plan"], sub["status"], sub["next_amount"]) == ("basic", "active", BASIC)
    assert (sub["current_period_end"], sub["card"]) == (
        "2026-04-10T12:00:00Z",
        {"brand": "visa", "last4": "4242"},
    )
    again = api.post(
        "/api/v1/billing/subscription", checkout, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
    )
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == sub
    (invoice,) = api.get("/api/v1/billing/invoices").json()["results"]
    assert (invoice["kind"], invoice["status"], invoice["total"], invoice["amount_due"]) == (
        "create",
        "paid",
        BASIC,
        0,
    )
    assert SandboxCharge.objects.filter(status="succeeded").count() == 1  # charged once

    # --- Streams within Basic's limits: 720p at most, one screen at a time.
    started = play("TV")
    assert started.status_code == 201
    assert started.json()["max_resolution"] == 720
    playlist = anon.get(started.json()["master_playlist_url"]).content.decode()
    assert variants(playlist) == ["360p", "720p"]
    assert "RESOLUTION=1920x1080" not in playlist
    tv = started.json()["session_id"]
    status, code, message = error(play("Phone"))
    assert (status, code) == (409, "too_many_streams")
    assert message.startswith(
        f"Your plan allows 1 stream at a time and 1 is playing: TV (Dana, session {tv})."
    )
    stop = api.post(f"/api/v1/playback/sessions/{tv}/stop", {"seq": 1, "position": 42}, **viewer)
    assert stop.status_code == 204

    # --- Upgrades to Premium ten days in: the preview is the proration, and so is the invoice.
    frozen_clock.set(UPGRADE)
    expected = services.proration_for(
        old_amount=BASIC,
        new_amount=PREMIUM,
        currency="USD",
        period_start=CHECKOUT,
        period_end=RENEWAL,
        at=UPGRADE,
    )
    # 799 x 21/31 = 541.26 -> -5.41; 2299 x 21/31 = 1557.39 -> +15.57; charged 10.16.
    assert (expected.credit, expected.debit, expected.total) == (-541, 1557, 1016)
    preview = api.get("/api/v1/billing/subscription/preview?plan=premium").json()
    assert preview == {
        "kind": "upgrade",
        "amount_due": 1016,
        "currency": "USD",
        "effective_at": "2026-03-20T12:00:00Z",
        "lines": [
            {"description": "Unused time on Basic", "amount": -541},
            {"description": "Remaining time on Premium", "amount": 1557},
        ],
    }
    change = api.post(
        "/api/v1/billing/subscription/change",
        {"plan": "premium"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="up-1",
    )
    assert change.status_code == 200
    assert (change.json()["plan"], change.json()["next_amount"]) == ("premium", PREMIUM)
    replay = api.post(
        "/api/v1/billing/subscription/change",
        {"plan": "premium"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="up-1",
    )
    assert (replay["Idempotent-Replayed"], replay.json()) == ("true", change.json())
    reused = api.post(
        "/api/v1/billing/subscription/change",
        {"plan": "standard"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="up-1",
    )
    assert error(reused)[:2] == (422, "idempotency_key_reused")
    upgrade = api.get("/api/v1/billing/invoices").json()["results"][0]
    assert (upgrade["kind"], upgrade["status"], upgrade["total"]) == ("upgrade", "paid", 1016)
    lines = api.get(f"/api/v1/billing/invoices/{upgrade['id']}").json()["lines"]
    assert [(x["kind"], x["amount"]) for x in lines] == [
        ("proration_credit", -541),
        ("proration_debit", 1557),
    ]
    assert list(SandboxCharge.objects.order_by("pk").values_list("amount", flat=True)) == [
        BASIC,
        1016,
    ]
    # Premium's ladder reaches 1080p; two screens at once are fine now.
    premium_play = play("TV")
    assert premium_play.json()["max_resolution"] == 2160
    playlist = anon.get(premium_play.json()["master_playlist_url"]).content.decode()
    assert variants(playlist) == ["360p", "720p", "1080p"]
    assert play("Phone").status_code == 201

    # --- The card is changed to one that is always declined.
    bad = api.post(
        "/api/v1/billing/sandbox/tokens",
        {"number": "4000 0000 0000 0002", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        format="json",
    ).json()
    changed = api.post("/api/v1/billing/payment-methods", {"card_token": bad["token"]})
    assert (changed.status_code, changed.json()["last4"]) == (201, "0002")
    assert api.get("/api/v1/billing/subscription").json()["card"]["last4"] == "0002"

    # --- Renewal day: Premium's $22.99 is declined. Past due, retry tomorrow, still streaming.
    frozen_clock.set(RENEWAL)
    assert run_renewals() == 1
    sub = api.get("/api/v1/billing/subscription").json()
    assert (sub["status"], sub["past_due_since"]) == ("past_due", "2026-04-10T12:00:00Z")
    renewal = api.get("/api/v1/billing/invoices").json()["results"][0]
    assert (renewal["kind"], renewal["status"], renewal["total"], renewal["amount_due"]) == (
        "renewal",
        "open",
        PREMIUM,
        PREMIUM,
    )
    assert renewal["next_attempt_at"] == "2026-04-11T12:00:00Z"
    assert mail.outbox[-1].subject == "Your Streamsite payment failed"
    assert "We will try again on 11 Apr 2026" in mail.outbox[-1].body
    ent = api.get("/api/v1/billing/entitlements").json()
    assert (ent["can_stream"], ent["max_streams"], ent["max_resolution"]) == (True, 4, 2160)
    assert play("Tablet").status_code == 201  # grace: BILLING_GRACE_DAYS (5)

    # Retries on day 1 and day 3 are declined too; streaming continues until the grace ends.
    for day, next_try in ((11, "2026-04-13T12:00:00Z"), (13, "2026-04-15T12:00:00Z")):
        frozen_clock.set(at(day))
        assert run_dunning() == 1
        assert api.get(f"/api/v1/billing/invoices/{renewal['id']}").json()["next_attempt_at"] == (
            next_try
        )
    assert api.get("/api/v1/billing/entitlements").json()["can_stream"] is True

    # Day 5: the retry fails and the grace is over. Blocked, with billing's reason; paying
    # by hand with the same card is declined (402) and says so.
    frozen_clock.set(at(15))
    assert run_dunning() == 1
    overdue = "Your payment is overdue. Update your card on the billing page to keep watching."
    ent = api.get("/api/v1/billing/entitlements").json()
    assert (ent["can_stream"], ent["status"], ent["reason"]) == (False, "past_due", overdue)
    assert error(play("Tablet")) == (403, "not_entitled", overdue)
    pay = api.post(f"/api/v1/billing/invoices/{renewal['id']}/pay", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert error(pay) == (402, "payment_declined", "Your card was declined.")

    # Day 7, the last retry: declined. The subscription is canceled, the invoice uncollectible.
    frozen_clock.set(at(17))
    assert run_dunning() == 1
    sub = api.get("/api/v1/billing/subscription").json()
    assert (sub["status"], sub["next_amount"]) == ("canceled", None)
    final = api.get(f"/api/v1/billing/invoices/{renewal['id']}").json()
    assert (final["status"], final["total"], final["next_attempt_at"]) == (
        "uncollectible",
        PREMIUM,
        None,
    )
    assert mail.outbox[-1].subject == "Your Streamsite subscription was canceled"
    canceled = "Your subscription was canceled. Pick a plan to come back."
    assert error(play("Tablet")) == (403, "not_entitled", canceled)
    assert error(api.post(f"/api/v1/billing/invoices/{renewal['id']}/pay"))[:2] == (
        409,
        "conflict",
    )

    # Money, in the end: $7.99 + $10.16 collected, $22.99 never; six declined attempts.
    paid = Invoice.objects.filter(status="paid").order_by("pk").values_list("total", flat=True)
    assert list(paid) == [BASIC, 1016]
    assert list(
        Payment.objects.filter(invoice_id=renewal["id"])
        .order_by("attempt")
        .values_list("attempt", "status", "amount")
    ) == [(n, "failed", PREMIUM) for n in range(1, 7)]
