"""Subscription lifecycle: trial, checkout, upgrade, downgrade, cancel/resume, reactivate."""

from datetime import UTC, datetime

import pytest

from billing import services
from billing.entitlements import get_entitlements
from billing.models import (
    Invoice,
    InvoiceLine,
    Payment,
    Plan,
    Subscription,
    SubscriptionEvent,
)
from billing.tasks import run_renewals
from streamsite.errors import Conflict, ValidationFailed
from tests.billing.conftest import T0, card_token

pytestmark = pytest.mark.django_db


def _lines(invoice):
    return [(line.kind, line.amount) for line in invoice.lines.all()]


def test_first_subscription_starts_a_trial_without_charging(alice, frozen_clock, good_card):
    sub = services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=good_card
    )
    assert sub.status == "trialing"
    assert sub.trial_end == datetime(2026, 1, 8, 12, tzinfo=UTC)
    assert Invoice.objects.count() == 0
    assert Payment.objects.count() == 0
    ent = get_entitlements(alice)
    assert (ent.can_stream, ent.max_streams, ent.max_resolution, ent.max_profiles) == (
        True,
        2,
        1080,
        5,
    )


def test_trial_end_charges_the_first_period(alice, frozen_clock, good_card):
    services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=good_card
    )
    frozen_clock.set(datetime(2026, 1, 8, 12, tzinfo=UTC))
    assert run_renewals() == 1
    sub = Subscription.objects.get(account=alice)
    assert sub.status == "active"
    assert sub.current_period_end == datetime(2026, 2, 8, 12, tzinfo=UTC)
    invoice = Invoice.objects.get()
    assert (invoice.kind, invoice.status, invoice.total, invoice.number) == (
        "renewal",
        "paid",
        1549,
        "2026-000001",
    )
    assert _lines(invoice) == [("plan", 1549)]


def test_checkout_without_trial_charges_now(alice, frozen_clock, good_card):
    sub = services.subscription_start(
        account=alice, plan_code="premium", currency="EUR", card_token=good_card, trial=False
    )
    assert sub.status == "active"
    invoice = Invoice.objects.get()
    assert (invoice.kind, invoice.total, invoice.currency, invoice.status) == (
        "create",
        1999,
        "EUR",
        "paid",
    )
    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.idempotency_key) == (
        "succeeded",
        1999,
        f"inv_{invoice.pk}_1",
    )


def test_declined_checkout_is_402_and_grants_nothing(alice, frozen_clock):
    token = card_token("4000000000000002")
    with pytest.raises(services.PaymentDeclined, match="Your card was declined."):
        services.subscription_start(
            account=alice, plan_code="basic", currency="USD", card_token=token, trial=False
        )
    sub = Subscription.objects.get(account=alice)
    assert sub.status == "expired"
    assert Invoice.objects.get().status == "void"
    assert get_entitlements(alice).can_stream is False


def test_a_second_subscription_is_a_conflict(alice, frozen_clock, good_card):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=good_card
    )
    with pytest.raises(Conflict):
        services.subscription_start(account=alice, plan_code="premium", currency="USD")
    assert Subscription.objects.get(account=alice).plan.code == "basic"


def test_retired_plan_cannot_be_picked_but_keeps_subscribers(alice, bob, frozen_clock, good_card):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=good_card, trial=False
    )
    Plan.objects.filter(code="basic").update(is_active=False)
    with pytest.raises(ValidationFailed, match="No such plan."):
        services.subscription_start(
            account=bob, plan_code="basic", currency="USD", card_token=card_token()
        )
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    sub = Subscription.objects.get(account=alice)
    assert (sub.plan.code, sub.status) == ("basic", "active")
    assert Invoice.objects.filter(account=alice).count() == 2


def test_upgrade_halfway_charges_the_prorated_difference(alice, frozen_clock, good_card):
    Plan.objects.get(code="basic").prices.filter(currency="USD").update(amount=1000)
    Plan.objects.get(code="premium").prices.filter(currency="USD").update(amount=2000)
    frozen_clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=good_card, trial=False
    )
    frozen_clock.set(datetime(2026, 4, 16, tzinfo=UTC))
    preview = services.change_preview(account=alice, plan_code="premium")
    assert (preview["kind"], preview["amount_due"]) == ("upgrade", 500)
    sub = services.subscription_change_plan(account=alice, plan_code="premium")
    assert sub.plan.code == "premium"
    upgrade = Invoice.objects.get(kind="upgrade")
    assert _lines(upgrade) == [("proration_credit", -500), ("proration_debit", 1000)]
    assert (upgrade.total, upgrade.status) == (500, "paid")
    assert get_entitlements(alice).max_streams == 4


