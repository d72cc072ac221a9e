"""Renewals in batches: one claim, one block of invoice numbers, bulk inserts, then one charge
per payment; a batch that cannot be claimed whole is rolled back and retried one by one."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from billing import services
from billing.models import (
    Invoice,
    Payment,
    SandboxCharge,
    Subscription,
    SubscriptionEvent,
)
from billing.tasks import run_renewals
from tests.billing.conftest import T0, card_token, in_threads

DUE = datetime(2026, 2, 1, 12, tzinfo=UTC)


def _subscribe(count, *, prefix="r", cards=None, plan="basic"):
    users = [User.objects.create(email=f"{prefix}{i}@example.com") for i in range(count)]
    for i, user in enumerate(users):
        number = (cards or {}).get(i, "4242424242424242")
        services.subscription_start(
            account=user,
            plan_code=plan,
            currency="USD",
            card_token=card_token(number),
            trial=False,
            now=T0,
        )
    return users


@pytest.mark.django_db
def test_a_batch_renews_every_due_subscription_once_with_consecutive_numbers(
    frozen_clock, settings
):
    settings.BILLING_RENEWAL_BATCH = 4
    _subscribe(10, cards={3: "4000000000000341"})  # the fourth fails from its second charge
    frozen_clock.set(DUE)

    assert run_renewals() == 10
    assert run_renewals() == 0  # nothing left: a second run is harmless

    renewals = Invoice.objects.filter(kind="renewal").order_by("number")
    assert renewals.count() == 10
    first_period = Invoice.objects.filter(kind="create").order_by("number")
    numbers = [int(n.split("-")[1]) for n in first_period.values_list("number", flat=True)]
    numbers += [int(n.split("-")[1]) for n in renewals.values_list("number", flat=True)]
    assert numbers == list(range(1, 21))  # gap-free across per-invoice and block allocation
    for invoice in renewals:
        assert invoice.period_start == datetime(2026, 2, 1, 12, tzinfo=UTC)
        assert invoice.period_end == datetime(2026, 3, 1, 12, tzinfo=UTC)
        assert sum(line.amount for line in invoice.lines.all()) == invoice.total == 799
    assert Payment.objects.filter(invoice__kind="renewal", status="succeeded").count() == 9
    failed = Payment.objects.get(invoice__kind="renewal", status="failed")
    assert failed.idempotency_key == f"inv_{failed.invoice_id}_1"
    assert Subscription.objects.filter(status="active").count() == 9
    assert Subscription.objects.get(status="past_due").account.email == "r3@example.com"
    assert SubscriptionEvent.objects.filter(kind="renewed").count() == 10
    for sub in Subscription.objects.all():
        assert sub.current_period_start == datetime(2026, 2, 1, 12, tzinfo=UTC)
        assert sub.current_period_end == datetime(2026, 3, 1, 12, tzinfo=UTC)
        assert sub.version == (3 if sub.status == "past_due" else 2)  # paid, renewed(, failed)


@pytest.mark.django_db
def test_a_pending_downgrade_takes_effect_in_the_batch_claim(frozen_clock):
    (user,) = _subscribe(1, plan="premium")
    services.subscription_change_plan(account=user, plan_code="basic", now=T0)
    assert Subscription.objects.get(account=user).pending_plan.code == "basic"
    frozen_clock.set(DUE)

    assert run_renewals() == 1
    sub = Subscription.objects.get(account=user)
    assert (sub.plan.code, sub.pending_plan_id) == ("basic", None)
    assert Invoice.objects.get(kind="renewal").total == 799


@pytest.mark.django_db
def test_a_batch_that_hits_a_conflict_rolls_back_whole_and_the_rest_renew_one_by_one(
    frozen_clock,
):
    users = _subscribe(5)
    stuck = Subscription.objects.get(account=users[2])
    # Someone already wrote the renewal invoice of the stuck subscription's next period (the
    # unique index on subscription + period): the batch insert fails and is rolled back.
    Invoice.objects.create(
        account=users[2],
        subscription=stuck,
        kind="renewal",
        number="2026-999999",
        currency="USD",
        status="paid",
        period_start=stuck.current_period_end,
        period_end=DUE,
        subtotal=0,
        total=0,
        created_at=T0,
    )
    frozen_clock.set(DUE)

    assert run_renewals() == 4
    stuck.refresh_from_db()
    assert stuck.current_period_end == stuck.current_period_start.replace(month=2)  # unmoved
    assert not SubscriptionEvent.objects.filter(subscription=stuck, kind="renewed").exists()
    assert Invoice.objects.filter(kind="renewal").count() == 5  # four new ones + the planted
    assert SandboxCharge.objects.count() == 5 + 4  # first periods + the four renewals
    renewed = Subscription.objects.exclude(pk=stuck.pk)
    assert {s.current_period_end for s in renewed} == {datetime(2026, 3, 1, 12, tzinfo=UTC)}


@pytest.mark.django_db
def test_the_claim_costs_a_constant_number_of_queries_whatever_the_batch_size(frozen_clock):
    """Each renewal adds only its charge and its result, not a claim of its own."""

    def queries_to_renew(count, prefix):
        _subscribe(count, prefix=prefix)
        frozen_clock.set(DUE)
        with CaptureQueriesContext(connection) as captured:
            services.subscriptions_renew(now=DUE)
        frozen_clock.set(T0)
        return len(captured.captured_queries)

    small = queries_to_renew(3, "small")
    large = queries_to_renew(13, "large")
    assert Invoice.objects.filter(kind="renewal").count() == 16
    # Per extra renewal: the gateway's card read and its charge insert (in a savepoint here,
    # inside the test's transaction), then the payment and the invoice moved to paid.
    assert large - small == 10 * 6, (small, large)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("plans_reseeded")
def test_concurrent_batch_runners_take_different_rows_and_charge_each_once(frozen_clock, settings):
    settings.BILLING_RENEWAL_BATCH = 3
    _subscribe(20)
    in_threads(4, lambda _: run_renewals(DUE.isoformat()))
    assert Invoice.objects.filter(kind="renewal").count() == 20
    assert SandboxCharge.objects.count() == 40
    assert Payment.objects.filter(status="succeeded").count() == 40
    numbers = sorted(int(n.split("-")[1]) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 41))
