"""The Stripe gateway against a local HTTP double on loopback (never the network).

The double is tests/billing/stripe_double.py, served by the `stripe_double` fixture.
"""

import json
import time

import pytest

from billing import services
from billing.gateways import signing
from billing.models import CreditNote, Invoice, Payment, PaymentMethod, Subscription, WebhookEvent
from billing.webhooks import webhook_process, webhook_receive

pytestmark = pytest.mark.django_db


def test_checkout_creates_customer_attaches_and_confirms_an_intent(alice, stripe_double):
    sub = services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token="pm_card_visa", trial=False
    )
    assert sub.status == "active"
    invoice = Invoice.objects.get()
    paths = [r[0] for r in stripe_double.requests]
    assert paths == [
        "/v1/customers",
        "/v1/payment_methods/pm_card_visa/attach",
        "/v1/payment_intents",
    ]
    _, form, key, auth = stripe_double.requests[2]
    assert key == f"inv_{invoice.pk}_1"
    assert auth == "Bearer sk_test_double"
    assert (
        form["amount"],
        form["currency"],
        form["customer"],
        form["off_session"],
        form["confirm"],
        form["metadata[payment_key]"],
    ) == ("1549", "usd", "cus_123", "true", "true", f"inv_{invoice.pk}_1")
    pm = PaymentMethod.objects.get()
    assert (pm.gateway, pm.token, pm.brand, pm.last4) == ("stripe", "pm_card_visa", "visa", "4242")
    assert Payment.objects.get().gateway_charge_id == "pi_1"


def test_card_error_is_a_decline_with_stripes_message(alice, stripe_double):
    with pytest.raises(services.PaymentDeclined, match="Your card has insufficient funds."):
        services.subscription_start(
            account=alice,
            plan_code="basic",
            currency="USD",
            card_token="pm_card_chargeDeclinedInsufficientFunds",
            trial=False,
        )
    payment = Payment.objects.get()
    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert Subscription.objects.get().status == "expired"


def test_resending_a_charge_uses_the_same_key_and_gets_the_same_intent(alice, stripe_double):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token="pm_card_visa", trial=False
    )
    payment = Payment.objects.get()
    Payment.objects.filter(pk=payment.pk).update(status="pending", gateway_charge_id="")
    from datetime import timedelta

    services.payment_sweep(now=payment.created_at + timedelta(minutes=20))
    intents = [r for r in stripe_double.requests if r[0] == "/v1/payment_intents"]
    assert [r[2] for r in intents] == [payment.idempotency_key] * 2
    assert len(stripe_double.intents) == 1
    assert Payment.objects.get().status == "succeeded"


def test_refund_goes_to_stripe_with_an_idempotency_key(alice, stripe_double):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token="pm_card_visa", trial=False
    )
    invoice = Invoice.objects.get()
    note = services.invoice_refund(invoice_id=invoice.pk, amount=300, reason="Outage")
    path, form, key, _ = stripe_double.requests[-1]
    assert (path, form["payment_intent"], form["amount"], key) == (
        "/v1/refunds",
        "pi_1",
        "300",
        f"refund_{invoice.pk}_1",
    )
    assert (note.number, note.amount, note.gateway_refund_id) == (
        f"CN-{invoice.number}-1",
        300,
        "re_1",
    )


def test_stripe_webhook_is_verified_and_settles_a_processing_intent(alice, stripe_double):
    services.subscription_start(
        account=alice,
        plan_code="basic",
        currency="USD",
        card_token="pm_card_processing",
        trial=False,
    )
    payment = Payment.objects.get()
    assert (payment.status, Subscription.objects.get().status) == ("pending", "incomplete")
    now = int(time.time())  # the stripe library checks the tolerance against real time
    payload = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": now,
            "data": {
                "object": {
                    "id": "pi_1",
                    "object": "payment_intent",
                    "amount": 799,
                    "currency": "usd",
                    "metadata": {"payment_key": payment.idempotency_key},
                }
            },
        }
    ).encode()
    with pytest.raises(services.DomainError, match="Signature does not match."):
        webhook_receive(
            gateway_name="stripe",
            payload=payload,
            signature=signing.sign(payload, "whsec_wrong", now),
        )
    row, created = webhook_receive(
        gateway_name="stripe", payload=payload, signature=signing.sign(payload, "whsec_double", now)
    )
    assert created is True
    assert webhook_process(event_pk=row.pk) == "processed"
    assert Payment.objects.get().status == "succeeded"
    assert Subscription.objects.get().status == "active"
    assert WebhookEvent.objects.get().type == "charge.succeeded"
    assert CreditNote.objects.count() == 0


def test_unreachable_stripe_is_503_not_500(alice, settings, stripe_double):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused
    with pytest.raises(services.DomainError) as caught:
        services.payment_method_add(account=alice, token="pm_card_visa")
    assert caught.value.status == 503
    assert PaymentMethod.objects.count() == 0
