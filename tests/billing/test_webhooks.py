"""Webhooks: signature and tolerance, stored once, processed once, any delivery order."""

import json
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from billing import services
from billing.gateways import sandbox
from billing.models import (
    CreditNote,
    Invoice,
    Payment,
    Subscription,
    SubscriptionEvent,
    WebhookEvent,
)
from billing.tasks import retry_deferred_webhooks, run_renewals
from billing.webhooks import webhook_process
from tests.billing.conftest import card_token

URL = "/api/v1/billing/webhooks/sandbox"


def deliver(client, payload, signature):
    return client.post(
        URL, data=payload, content_type="application/json", HTTP_SANDBOX_SIGNATURE=signature
    )


def pending_renewal(alice, frozen_clock):
    """Alice's trial ended on 1 Feb; the first charge is pending at the (sandbox) provider."""
    frozen_clock.set(datetime(2026, 1, 25, 12, tzinfo=UTC))
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token("4000000000000259")
    )
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    assert Subscription.objects.get(account=alice).status == "trialing"
    return Payment.objects.get(invoice__kind="renewal")


def event_for(payment, kind="charge.succeeded", event_id="evt_1", created=None, **data):
    created = created or int(datetime(2026, 2, 1, 12, 5, tzinfo=UTC).timestamp())
    body = {
        "charge_id": payment.gateway_charge_id,
        "amount": payment.amount,
        "currency": payment.currency,
        **data,
    }
    return sandbox.signed_event(event_id=event_id, type=kind, data=body, created=created)


@pytest.mark.django_db
def test_pending_charge_is_settled_by_a_webhook(
    alice, frozen_clock, django_capture_on_commit_callbacks
):
    payment = pending_renewal(alice, frozen_clock)
    assert (payment.status, Invoice.objects.get(kind="renewal").status) == ("pending", "open")
    frozen_clock.set(datetime(2026, 2, 1, 12, 6, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(APIClient(), *event_for(payment))
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False, "event": "evt_1"}
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Invoice.objects.get(kind="renewal").status == "paid"
    assert WebhookEvent.objects.get().status == "processed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper,message",
    [
        (lambda p, s: (p + b" ", s), "Signature does not match."),
        (lambda p, s: (p, s.replace("v1=", "v1=00")), "Signature does not match."),
        (lambda p, s: (p, "garbage"), "Malformed signature header."),
    ],
)
def test_bad_signatures_are_refused_and_nothing_is_stored(tamper, message, frozen_clock):
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    payload, signature = sandbox.signed_event(
        event_id="evt_x",
        type="charge.succeeded",
        data={},
        created=int(datetime(2026, 2, 1, 12, tzinfo=UTC).timestamp()),
    )
    response = deliver(APIClient(), *tamper(payload, signature))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_signature_outside_the_tolerance_is_refused(frozen_clock):
    signed_at = datetime(2026, 2, 1, 12, tzinfo=UTC)
    payload, signature = sandbox.signed_event(
        event_id="evt_old", type="charge.succeeded", data={}, created=int(signed_at.timestamp())
    )
    frozen_clock.set(datetime(2026, 2, 1, 12, 5, 1, tzinfo=UTC))  # 301 s later
    response = deliver(APIClient(), payload, signature)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "stale_signature"
    frozen_clock.set(datetime(2026, 2, 1, 12, 5, tzinfo=UTC))  # exactly 300 s: accepted
    assert deliver(APIClient(), payload, signature).status_code == 200


