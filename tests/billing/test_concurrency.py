"""Concurrency: 50 simultaneous requests with one Idempotency-Key; renewals run concurrently.

These need real concurrent connections (PostgreSQL). SQLite's in-memory test database cannot
be shared by threads with separate connections, so there the sequential variants (in
test_api.py and test_dunning.py) cover the same logic.
"""

from datetime import UTC, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from billing import services
from billing.models import Invoice, Payment, SandboxCharge
from billing.tasks import run_dunning, run_renewals
from tests.billing.conftest import card_token, in_threads

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent connections; SQLite's in-memory test DB is per-connection "
        "(sequential variants cover the logic)",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plans_reseeded"),
]


def test_50_concurrent_requests_with_one_key_charge_once_and_answer_the_same(alice):
    """The key is claimed before the work and no transaction is held across the gateway
    call, so duplicates arriving while it runs are told to retry (409, Stripe's
    `idempotency_key_in_use`); every answer given is the one stored, and one charge."""
    token = card_token()
    body = {"plan": "premium", "currency": "USD", "card_token": token, "trial": False}

    def request(_):
        client = APIClient()
        client.force_authenticate(alice)
        response = client.post("/api/v1/billing/subscription", body, HTTP_IDEMPOTENCY_KEY="same")
        return response.status_code, response.json()

    results = in_threads(50, request)
    client = APIClient()
    client.force_authenticate(alice)
    replay = client.post("/api/v1/billing/subscription", body, HTTP_IDEMPOTENCY_KEY="same")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    created = [answer for code, answer in results if code == 201]
    in_use = [answer for code, answer in results if code == 409]
    assert len(created) + len(in_use) == 50
    assert created and all(answer == replay.json() for answer in created)
    assert {answer["error"]["code"] for answer in in_use} <= {"idempotency_key_in_use"}
    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.count() == 1
    assert Invoice.objects.get().total == 2299


def test_concurrent_renewal_and_dunning_runs_charge_each_period_once(alice, bob, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    services.subscription_start(
        account=bob,
        plan_code="basic",
        currency="USD",
        card_token=card_token("4000000000000341"),
        trial=False,
    )
    at = datetime(2026, 2, 1, 12, tzinfo=UTC)
    in_threads(4, lambda _: run_renewals(at.isoformat()))
    assert Invoice.objects.filter(kind="renewal").count() == 2
    retry_at = datetime(2026, 2, 2, 12, tzinfo=UTC)
    in_threads(4, lambda _: run_dunning(retry_at.isoformat()))
    bob_invoice = Invoice.objects.get(kind="renewal", account=bob)
    assert bob_invoice.attempt_count == 2
    assert Payment.objects.filter(invoice=bob_invoice).count() == 2
    assert SandboxCharge.objects.filter(status="succeeded").count() == 3
