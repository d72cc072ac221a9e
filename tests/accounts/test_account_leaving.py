"""Leaving, for customers who paid: export and deletion in every subscription state.

Deleting cancels the subscription at once (nothing is charged afterwards), detaches the card
at the gateway, erases the person (profiles, history, ratings, My List, devices, tokens,
avatars) and keeps invoices and payments for the ledger without them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import ApiToken, Profile, User
from billing import clock, services
from billing.models import (
    CreditNote,
    Invoice,
    Payment,
    PaymentMethod,
    SandboxCard,
    SandboxCharge,
    Subscription,
)
from billing.tasks import run_dunning, run_renewals
from playback.models import MyListEntry, PlaybackSession, ThumbRating, ViewingEvent
from tests.accounts.conftest import PASSWORD
from tests.billing.conftest import Clock, card_token
from tests.catalog.factories import TitleFactory

pytestmark = pytest.mark.django_db
STATES = ["trialing", "active", "past_due", "canceled"]
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def frozen_clock():
    """Billing's movable clock (as in tests/billing)."""
    moving = Clock(T0)
    yield moving
    clock.set_now(None)


def customer(alice: User, state: str, frozen_clock) -> dict:
    """alice with a profile that watched, listed and rated a title, a device, and a
    subscription in `state`. Returns what the test checks against."""
    profile = account_services.profile_create(account=alice, name="Alice")
    title = TitleFactory(name="Night Train")
    ViewingEvent.objects.create(
        profile=profile, title=title, event_type=ViewingEvent.Type.PLAY, occurred_at=T0
    )
    MyListEntry.objects.create(profile=profile, title=title, added_at=T0)
    ThumbRating.objects.create(profile=profile, title=title, value=ThumbRating.UP, rated_at=T0)
    PlaybackSession.objects.create(
        account=alice,
        profile=profile,
        title=title,
        device="Firefox on Linux",
        max_height=720,
        expires_at=T0,
    )
    number = "4000000000000341" if state in ("past_due", "canceled") else "4242424242424242"
    token = card_token(number)
    sub = services.subscription_start(
        account=alice,
        plan_code="standard",
        currency="USD",
        card_token=token,
        trial=state == "trialing",
    )
    if state in ("past_due", "canceled"):
        frozen_clock.set(sub.current_period_end)
        run_renewals()  # the second charge of this card is declined
        assert Subscription.objects.get().status == "past_due"
    if state == "canceled":
        services.subscription_cancel(account=alice)
    assert Subscription.objects.get().status == state
    return {"token": token, "profile": profile}


@pytest.mark.parametrize("state", STATES)
def test_the_export_holds_history_my_list_ratings_devices_invoices_and_payments(
    alice, frozen_clock, state
):
    customer(alice, state, frozen_clock)
    client = Client()
    client.force_login(alice)
    page = client.get("/account/export.json")
    assert page["Content-Disposition"] == 'attachment; filename="streamsite-export.json"'
    data = json.loads(page.content)
    api = APIClient()
    api.force_authenticate(alice)
    assert api.get("/api/v1/me/export").json() == data
    [watched] = data["playback"]["profiles"]
    assert watched["name"] == "Alice"
    assert [(h["title"], h["event"]) for h in watched["history"]] == [("Night Train", "play")]
    assert [m["title"] for m in watched["my_list"]] == ["Night Train"]
    assert [(r["title"], r["value"]) for r in watched["ratings"]] == [("Night Train", 1)]
    assert [d["device"] for d in data["playback"]["devices"]] == ["Firefox on Linux"]
    billing = data["billing"]
    assert billing["subscription"]["status"] == state
    assert [c["last4"] for c in billing["cards"]] == [
        "0341" if state in ("past_due", "canceled") else "4242"
    ]
    expected = {
        "trialing": [],
        "active": [("create", "paid", 1549)],
        "past_due": [("create", "paid", 1549), ("renewal", "open", 1549)],
        "canceled": [("create", "paid", 1549), ("renewal", "void", 1549)],
    }[state]
    assert [(i["kind"], i["status"], i["total"]) for i in billing["invoices"]] == expected
    assert [(p["status"], p["amount"]) for p in billing["payments"]] == [
        ("succeeded" if i == 0 else "failed", 1549) for i in range(len(expected))
    ]
    assert "token" not in json.dumps(billing)


@pytest.mark.parametrize("state", STATES)
def test_deleting_a_paying_customer_cancels_detaches_erases_and_keeps_the_ledger(
    alice, frozen_clock, state, django_capture_on_commit_callbacks
):
    made = customer(alice, state, frozen_clock)
    profile = made["profile"]
    profile.avatar_image.save("alice.png", ContentFile(b"png"), save=True)
    storage = profile.avatar_image.storage
    avatar = profile.avatar_image.name
    account_services.api_token_create(user=alice, name="cli")
    invoices_before = list(Invoice.objects.order_by("pk").values_list("number", "total", "status"))
    charges_before = SandboxCharge.objects.count()
    country = alice.effective_country
    client = Client()
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/delete/", {"password": PASSWORD})
    assert response.status_code == 200
    assert not User.objects.filter(pk=alice.pk).exists()
    # Erased: the person and everything that was theirs.
    assert (Profile.objects.count(), ApiToken.objects.count()) == (0, 0)
    assert (ViewingEvent.objects.count(), MyListEntry.objects.count()) == (0, 0)
    assert (ThumbRating.objects.count(), PlaybackSession.objects.count()) == (0, 0)
    assert not storage.exists(avatar)
    # Canceled at once and the card detached at the gateway.
    assert (Subscription.objects.count(), PaymentMethod.objects.count()) == (0, 0)
    assert not SandboxCard.objects.filter(token=made["token"]).exists()
    # The ledger stays, without the person; an open invoice is voided, never charged again.
    voided = {"past_due": "void"}.get(state)
    assert list(Invoice.objects.order_by("pk").values_list("number", "total", "status")) == [
        (n, t, voided if s == "open" and voided else s) for n, t, s in invoices_before
    ]
    expected_rows = {(None, country)} if invoices_before else set()
    assert set(Invoice.objects.values_list("account_id", "customer_country")) == expected_rows
    assert set(Payment.objects.values_list("account_id", flat=True)) == (
        {None} if invoices_before else set()
    )
    frozen_clock.advance(days=40)
    run_renewals()
    run_dunning()
    assert SandboxCharge.objects.count() == charges_before


def test_deleting_while_a_charge_is_in_flight_is_refused_and_changes_nothing(alice, frozen_clock):
    customer(alice, "active", frozen_clock)
    Payment.objects.update(status="pending")
    client = Client()
    client.force_login(alice)
    response = client.post("/account/delete/", {"password": PASSWORD})
    assert response.status_code == 409
    assert "A payment for this account is in progress" in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists()
    assert Subscription.objects.get().status == "active"
    assert PaymentMethod.objects.count() == 1


def test_deleting_through_the_api_after_a_refund_keeps_the_credit_note(alice, frozen_clock):
    customer(alice, "active", frozen_clock)
    invoice = Invoice.objects.get()
    services.invoice_refund(invoice_id=invoice.pk, amount=500, reason="Outage")
    _, plaintext = account_services.api_token_create(user=alice, name="cli")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = api.delete("/api/v1/me", {"password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert [n["amount"] for n in response.json()["billing"]["credit_notes"]] == [500]
    assert not User.objects.filter(pk=alice.pk).exists()
    note = CreditNote.objects.get()
    assert (note.amount, note.invoice.account_id, note.invoice.amount_credited) == (500, None, 500)
