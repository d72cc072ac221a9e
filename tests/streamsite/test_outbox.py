"""The email outbox: an email is a row written with the change that asked for it; a lost task
message, a killed worker or a refusing mail server delays it but never loses or repeats it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django.utils import timezone

from streamsite.models import OutboundEmail
from streamsite.outbox import (
    MAX_ATTEMPTS,
    claim_lease,
    email_deliver,
    email_enqueue,
    email_sweep,
    outbox_backlog,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _enqueue_lost(to: str = "a@example.com") -> OutboundEmail:
    """Queue an email whose task message never reaches a worker (the broker lost it)."""
    from unittest import mock

    with mock.patch("streamsite.tasks.send_outbound_email.delay_on_commit"):
        return email_enqueue(to=to, subject="Hello\n there", body="Body")


def test_an_email_is_sent_once_after_commit():
    with transaction.atomic():
        email = email_enqueue(
            to="a@example.com",
            subject="Hi",
            body="Body",
            attachments=[("a.txt", "x", "text/plain")],
        )
        assert mail.outbox == []
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    assert [(m.to, m.subject, m.body, m.attachments) for m in mail.outbox] == [
        (["a@example.com"], "Hi", "Body", [("a.txt", "x", "text/plain")])
    ]


def test_a_rolled_back_change_sends_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        email_enqueue(to="a@example.com", subject="Hi", body="Body")
        raise RuntimeError
    assert OutboundEmail.objects.count() == 0
    assert mail.outbox == []


def test_the_sweep_sends_an_email_whose_message_was_lost():
    email = _enqueue_lost()
    assert mail.outbox == [] and outbox_backlog() == 1

    assert email_sweep(now=timezone.now() + timedelta(seconds=60)) == 0  # within the grace
    assert mail.outbox == []

    assert email_sweep(now=timezone.now() + timedelta(minutes=3)) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    assert [m.subject for m in mail.outbox] == ["Hello there"]
    assert outbox_backlog() == 0


def test_a_claim_by_a_killed_worker_is_taken_over_after_the_lease_and_sent_once():
    email = _enqueue_lost()
    live = timezone.now() - claim_lease() + timedelta(seconds=30)
    OutboundEmail.objects.filter(pk=email.pk).update(status="sending", claimed_at=live)

    assert email_deliver(email_id=email.pk) == "skipped"  # the claim is still live
    assert email_sweep() == 0

    dead = timezone.now() - claim_lease() - timedelta(seconds=1)
    OutboundEmail.objects.filter(pk=email.pk).update(claimed_at=dead)
    assert email_sweep() == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1


def test_a_redelivered_message_for_a_sent_email_sends_nothing():
    with transaction.atomic():
        email = email_enqueue(to="a@example.com", subject="Hi", body="Body")
    assert email_deliver(email_id=email.pk) == "skipped"
    assert email_sweep(now=timezone.now() + timedelta(minutes=10)) == 0
    assert len(mail.outbox) == 1


def test_a_refusing_mail_server_leaves_the_email_pending_then_failed(monkeypatch):
    def refuse(self, messages):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    email = _enqueue_lost()
    for attempt in range(1, MAX_ATTEMPTS):
        assert email_deliver(email_id=email.pk) == "retry"
        email.refresh_from_db()
        assert (email.status, email.attempts) == ("pending", attempt)
        assert email.last_error == "ConnectionRefusedError: connection refused"
    assert email_deliver(email_id=email.pk) == "failed"
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", MAX_ATTEMPTS)
    assert email_sweep(now=timezone.now() + timedelta(hours=1)) == 0
    assert mail.outbox == []


def test_the_sweep_deletes_sent_emails_after_a_week():
    with transaction.atomic():
        old = email_enqueue(to="old@example.com", subject="Hi", body="Body")
        new = email_enqueue(to="new@example.com", subject="Hi", body="Body")
    OutboundEmail.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(days=8))
    email_sweep()
    assert list(OutboundEmail.objects.values_list("pk", flat=True)) == [new.pk]


def test_account_emails_go_through_the_outbox():
    from accounts.services import signup

    user = signup(email="new@example.com", password="a-long-enough-passw0rd")
    assert user is not None
    row = OutboundEmail.objects.get()
    assert (row.to, row.status) == ("new@example.com", "sent")
    assert [m.subject for m in mail.outbox] == [row.subject]


def test_a_dropped_connection_while_recording_the_send_is_retried_on_a_new_one(monkeypatch):
    from django.db import OperationalError
    from django.db.models.query import QuerySet

    email = _enqueue_lost()
    real_update = QuerySet.update
    drops = [1]

    def update(self, **kwargs):
        if kwargs.get("status") == "sent" and drops:
            drops.pop()
            raise OperationalError("terminating connection due to administrator command")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)
    assert email_deliver(email_id=email.pk) == "sent"
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1
