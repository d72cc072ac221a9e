"""Gateway webhooks: verify, store each event once, process it once in a task.

Only the configured gateway's endpoint exists (the sandbox's is a 404 under Stripe). An event
must be signed with that gateway's secret within BILLING_WEBHOOK_TOLERANCE, must not be dated
in the future (beyond the tolerance) nor older than the gateway's retry window, and may only
name a payment by the id the gateway itself generated for the charge (never by a key we
derive from our ids, which anyone can guess); its amount and currency must be the payment's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext

from billing import clock, services
from billing.gateways import ChargeResult, get_gateway
from billing.models import CreditNote, Payment, PaymentStatus, WebhookEvent
from streamsite.errors import NotFound, ValidationFailed

GATEWAYS = ("sandbox", "stripe")
# Events that name a charge we have not recorded yet are retried for this long.
DEFER_LIMIT = timedelta(days=3)


def webhook_receive(
    *, gateway_name: str, payload: bytes, signature: str, now: datetime | None = None
) -> tuple[WebhookEvent, bool]:
    """Verify and store; the processing task is enqueued after commit for a new event only."""
    from billing import tasks

    if gateway_name not in GATEWAYS or gateway_name != settings.BILLING_GATEWAY:
        raise NotFound(gettext("No such gateway."))
    now = now or clock.now()
    event = get_gateway(gateway_name).parse_webhook(payload=payload, signature=signature, now=now)
    if event.created > now + timedelta(seconds=settings.BILLING_WEBHOOK_TOLERANCE):
        raise ValidationFailed(gettext("The event is dated in the future."), code="bad_event")
    if event.created < now - DEFER_LIMIT:
        raise ValidationFailed(gettext("The event is too old."), code="bad_event")
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


def _payment_for(gateway: str, charge_id: str) -> Payment | None:
    """The payment a charge id the gateway generated belongs to (ours, on that gateway)."""
    if not charge_id:
        return None
    return Payment.objects.filter(gateway=gateway, gateway_charge_id=charge_id).first()


def _fields(row: WebhookEvent) -> dict[str, Any]:
    """The charge id, amount and currency an event names, from its stored body."""
    if row.gateway == "stripe":
        obj = row.payload.get("data", {}).get("object", {})
        refund = row.type == "charge.refunded"
        return {
            "charge_id": obj.get("payment_intent") if refund else obj.get("id"),
            "amount": obj.get("amount"),
            "currency": str(obj.get("currency") or "").upper(),
            "amount_refunded": obj.get("amount_refunded", 0),
        }
    data = row.payload.get("data", {})
    return {
        "charge_id": data.get("charge_id"),
        "amount": data.get("amount"),
        "currency": str(data.get("currency") or "").upper(),
        "amount_refunded": data.get("amount_refunded", 0),
    }


def webhook_process(*, event_pk: int, now: datetime | None = None) -> str:
    """Apply one stored event, once (row lock + status). Order of delivery does not matter:
    payment results only move a pending payment, refunds are synced to the gateway's total."""
    now = now or clock.now()
    with transaction.atomic():
        row = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
        if row is None or row.status != WebhookEvent.Status.PENDING:
            return "done"
        data = _fields(row)
        payment = _payment_for(row.gateway, str(data["charge_id"] or ""))
        outcome = "processed"
        if (
            payment is not None
            and row.type in ("charge.succeeded", "charge.failed", "charge.refunded")
            and (data["amount"] != payment.amount or data["currency"] != payment.currency)
        ):
            # Signed, but not about this payment as we charged it: change nothing.
            WebhookEvent.objects.filter(pk=row.pk).update(
                status=WebhookEvent.Status.FAILED,
                error="Amount or currency does not match the payment.",
                processed_at=now,
            )
            return "failed"
        if row.type in ("charge.succeeded", "charge.failed"):
            if payment is None:
                outcome = "deferred"
            else:
                services.payment_apply_result(
                    payment_id=payment.pk,
                    result=ChargeResult(
                        "succeeded" if row.type == "charge.succeeded" else "failed",
                        payment.gateway_charge_id,
                        "" if row.type == "charge.succeeded" else "card_declined",
                        "" if row.type == "charge.succeeded" else "Your card was declined.",
                    ),
                    now=now,
                )
        elif row.type == "charge.refunded":
            if (
                payment is None
                or payment.status != PaymentStatus.SUCCEEDED
                or CreditNote.objects.filter(
                    payment=payment, status=CreditNote.Status.PENDING
                ).exists()
            ):
                # Unknown charge yet, or one of our refunds in flight (the gateway's total
                # already has it, ours not yet): wait rather than record it twice.
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
