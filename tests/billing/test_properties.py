"""Property-based: random sequences of billing actions keep the money invariants."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import clock, services
from billing.models import (
    BillingAccount,
    Coupon,
    Invoice,
    InvoiceKind,
    Payment,
    SandboxCard,
    SandboxCharge,
    Subscription,
)
from billing.tasks import run_dunning, run_renewals
from streamsite.errors import DomainError
from tests.billing.conftest import T0, card_token
from tests.factories import UserFactory

ACTIONS = [
    "subscribe",
    "upgrade",
    "downgrade",
    "coupon",
    "refund",
    "fail",
    "fix",
    "advance",
    "advance",
    "retry",
    "cancel",
    "resume",
    "credit",
]


def apply(action, user, counter):
    now = clock.now()
    if action == "subscribe":
        services.subscription_start(
            account=user,
            plan_code="standard",
            currency="USD",
            card_token=card_token(),
            trial=counter % 2 == 0,
        )
    elif action == "upgrade":
        services.subscription_change_plan(account=user, plan_code="premium")
    elif action == "downgrade":
        services.subscription_change_plan(account=user, plan_code="basic")
    elif action == "coupon":
        code = f"P{user.pk}X{counter}"
        Coupon.objects.create(
            code=code,
            name=code,
            kind="percent",
            percent_off=30,
            duration="repeating",
            duration_periods=2,
        )
        services.subscription_apply_coupon(account=user, code=code)
    elif action == "refund":
        invoice = Invoice.objects.filter(account=user, status="paid", total__gt=0).first()
        if invoice is not None:
            services.invoice_refund(
                invoice_id=invoice.pk, amount=invoice.total // 3 or None, reason="test"
            )
    elif action in ("fail", "fix"):
        behaviour = "decline" if action == "fail" else "success"
        SandboxCard.objects.filter(token__in=user.payment_methods.values("token")).update(
            behaviour=behaviour
        )
    elif action == "advance":
        clock.set_now(now + timedelta(days=10))
        run_renewals()
        run_dunning()
    elif action == "retry":
        invoice = Invoice.objects.filter(account=user, status="open").first()
        if invoice is not None:
            services.invoice_pay(account=user, invoice_id=invoice.pk)
    elif action == "cancel":
        services.subscription_cancel(account=user)
    elif action == "resume":
        services.subscription_resume(account=user)
    elif action == "credit":
        services.account_credit(account=user, amount=250, note="goodwill")


def check_invariants(user):
    for invoice in Invoice.objects.filter(account=user).prefetch_related("lines"):
        assert invoice.total == sum(line.amount for line in invoice.lines.all()), invoice.number
        assert invoice.total >= 0
        assert 0 <= invoice.amount_credited <= invoice.amount_paid <= invoice.total
        succeeded = invoice.payments.filter(status="succeeded")
        assert succeeded.count() == (1 if invoice.amount_paid else 0)
        issued = invoice.credit_notes.filter(status="issued")
        credited = issued.aggregate(s=Sum("amount"))["s"] or 0
        assert credited == invoice.amount_credited
    ledger = BillingAccount.objects.filter(account=user).first()
    assert ledger is None or ledger.credit_balance >= 0
    sub = Subscription.objects.filter(account=user).first()
    if sub is None:
        return
    period_invoice = (
        Invoice.objects.filter(
            subscription=sub,
            kind__in=(InvoiceKind.CREATE, InvoiceKind.RENEWAL),
            period_start=sub.current_period_start,
        )
        .exclude(status="void")
        .first()
    )
    if sub.status == "active":
        # Active means the current period's invoice was paid (or cost nothing).
        assert period_invoice is not None and period_invoice.status == "paid"
    if sub.status == "past_due":
        assert period_invoice is not None and period_invoice.status == "open"
        last = Payment.objects.filter(invoice=period_invoice).order_by("-attempt").first()
        assert last is not None and last.status == "failed"
    if sub.status == "trialing":
        assert period_invoice is None


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=14))
def test_random_action_sequences_keep_the_invariants(actions):
    clock.set_now(T0)
    try:
        user = UserFactory()
        for counter, action in enumerate(actions):
            try:
                apply(action, user, counter)
            except DomainError:
                pass
            check_invariants(user)
    finally:
        clock.set_now(None)


# --- the gateway's charges are our paid invoices, whatever crashes ------------------------------


class Crash(BaseException):
    """The worker dies after the gateway recorded the charge, before we heard the answer."""


MONEY_ACTIONS = ["checkout", "renew", "upgrade", "fail", "fix", "retry", "crash", "sweep"]


def money_apply(action, user, state):
    if action == "checkout":
        services.subscription_start(
            account=user, plan_code="basic", currency="USD", card_token=state["token"], trial=False
        )
    elif action == "renew":
        clock.set_now(clock.now() + timedelta(days=31))
        run_renewals()
    elif action == "upgrade":
        sub = Subscription.objects.filter(account=user).first()
        target = "premium" if sub is not None and sub.plan.code == "standard" else "standard"
        services.subscription_change_plan(account=user, plan_code=target)
    elif action in ("fail", "fix"):
        SandboxCard.objects.filter(token=state["token"]).update(
            behaviour="decline" if action == "fail" else "success"
        )
    elif action == "retry":
        invoice = Invoice.objects.filter(account=user, status="open").first()
        if invoice is not None:
            services.invoice_pay(account=user, invoice_id=invoice.pk)
    elif action == "crash":
        state["crash_next"] = True
    elif action == "sweep":
        services.payment_sweep(now=clock.now() + timedelta(hours=1))


def gateway_matches_ledger(user, token, *, settled):
    """Every succeeded charge at the gateway is one succeeded payment of ours (same charge id
    and amount) or, until reconciled, a payment of ours still pending with its key."""
    # This example's card only: examples share the test's database.
    charges = {
        c.idempotency_key: c for c in SandboxCharge.objects.filter(status="succeeded", token=token)
    }
    payments = {p.idempotency_key: p for p in Payment.objects.filter(account=user)}
    for key, charge in charges.items():
        payment = payments[key]  # the gateway never charged a key we did not commit first
        assert payment.amount == charge.amount
        if settled:
            assert (payment.status, payment.gateway_charge_id) == ("succeeded", charge.charge_id)
        else:
            assert payment.status in ("succeeded", "pending")
    succeeded = [p for p in payments.values() if p.status == "succeeded"]
    assert sorted(p.idempotency_key for p in succeeded) == sorted(
        k for k in charges if payments[k].status == "succeeded"
    )
    paid = Invoice.objects.filter(account=user, status="paid", total__gt=0)
    assert sum(i.amount_paid for i in paid) == sum(p.amount for p in succeeded)
    if settled:
        assert sum(c.amount for c in charges.values()) == sum(i.amount_paid for i in paid)
        assert paid.count() == len(charges)


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=st.lists(st.sampled_from(MONEY_ACTIONS), min_size=1, max_size=12))
def test_any_interleaving_with_crashes_charges_exactly_our_paid_invoices(actions):
    from unittest import mock

    from billing.gateways.sandbox import SandboxGateway

    real_charge = SandboxGateway.charge
    state = {"crash_next": False}

    def charge(self, **kwargs):
        result = real_charge(self, **kwargs)
        if state["crash_next"]:
            state["crash_next"] = False
            raise Crash
        return result

    clock.set_now(T0)
    try:
        user = UserFactory()
        state["token"] = card_token()
        with mock.patch.object(SandboxGateway, "charge", charge):
            for action in actions:
                try:
                    money_apply(action, user, state)
                except (DomainError, Crash):
                    pass
                gateway_matches_ledger(user, state["token"], settled=False)
            # A crash armed by the last action and never reached is not the sweeper's.
            state["crash_next"] = False
            services.payment_sweep(now=clock.now() + timedelta(hours=1))
        gateway_matches_ledger(user, state["token"], settled=True)
    finally:
        clock.set_now(None)
