"""Entitlements: per plan and state, cached, invalidated on every subscription change."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.module_loading import import_string

from billing import services
from billing.entitlements import Entitlements, compute, get_entitlements, grace_ends_at
from billing.models import Coupon, Invoice, Subscription
from billing.tasks import run_renewals
from tests.billing.conftest import card_token

pytestmark = pytest.mark.django_db


def test_no_subscription_means_no_streaming_and_one_profile(alice):
    assert get_entitlements(alice) == Entitlements(
        can_stream=False,
        max_streams=0,
        max_resolution=0,
        max_profiles=1,
        plan_code=None,
        status="none",
        reason="Choose a plan to start watching.",
    )


@pytest.mark.parametrize(
    "plan,expected",
    [
        ("basic", (1, 720, 2)),
        ("standard", (2, 1080, 5)),
        ("premium", (4, 2160, 5)),
    ],
)
def test_each_plan_grants_its_limits(alice, frozen_clock, plan, expected):
    services.subscription_start(
        account=alice, plan_code=plan, currency="USD", card_token=card_token()
    )
    ent = get_entitlements(alice)
    assert (
        ent.max_streams,
        ent.max_resolution,
        ent.max_profiles,
    ) == expected
    assert (ent.can_stream, ent.plan_code, ent.status) == (True, plan, "trialing")


def test_cached_value_is_served_without_queries_and_invalidated_on_change(
    alice, frozen_clock, django_assert_num_queries
):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token()
    )
    assert get_entitlements(alice).max_streams == 1
    with django_assert_num_queries(0):
        assert get_entitlements(alice).max_streams == 1
    services.subscription_change_plan(account=alice, plan_code="premium")  # trial: switches now
    assert get_entitlements(alice).max_streams == 4


@pytest.mark.parametrize(
    "status,days_due,expected",
    [
        ("active", None, (True, 2, 1080, 5, "")),
        ("past_due", 1, (True, 2, 1080, 5, "")),
        (
            "past_due",
            90,
            (
                False,
                0,
                0,
                5,
                "Your payment is overdue. Update your card on the billing page to keep watching.",
            ),
        ),
        (
            "canceled",
            None,
            (False, 0, 0, 1, "Your subscription was canceled. Pick a plan to come back."),
        ),
        (
            "expired",
            None,
            (False, 0, 0, 1, "Your subscription has ended. Pick a plan to come back."),
        ),
        ("incomplete", None, (False, 0, 0, 1, "Your first payment has not gone through yet.")),
    ],
)
def test_computed_from_one_statement_in_every_state(
    alice, frozen_clock, django_assert_num_queries, status, days_due, expected
):
    """The prebuilt row (status, grace, the plan's limits) reads as the ORM's objects would."""
    services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=card_token()
    )
    now = frozen_clock.at
    due_since = now - timedelta(days=days_due) if days_due is not None else None
    Subscription.objects.filter(account=alice).update(status=status, past_due_since=due_since)
    with django_assert_num_queries(1):
        value, valid_until = compute(alice.pk, now)
    can_stream, streams, height, profiles, reason = expected
    assert (value.can_stream, value.max_streams, value.max_resolution) == (
        can_stream,
        streams,
        height,
    )
    assert (value.max_profiles, value.plan_code, value.status) == (profiles, "standard", status)
    assert value.reason == reason
    grace = grace_ends_at(due_since) if can_stream and due_since is not None else None
    assert valid_until == grace


def test_accounts_reads_the_profile_limit_through_the_setting(alice, frozen_clock, settings):
    provider = import_string(settings.ACCOUNTS_PROFILE_LIMIT_PROVIDER)
    assert provider(alice) == 1
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token()
    )
    assert provider(alice) == 2


def test_amount_coupon_once_and_forever(alice, bob, frozen_clock):
    Coupon.objects.create(
        code="FIVE",
        name="5 off once",
        kind="amount",
        amount_off=500,
        currency="USD",
        duration="once",
    )
    Coupon.objects.create(
        code="TENPC", name="10% forever", kind="percent", percent_off=10, duration="forever"
    )
    services.subscription_start(
        account=alice,
        plan_code="standard",
        currency="USD",
        card_token=card_token(),
        coupon_code="five",
        trial=False,
    )
    services.subscription_start(
        account=bob,
        plan_code="standard",
        currency="USD",
        card_token=card_token(),
        coupon_code="TENPC",
        trial=False,
    )
    for month in (2, 3):
        frozen_clock.set(datetime(2026, month, 1, 12, tzinfo=UTC))
        run_renewals()
    alice_totals = list(
        Invoice.objects.filter(account=alice).order_by("created_at").values_list("total", flat=True)
    )
    bob_totals = list(
        Invoice.objects.filter(account=bob).order_by("created_at").values_list("total", flat=True)
    )
    assert alice_totals == [1049, 1549, 1549]
    assert bob_totals == [1394, 1394, 1394]  # 154.9 -> 155 off


def test_amount_coupon_in_another_currency_is_refused(alice, frozen_clock):
    Coupon.objects.create(
        code="EURO5", name="5 EUR", kind="amount", amount_off=500, currency="EUR", duration="once"
    )
    with pytest.raises(services.ValidationFailed, match="That promotion code is not valid."):
        services.subscription_start(
            account=alice,
            plan_code="basic",
            currency="USD",
            card_token=card_token(),
            coupon_code="EURO5",
        )
    assert Coupon.objects.get().times_redeemed == 0


def test_a_finalised_invoice_cannot_be_saved_again(alice, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    invoice = Invoice.objects.get()
    invoice.total = 1
    with pytest.raises(ValueError, match="Invoices are immutable once finalised"):
        invoice.save()
    assert Invoice.objects.get().total == 799
