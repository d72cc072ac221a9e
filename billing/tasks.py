"""Celery adapters for billing: beat-driven renewals and dunning, webhook processing, purges.

Each takes ids (or nothing), re-fetches and calls a service; all are safe to run twice or
concurrently because the services claim their work with conditional updates.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils.dateparse import parse_datetime

from billing import clock, idempotency, services, webhooks
from billing.models import Invoice, InvoiceStatus, Subscription, WebhookEvent
from billing.services.notices import payment_failed_notice


def _at(now_iso: str | None) -> datetime:
    parsed = parse_datetime(now_iso) if now_iso else None
    return parsed or clock.now()


@shared_task(name="billing.tasks.run_renewals")
def run_renewals(now_iso: str | None = None) -> int:
    """Renew every due subscription, a batch at a time, until none is due.

    A batch that raced (or hit a constraint) is rolled back whole; its subscriptions are then
    tried one by one, so one odd row can neither block the others nor be renewed twice.
    """
    now = _at(now_iso)
    done = 0
    for _round in range(1000):  # bounded; each round is one batch
        outcome = services.subscriptions_renew(now=now)
        progressed = outcome["renewed"] + outcome["expired"]
        if outcome["raced"]:
            for pk in (
                Subscription.objects.due_for_renewal(now)
                .order_by("pk")
                .values_list("pk", flat=True)[: settings.BILLING_RENEWAL_BATCH]
            ):
                single = services.subscriptions_renew(now=now, ids=[pk])
                progressed += single["renewed"] + single["expired"]
        done += progressed
        if progressed == 0:
            break
    return done


@shared_task(name="billing.tasks.run_dunning")
def run_dunning(now_iso: str | None = None) -> int:
    """Retry open renewal invoices whose next attempt is due; re-send unanswered charges."""
    now = _at(now_iso)
    due = list(
        Invoice.objects.filter(status=InvoiceStatus.OPEN, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in due:
        services.invoice_retry(invoice_id=pk, now=now)
    services.payment_sweep(now=now)
    return len(due)


@shared_task(name="billing.tasks.process_webhook_event")
def process_webhook_event(event_pk: int) -> str:
    return webhooks.webhook_process(event_pk=event_pk)


@shared_task(name="billing.tasks.retry_deferred_webhooks")
def retry_deferred_webhooks() -> int:
    pending = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in pending:
        webhooks.webhook_process(event_pk=pk)
    return len(pending)


@shared_task(name="billing.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.purge()


# Kept for messages queued before the outbox carried these emails; new code calls
# services.notices.payment_failed_notice inside its transaction.
@shared_task(name="billing.tasks.send_payment_failed_email")
def send_payment_failed_email(invoice_pk: int, final: bool) -> bool:
    return payment_failed_notice(invoice_id=invoice_pk, final=final)


@shared_task(name="billing.tasks.collect_refund")
def collect_refund(note_pk: int) -> str:
    """Steps (b) and (c) of a refund opened inside another transaction (a superseded upgrade)."""
    try:
        return services.refund_collect(note_id=note_pk).status
    except (services.GatewayUnavailable, services.ValidationFailed) as exc:
        return type(exc).__name__  # pending (the sweep retries) or refused (the note says so)
