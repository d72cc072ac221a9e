"""The email outbox: queue an email with the write that asked for it, send it once from a task,
and sweep what a lost message or a killed worker left unsent.

Delivery is at least once: a worker killed after the mail server accepted a message but before
the row says "sent" sends it again after the claim lease. Every other loss is recovered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from streamsite.models import OutboundEmail

#: sent rows are kept this long (support looks them up), then deleted by the sweep
RETENTION = timedelta(days=7)
MAX_ATTEMPTS = 5
#: reconnections tried to record a send whose connection the database dropped
MARK_SENT_TRIES = 3
SWEEP_BATCH = 500


def resend_after() -> timedelta:
    """A pending email whose message has not run after this long gets another message."""
    return timedelta(seconds=settings.OUTBOX_RESEND_AFTER)


def claim_lease() -> timedelta:
    """A claim older than the send task's hard time limit belongs to a dead worker."""
    from streamsite.taskqueues import time_limits_for

    _soft, hard = time_limits_for("streamsite.tasks.send_outbound_email")
    return timedelta(seconds=hard + 30)


def email_enqueue(
    *,
    to: str,
    subject: str,
    body: str,
    attachments: Iterable[tuple[str, str, str]] = (),
) -> OutboundEmail:
    """Store the email (inside the caller's transaction) and send it after commit."""
    from streamsite.tasks import send_outbound_email

    now = timezone.now()
    email = OutboundEmail.objects.create(
        to=to,
        subject=" ".join(subject.split())[:255],
        body=body,
        attachments=[list(a) for a in attachments],
        created_at=now,
        enqueued_at=now,
    )
    send_outbound_email.delay_on_commit(email.pk)  # type: ignore[attr-defined]
    return email


def email_deliver(*, email_id: int, now: datetime | None = None) -> str:
    """Send one queued email; "sent", "failed" (gave up), "retry" or "skipped" (not ours)."""
    now = now or timezone.now()
    claimed = (
        OutboundEmail.objects.filter(pk=email_id)
        .filter(
            Q(status=OutboundEmail.Status.PENDING)
            | Q(status=OutboundEmail.Status.SENDING, claimed_at__lt=now - claim_lease())
        )
        .update(status=OutboundEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "skipped"
    email = OutboundEmail.objects.get(pk=email_id)
    message = EmailMessage(subject=email.subject, body=email.body, to=[email.to], from_email=None)
    for filename, content, mimetype in email.attachments:
        message.attach(filename, content, mimetype)
    try:
        message.send()
    except OSError as exc:  # the mail server is down or refused: try again later
        gave_up = email.attempts >= MAX_ATTEMPTS
        OutboundEmail.objects.filter(pk=email_id, status=OutboundEmail.Status.SENDING).update(
            status=OutboundEmail.Status.FAILED if gave_up else OutboundEmail.Status.PENDING,
            last_error=f"{type(exc).__name__}: {exc}"[:255],
            enqueued_at=now,
        )
        return "failed" if gave_up else "retry"
    _mark_sent(email_id)
    return "sent"


def _mark_sent(email_id: int) -> None:
    """Record the send, on a fresh connection if the database dropped ours: the mail server
    already has the message, so losing this write would send it again after the lease."""
    for attempt in range(MARK_SENT_TRIES):
        try:
            OutboundEmail.objects.filter(pk=email_id).update(
                status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error=""
            )
            return
        except (OperationalError, InterfaceError):
            if attempt == MARK_SENT_TRIES - 1:
                raise
            connection.close()  # the next query connects again


def email_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Send another message for each email left pending or claimed by a dead worker; delete
    old sent ones. Returns how many were re-enqueued. Safe to run concurrently: delivery
    claims the row."""
    from streamsite.tasks import send_outbound_email

    now = now or timezone.now()
    stale = list(
        OutboundEmail.objects.filter(
            Q(status=OutboundEmail.Status.PENDING, enqueued_at__lt=now - resend_after())
            | Q(status=OutboundEmail.Status.SENDING, claimed_at__lt=now - claim_lease())
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    with transaction.atomic():
        OutboundEmail.objects.filter(pk__in=stale).update(enqueued_at=now)
        for pk in stale:
            send_outbound_email.delay_on_commit(pk)  # type: ignore[attr-defined]
    old = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.SENT, sent_at__lt=now - RETENTION
    ).values_list("pk", flat=True)[:batch]
    OutboundEmail.objects.filter(pk__in=list(old)).delete()
    return len(stale)


def outbox_backlog() -> int:
    """Emails not yet sent (operators watch this; the chaos suite waits for it to reach 0)."""
    return OutboundEmail.objects.filter(
        status__in=(OutboundEmail.Status.PENDING, OutboundEmail.Status.SENDING)
    ).count()
