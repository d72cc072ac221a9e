"""Webhooks nobody but the gateway can send: each forgery from issue #14, refused, with
nothing changed (secrets at start-up, the sandbox endpoint under Stripe, guessed keys,
amounts and currencies that do not match, dates in the future or out of range)."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.checks import run_checks
from rest_framework.test import APIClient

from billing import services
from billing.gateways import sandbox, signing
from billing.models import CreditNote, Invoice, Payment, Subscription, WebhookEvent
from billing.webhooks import webhook_process, webhook_receive
from tests.billing.conftest import card_token

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/billing/webhooks/sandbox"
pytestmark = pytest.mark.django_db


def deliver(payload, signature, url=URL, header="HTTP_SANDBOX_SIGNATURE"):
    return APIClient().post(
        url, data=payload, content_type="application/json", **{header: signature}
    )


def at(*args):
    return int(datetime(*args, tzinfo=UTC).timestamp())


@pytest.fixture
def incomplete_premium(alice, frozen_clock):
    """Premium checkout whose first charge is pending at the provider (incomplete)."""
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    services.subscription_start(
        account=alice,
        plan_code="premium",
        currency="USD",
        card_token=card_token("4000000000000259"),
        trial=False,
    )
    payment = Payment.objects.get()
    assert (payment.status, Subscription.objects.get().status) == ("pending", "incomplete")
    return payment


def state():
    return (
        list(Payment.objects.values_list("status", "amount_refunded")),
        list(Invoice.objects.values_list("status", "amount_paid", "amount_credited")),
        list(Subscription.objects.values_list("status", "plan__code")),
        CreditNote.objects.count(),
    )


# --- secrets ----------------------------------------------------------------------------------


def deploy_errors(settings, **overrides):
    for name, value in overrides.items():
        setattr(settings, name, value)
    return sorted(
        e.id for e in run_checks(include_deployment_checks=True) if e.id.startswith("billing")
    )


def test_the_default_and_example_webhook_secrets_fail_the_deploy_check(settings):
    assert deploy_errors(settings, BILLING_SANDBOX_WEBHOOK_SECRET="whsec_sandbox_dev") == [
        "billing.E004"
    ]
    assert deploy_errors(settings, BILLING_SANDBOX_WEBHOOK_SECRET="short-secret") == [
        "billing.E004"
    ]
    assert deploy_errors(settings, BILLING_SANDBOX_WEBHOOK_SECRET="") == ["billing.E003"]
    assert deploy_errors(settings, BILLING_SANDBOX_WEBHOOK_SECRET="k" * 40) == []
    settings.SECRET_KEY = "s" * 50
    assert deploy_errors(settings, BILLING_SANDBOX_WEBHOOK_SECRET="s" * 50) == ["billing.E005"]


def test_stripe_needs_its_own_webhook_secret(settings):
    settings.BILLING_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_" + "a" * 30
    settings.BILLING_STRIPE_PUBLISHABLE_KEY = "pk_test_x"
    assert deploy_errors(settings, STRIPE_WEBHOOK_SECRET="") == ["billing.E003"]
    assert deploy_errors(settings, STRIPE_WEBHOOK_SECRET="whsec_double") == ["billing.E004"]
    assert deploy_errors(settings, STRIPE_WEBHOOK_SECRET="whsec_" + "q" * 32) == []


def test_production_settings_without_a_webhook_secret_do_not_start(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))},
        "DJANGO_SETTINGS_MODULE": "streamsite.settings.production",
        "SECRET_KEY": "p" * 60,
        "ALLOWED_HOSTS": "streamsite.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "STREAMSITE_VAR_DIR": str(tmp_path),
    }
    env.pop("BILLING_SANDBOX_WEBHOOK_SECRET", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "billing.E003" in done.stderr
    env["BILLING_SANDBOX_WEBHOOK_SECRET"] = "whsec_sandbox_dev"
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "billing.E004" in done.stderr


# --- the endpoint ---------------------------------------------------------------------------


def test_the_sandbox_endpoint_is_404_under_stripe(settings, incomplete_premium, frozen_clock):
    settings.BILLING_GATEWAY = "stripe"
    before = state()
    payload, signature = sandbox.signed_event(
        event_id="evt_forged",
        type="charge.succeeded",
        created=at(2026, 2, 1, 12),
        data={"charge_id": incomplete_premium.gateway_charge_id, "amount": 2299, "currency": "USD"},
    )
    assert deliver(payload, signature).status_code == 404
    assert (state(), WebhookEvent.objects.count()) == (before, 0)


# --- matching -------------------------------------------------------------------------------


def receive_and_process(data, *, kind="charge.succeeded", event_id="evt_forged"):
    payload, signature = sandbox.signed_event(
        event_id=event_id, type=kind, created=at(2026, 2, 1, 12), data=data
    )
    row, _ = webhook_receive(gateway_name="sandbox", payload=payload, signature=signature)
    return webhook_process(event_pk=row.pk)


def test_a_guessed_payment_key_matches_nothing(incomplete_premium):
    before = state()
    guessed = {"payment_key": f"inv_{incomplete_premium.invoice_id}_1", "charge_id": "ch_guess"}
    assert receive_and_process({**guessed, "amount": 2299, "currency": "USD"}) == "deferred"
    assert state() == before
    assert Subscription.objects.get().status == "incomplete"


@pytest.mark.parametrize(
    "amount,currency", [(1, "USD"), (2299, "EUR"), (None, "USD"), (2299, ""), (229900, "USD")]
)
def test_a_charge_event_whose_amount_or_currency_differs_changes_nothing(
    incomplete_premium, amount, currency
):
    before = state()
    data = {"charge_id": incomplete_premium.gateway_charge_id, "currency": currency}
    if amount is not None:
        data["amount"] = amount
    assert receive_and_process(data) == "failed"
    assert state() == before
    assert WebhookEvent.objects.get().error == "Amount or currency does not match the payment."


def test_a_refund_event_on_someone_elses_invoice_with_another_amount_credits_nothing(
    alice, frozen_clock
):
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=card_token(), trial=False
    )
    payment = Payment.objects.get()
    before = state()
    data = {"charge_id": payment.gateway_charge_id, "amount_refunded": 1549}
    assert receive_and_process({**data, "amount": 500, "currency": "USD"}, kind="charge.refunded")
    assert state() == before
    # By its guessable key only: nothing is found, nothing credited.
    guessed = {"payment_key": payment.idempotency_key, "amount_refunded": 1549}
    outcome = receive_and_process(
        {**guessed, "amount": 1549, "currency": "USD"}, kind="charge.refunded", event_id="evt_2"
    )
    assert (outcome, state()) == ("deferred", before)


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "created,signed_at,code",
    [
        (at(2026, 2, 2, 12), at(2026, 2, 1, 12), "bad_event"),  # dated a day ahead
        (1e20, at(2026, 2, 1, 12), "bad_event"),  # absurd: 400, not 500
        (-1e20, at(2026, 2, 1, 12), "bad_event"),
        ("soon", at(2026, 2, 1, 12), "bad_event"),
        (at(2026, 1, 20, 12), at(2026, 2, 1, 12), "bad_event"),  # 12 days old
        (at(2026, 2, 1, 12), at(2026, 2, 1, 11), "stale_signature"),  # a replayed delivery
        (at(2026, 2, 1, 12), 10**30, "stale_signature"),  # signed "in the year 10^22"
    ],
)
def test_events_dated_outside_the_window_are_refused(
    incomplete_premium, frozen_clock, created, signed_at, code
):
    before = state()
    payload = json.dumps(
        {
            "id": "evt_dated",
            "type": "charge.succeeded",
            "created": created,
            "data": {
                "charge_id": incomplete_premium.gateway_charge_id,
                "amount": 2299,
                "currency": "USD",
            },
        }
    ).encode()
    signature = signing.sign(payload, "whsec_sandbox_dev", signed_at)
    response = deliver(payload, signature)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert (state(), WebhookEvent.objects.count()) == (before, 0)


def test_a_stripe_event_dated_in_the_future_is_refused(alice, stripe_double):
    now = int(time.time())
    payload = json.dumps(
        {
            "id": "evt_future",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": now + 86400,
            "data": {"object": {"id": "pi_1", "object": "payment_intent"}},
        }
    ).encode()
    response = deliver(
        payload,
        signing.sign(payload, "whsec_double", now),
        url="/api/v1/billing/webhooks/stripe",
        header="HTTP_STRIPE_SIGNATURE",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_event")
    assert WebhookEvent.objects.count() == 0
