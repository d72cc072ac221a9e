"""Celery adapters for billing: beat-driven renewals and dunning, webhook processing, purges.

Each takes ids (or nothing), re-fetches and calls a service; all are safe to run twice or
concurrently because the services claim their work with conditional updates.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils.dateparse import parse_datetime

from billing import clock, idempotency, money, services, webhooks
from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus, WebhookEvent


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


@shared_task(name="billing.tasks.send_payment_failed_email")
def send_payment_failed_email(invoice_pk: int, final: bool) -> bool:
    invoice = (
        Invoice.objects.select_related("account", "subscription").filter(pk=invoice_pk).first()
    )
    if invoice is None or invoice.account is None:
        return False  # gone, or its customer deleted the account
    amount = money.format_money(invoice.total, invoice.currency)
    if final or (
        invoice.subscription and invoice.subscription.status == SubscriptionStatus.CANCELED
    ):
        subject = "Your Streamsite subscription was canceled"
        body = (
            f"We could not collect {amount} for invoice {invoice.number} after several "
            "tries, so your subscription has been canceled. Pick a plan any time to come back."
        )
    else:
        when = invoice.next_attempt_at.strftime("%d %b %Y") if invoice.next_attempt_at else "soon"
        subject = "Your Streamsite payment failed"
        body = (
            f"We could not collect {amount} for invoice {invoice.number}. We will try again "
            f"on {when}. Update your card on the billing page to keep watching."
        )
    send_mail(subject, body, None, [invoice.account.email])
    return True


@shared_task(name="billing.tasks.collect_refund")
def collect_refund(note_pk: int) -> str:
    """Steps (b) and (c) of a refund opened inside another transaction (a superseded upgrade)."""
    try:
        return services.refund_collect(note_id=note_pk).status
    except (services.GatewayUnavailable, services.ValidationFailed) as exc:
        return type(exc).__name__  # pending (the sweep retries) or refused (the note says so)
