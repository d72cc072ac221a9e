"""Renewals and dunning with an injected clock: fail, retries, grace, block, cancel; recovery."""

from datetime import UTC, datetime

import pytest
from django.core import mail

from billing import services
from billing.entitlements import get_entitlements
from billing.models import Invoice, Payment, SandboxCharge, Subscription
from billing.tasks import run_dunning, run_renewals
from tests.billing.conftest import card_token

pytestmark = pytest.mark.django_db

FEB = lambda day, hour=12: datetime(2026, 2, day, hour, tzinfo=UTC)  # noqa: E731


class Tick:
    """Runs the beat tasks and then their after-commit hooks (emails); these tests roll back."""

    def __init__(self, capture):
        self.capture = capture

    def renewals(self) -> int:
        with self.capture(execute=True):
            return run_renewals()

    def dunning(self) -> int:
        with self.capture(execute=True):
            return run_dunning()


@pytest.fixture
def tick(django_capture_on_commit_callbacks):
    return Tick(django_capture_on_commit_callbacks)


@pytest.fixture
def past_due(tick, alice, frozen_clock):
    """Alice paid January with a card that declines every later charge; February fails."""
    services.subscription_start(
        account=alice,
        plan_code="standard",
        currency="USD",
        card_token=card_token("4000000000000341"),
        trial=False,
    )
    frozen_clock.set(FEB(1))
    assert tick.renewals() == 1
    return Subscription.objects.get(account=alice)


def test_failed_renewal_goes_past_due_schedules_a_retry_and_emails(tick, alice, past_due):
    assert (past_due.status, past_due.past_due_since) == ("past_due", FEB(1))
    invoice = Invoice.objects.get(kind="renewal")
    assert (invoice.status, invoice.attempt_count, invoice.next_attempt_at) == ("open", 1, FEB(2))
    assert [m.subject for m in mail.outbox] == ["Your Streamsite payment failed"]
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "try again on 2 Feb 2026" in mail.outbox[0].body
    ent = get_entitlements(alice)
    assert (ent.can_stream, ent.status) == (True, "past_due")


def test_payment_failed_email_is_stored_with_the_failure_and_not_without_it(alice, past_due):
    """The outbox row commits with the past-due transition: a failure that rolls back leaves
    no email behind, and one that commits has its email even if the broker loses the task."""
    from django.db import transaction

    from streamsite.models import OutboundEmail

    (stored,) = OutboundEmail.objects.filter(to="alice@example.com")
    assert stored.subject == "Your Streamsite payment failed"
    assert stored.sent_at is not None  # delivered after commit
    invoice = Invoice.objects.get(kind="renewal")
    assert invoice.number in stored.body

    before = OutboundEmail.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notices.payment_failed_notice(invoice_id=invoice.pk, final=True)
        raise RuntimeError("the change that caused it rolls back")
    assert OutboundEmail.objects.count() == before


def test_dunning_end_to_end_fail_retries_grace_block_cancel(tick, alice, past_due, frozen_clock):
    invoice = Invoice.objects.get(kind="renewal")
    expected = [(FEB(2), FEB(4)), (FEB(4), FEB(6)), (FEB(6), FEB(8))]
    for at, next_at in expected:
        frozen_clock.set(at)
        assert tick.dunning() == 1
        invoice.refresh_from_db()
        assert (invoice.status, invoice.next_attempt_at) == ("open", next_at)
    # Grace is 5 days from the first failure (1 Feb 12:00): blocked from 6 Feb 12:00.
    frozen_clock.set(FEB(6, 11))
    assert get_entitlements(alice).can_stream is True
    frozen_clock.set(FEB(6, 12))
    blocked = get_entitlements(alice)
    assert (blocked.can_stream, blocked.max_streams, blocked.status) == (False, 0, "past_due")
    assert blocked.reason.startswith("Your payment is overdue.")
    assert Subscription.objects.get(account=alice).status == "past_due"
    frozen_clock.set(FEB(8))
    assert tick.dunning() == 1
    sub = Subscription.objects.get(account=alice)
    invoice.refresh_from_db()
    assert (sub.status, sub.ended_at) == ("canceled", FEB(8))
    assert (invoice.status, invoice.attempt_count, invoice.amount_paid) == ("uncollectible", 5, 0)
    assert Payment.objects.filter(invoice=invoice, status="failed").count() == 5
    assert get_entitlements(alice).can_stream is False
    assert mail.outbox[-1].subject == "Your Streamsite subscription was canceled"
    assert len(mail.outbox) == 5
    # Nothing more happens afterwards.
    frozen_clock.set(FEB(20))
    assert (tick.dunning(), tick.renewals()) == (0, 0)
    assert Payment.objects.count() == 6


def test_recovery_when_a_retry_succeeds_after_a_new_card(tick, alice, past_due, frozen_clock):
    frozen_clock.set(FEB(2))
    tick.dunning()
    frozen_clock.set(FEB(3))
    services.payment_method_add(account=alice, token=card_token())
    frozen_clock.set(FEB(4))
    assert tick.dunning() == 1
    sub = Subscription.objects.get(account=alice)
    invoice = Invoice.objects.get(kind="renewal")
    assert (sub.status, sub.past_due_since) == ("active", None)
    assert (invoice.status, invoice.amount_paid, invoice.next_attempt_at) == ("paid", 1549, None)
    assert get_entitlements(alice).can_stream is True
    assert Payment.objects.filter(invoice=invoice, status="succeeded").count() == 1
    frozen_clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert tick.renewals() == 1
    assert Invoice.objects.filter(kind="renewal").count() == 2


def test_customer_pays_the_open_invoice_now(tick, alice, past_due, frozen_clock):
    services.payment_method_add(account=alice, token=card_token())
    invoice = Invoice.objects.get(kind="renewal")
    paid = services.invoice_pay(account=alice, invoice_id=invoice.pk)
    assert paid.status == "paid"
    assert Subscription.objects.get(account=alice).status == "active"


def test_renewals_and_dunning_are_safe_to_run_twice(tick, alice, bob, frozen_clock):
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
    frozen_clock.set(FEB(1))
    assert tick.renewals() == 2
    assert tick.renewals() == 0
    frozen_clock.set(FEB(2))
    assert tick.dunning() == 1
    assert tick.dunning() == 0
    assert Invoice.objects.filter(kind="renewal").count() == 2
    assert SandboxCharge.objects.filter(status="succeeded").count() == 3
    assert Payment.objects.filter(status="failed").count() == 2


def test_retry_that_lost_its_answer_is_resent_with_the_same_key(tick, alice, frozen_clock):
    """A worker died after claiming an attempt: the sweep re-sends; the gateway dedupes."""
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    payment = Payment.objects.get()
    # Simulate: the gateway charged, but our result was never written.
    Payment.objects.filter(pk=payment.pk).update(status="pending", gateway_charge_id="")
    frozen_clock.advance(minutes=16)
    tick.dunning()
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert SandboxCharge.objects.count() == 1


def test_trial_with_failing_card_walks_into_dunning(tick, alice, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token("4000000000000002")
    )
    frozen_clock.set(datetime(2026, 1, 8, 12, tzinfo=UTC))
    tick.renewals()
    sub = Subscription.objects.get(account=alice)
    assert sub.status == "past_due"
    assert Invoice.objects.get().status == "open"