@pytest.mark.django_db
def test_unknown_gateway_is_404(db):
    response = APIClient().post(
        "/api/v1/billing/webhooks/paypal", data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not WebhookEvent.objects.exists()  # nothing stored for a gateway we do not have


@pytest.mark.django_db
def test_one_event_delivered_100_times_changes_state_once(
    alice, frozen_clock, django_capture_on_commit_callbacks
):
    payment = pending_renewal(alice, frozen_clock)
    frozen_clock.set(datetime(2026, 2, 1, 12, 6, tzinfo=UTC))
    payload, signature = event_for(payment)
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [deliver(client, payload, signature).json()["duplicate"] for _ in range(100)]
    assert answers == [False] + [True] * 99
    row = WebhookEvent.objects.get()
    assert (row.delivery_count, row.status) == (100, "processed")
    sub = Subscription.objects.get(account=alice)
    assert SubscriptionEvent.objects.filter(subscription=sub, kind="payment_succeeded").count() == 1
    assert Payment.objects.filter(status="succeeded").count() == 1
    assert sub.status == "active"


@pytest.mark.django_db
def test_out_of_order_failed_after_succeeded_changes_nothing(alice, frozen_clock):
    payment = pending_renewal(alice, frozen_clock)
    frozen_clock.set(datetime(2026, 2, 1, 12, 6, tzinfo=UTC))
    late_fail = event_for(
        payment,
        "charge.failed",
        "evt_fail",
        created=int(datetime(2026, 2, 1, 12, 1, tzinfo=UTC).timestamp()),
    )
    services_events = []
    for payload, signature in (event_for(payment), late_fail):
        from billing.webhooks import webhook_receive

        row, _ = webhook_receive(gateway_name="sandbox", payload=payload, signature=signature)
        services_events.append(webhook_process(event_pk=row.pk))
    assert services_events == ["processed", "processed"]
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Subscription.objects.get(account=alice).status == "active"


@pytest.mark.django_db
def test_event_before_its_charge_is_known_waits_then_applies(alice, frozen_clock):
    from billing.webhooks import webhook_receive

    payment = pending_renewal(alice, frozen_clock)
    charge_id = payment.gateway_charge_id
    Payment.objects.filter(pk=payment.pk).update(gateway_charge_id="")  # our write not yet seen
    payload, signature = sandbox.signed_event(
        event_id="evt_early",
        type="charge.succeeded",
        data={"charge_id": charge_id, "amount": 799, "currency": "USD"},
        created=int(datetime(2026, 2, 1, 12, tzinfo=UTC).timestamp()),
    )
    row, _ = webhook_receive(gateway_name="sandbox", payload=payload, signature=signature)
    assert webhook_process(event_pk=row.pk) == "deferred"
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    Payment.objects.filter(pk=payment.pk).update(gateway_charge_id=charge_id)
    assert retry_deferred_webhooks() == 1
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert WebhookEvent.objects.get().status == "processed"


@pytest.mark.django_db
def test_refund_events_sync_to_the_gateway_total_in_any_order(alice, frozen_clock):
    from billing.webhooks import webhook_receive

    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    payment = Payment.objects.get()
    frozen_clock.set(datetime(2026, 1, 2, tzinfo=UTC))
    created = int(datetime(2026, 1, 2, tzinfo=UTC).timestamp())
    for event_id, total in (("evt_r2", 500), ("evt_r1", 300)):  # the later total arrives first
        payload, signature = sandbox.signed_event(
            event_id=event_id,
            type="charge.refunded",
            created=created,
            data={
                "charge_id": payment.gateway_charge_id,
                "amount": 799,
                "currency": "USD",
                "amount_refunded": total,
            },
        )
        row, _ = webhook_receive(gateway_name="sandbox", payload=payload, signature=signature)
        webhook_process(event_pk=row.pk)
    assert list(CreditNote.objects.values_list("amount", flat=True)) == [500]
    payment.refresh_from_db()
    assert payment.amount_refunded == 500
    assert Invoice.objects.get().amount_credited == 500


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database cannot be shared by threads with their own "
    "connections; the sequential 100-delivery test covers the logic there",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("plans_reseeded")
def test_100_deliveries_from_2_concurrent_workers_change_state_once(alice, frozen_clock):
    payment = pending_renewal(alice, frozen_clock)
    frozen_clock.set(datetime(2026, 2, 1, 12, 6, tzinfo=UTC))
    payload, signature = event_for(payment)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            client = APIClient()
            barrier.wait()
            for _ in range(50):
                assert deliver(client, payload, signature).status_code == 200
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    row = WebhookEvent.objects.get()
    assert (row.delivery_count, row.status) == (100, "processed")
    sub = Subscription.objects.get(account=alice)
    assert SubscriptionEvent.objects.filter(subscription=sub, kind="payment_succeeded").count() == 1
    assert json.loads(payload)["id"] == "evt_1"
