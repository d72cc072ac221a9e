"""Gateway webhooks: verify, store each event once, process it once in a task."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from billing import clock, services
from billing.gateways import ChargeResult, get_gateway
from billing.models import Payment, PaymentStatus, WebhookEvent
from streamsite.errors import NotFound

GATEWAYS = ("sandbox", "stripe")
# Events that name a charge we have not recorded yet are retried for this long.
DEFER_LIMIT = timedelta(days=3)


def webhook_receive(
    *, gateway_name: str, payload: bytes, signature: str, now: datetime | None = None
) -> tuple[WebhookEvent, bool]:
    """Verify and store; the processing task is enqueued after commit for a new event only."""
    from billing import tasks

    if gateway_name not in GATEWAYS:
        raise NotFound("No such gateway.")
    now = now or clock.now()
    event = get_gateway(gateway_name).parse_webhook(payload=payload, signature=signature, now=now)
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                gateway=gateway_name,
                event_id=event.event_id,
                type=event.type,
                payload=event.raw,
                event_created=event.created,
                received_at=now,
            )
    except IntegrityError:
        WebhookEvent.objects.filter(gateway=gateway_name, event_id=event.event_id).update(
            delivery_count=F("delivery_count") + 1
        )
        return WebhookEvent.objects.get(gateway=gateway_name, event_id=event.event_id), False
    tasks.process_webhook_event.delay_on_commit(row.pk)  # type: ignore[attr-defined]
    return row, True


def _payment_for(charge_id: str, payment_key: str) -> Payment | None:
    query = Q()
    if charge_id:
        query |= Q(gateway_charge_id=charge_id)
    if payment_key:
        query |= Q(idempotency_key=payment_key)
    if not query:
        return None
    return Payment.objects.filter(query).first()


def webhook_process(*, event_pk: int, now: datetime | None = None) -> str:
    """Apply one stored event, once (row lock + status). Order of delivery does not matter:
    payment results only move a pending payment, refunds are synced to the gateway's total."""
    now = now or clock.now()
    with transaction.atomic():
        row = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
        if row is None or row.status != WebhookEvent.Status.PENDING:
            return "done"
        data = row.payload.get("data", {}) if row.gateway == "sandbox" else {}
        if row.gateway == "stripe":
            obj = row.payload.get("data", {}).get("object", {})
            data = {
                "charge_id": obj.get("payment_intent")
                if row.type == "charge.refunded"
                else obj.get("id"),
                "payment_key": (obj.get("metadata") or {}).get("payment_key", ""),
                "amount_refunded": obj.get("amount_refunded", 0),
            }
        payment = _payment_for(str(data.get("charge_id") or ""), str(data.get("payment_key") or ""))
        outcome = "processed"
        if row.type in ("charge.succeeded", "charge.failed"):
            if payment is None:
                outcome = "deferred"
            else:
                services.payment_apply_result(
                    payment_id=payment.pk,
                    result=ChargeResult(
                        "succeeded" if row.type == "charge.succeeded" else "failed",
                        str(data.get("charge_id") or payment.gateway_charge_id),
                        "" if row.type == "charge.succeeded" else "card_declined",
                        "" if row.type == "charge.succeeded" else "Your card was declined.",
                    ),
                    now=now,
                )
        elif row.type == "charge.refunded":
            if payment is None or payment.status != PaymentStatus.SUCCEEDED:
                outcome = "deferred"
            else:
                services.payment_sync_refunded(
                    payment=payment, amount_refunded=int(data.get("amount_refunded") or 0), now=now
                )
        else:
            outcome = "ignored"
        if outcome == "deferred":
            if now - row.received_at > DEFER_LIMIT:
                WebhookEvent.objects.filter(pk=row.pk).update(
                    status=WebhookEvent.Status.FAILED, error="Unknown charge.", processed_at=now
                )
                return "failed"
            WebhookEvent.objects.filter(pk=row.pk).update(error="Waiting for the charge.")
            return "deferred"
        WebhookEvent.objects.filter(pk=row.pk).update(
            status=WebhookEvent.Status.IGNORED
            if outcome == "ignored"
            else WebhookEvent.Status.PROCESSED,
            processed_at=now,
            error="",
        )
        return outcome