def test_downgrade_waits_for_the_period_end(alice, frozen_clock, good_card):
    services.subscription_start(
        account=alice, plan_code="premium", currency="USD", card_token=good_card, trial=False
    )
    sub = services.subscription_change_plan(account=alice, plan_code="basic")
    assert (sub.plan.code, sub.pending_plan.code) == ("premium", "basic")
    assert Invoice.objects.count() == 1
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    sub.refresh_from_db()
    assert (sub.plan.code, sub.pending_plan) == ("basic", None)
    assert Invoice.objects.get(kind="renewal").total == 799


def test_cancel_at_period_end_then_resume_then_expire(alice, frozen_clock, good_card):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=good_card, trial=False
    )
    sub = services.subscription_cancel(account=alice)
    assert (sub.status, sub.cancel_at_period_end) == ("active", True)
    sub = services.subscription_resume(account=alice)
    assert sub.cancel_at_period_end is False
    services.subscription_cancel(account=alice)
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    sub.refresh_from_db()
    assert sub.status == "expired"
    assert Invoice.objects.count() == 1
    assert get_entitlements(alice).can_stream is False
    kinds = list(SubscriptionEvent.objects.filter(subscription=sub).values_list("kind", flat=True))
    assert kinds == [
        "created",
        "payment_succeeded",
        "cancel_scheduled",
        "resumed",
        "cancel_scheduled",
        "expired",
    ]


def test_reactivation_after_expiry_charges_without_a_new_trial(alice, frozen_clock, good_card):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=good_card
    )
    services.subscription_cancel(account=alice)
    frozen_clock.set(datetime(2026, 1, 9, tzinfo=UTC))
    run_renewals()
    assert Subscription.objects.get(account=alice).status == "expired"
    sub = services.subscription_start(account=alice, plan_code="standard", currency="USD")
    assert sub.status == "active"
    assert Invoice.objects.get().total == 1549


def test_percent_coupon_repeating_two_periods(alice, frozen_clock, good_card):
    from billing.models import Coupon

    Coupon.objects.create(
        code="HALF2",
        name="Half off",
        kind="percent",
        percent_off=50,
        duration="repeating",
        duration_periods=2,
    )
    services.subscription_start(
        account=alice,
        plan_code="standard",
        currency="USD",
        card_token=good_card,
        coupon_code="half2",
        trial=False,
    )
    for month in (2, 3):
        frozen_clock.set(datetime(2026, month, 1, 12, tzinfo=UTC))
        run_renewals()
    totals = list(Invoice.objects.order_by("created_at").values_list("total", flat=True))
    assert totals == [774, 774, 1549]  # 1549 / 2 = 774.5 -> discount 775
    first = Invoice.objects.order_by("created_at").first()
    assert _lines(first) == [("plan", 1549), ("discount", -775)]
    assert Coupon.objects.get().times_redeemed == 1


def test_manual_credit_is_applied_to_the_next_invoice(alice, frozen_clock, good_card):
    services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=good_card, trial=False
    )
    services.account_credit(account=alice, amount=1000, note="Sorry for the outage")
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    renewal = Invoice.objects.get(kind="renewal")
    assert _lines(renewal) == [("plan", 1549), ("credit", -1000)]
    assert renewal.total == 549
    from billing.models import BillingAccount

    assert BillingAccount.objects.get(account=alice).credit_balance == 0


def test_tax_line_when_a_rate_is_set(alice, frozen_clock, good_card, settings):
    settings.BILLING_TAX_PERCENT = "20"
    services.subscription_start(
        account=alice, plan_code="basic", currency="JPY", card_token=good_card, trial=False
    )
    invoice = Invoice.objects.get()
    assert _lines(invoice) == [("plan", 990), ("tax", 198)]
    assert (invoice.total, invoice.tax_total) == (1188, 198)
    assert sum(InvoiceLine.objects.filter(invoice=invoice).values_list("amount", flat=True)) == 1188


def test_invoice_numbers_are_sequential_per_year(alice, bob, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    services.subscription_start(
        account=bob, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    frozen_clock.set(datetime(2027, 1, 1, 13, tzinfo=UTC))
    run_renewals()
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers[:2] == ["2026-000001", "2026-000002"]
    assert numbers[-1].startswith("2027-")
    assert T0.year == 2026
