"""A year of billing for many subscriptions on an injected clock (used by a test and a bench).

Trials, upgrades, downgrades, cancellations, failing cards and recoveries; every day the beat
tasks run (renewals and dunning twice, as if two schedulers overlapped). `check()` returns the
invariants: zero double charges, zero missed or duplicate period invoices.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum

from billing import clock, services, tasks
from billing.gateways.sandbox import SandboxGateway
from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Payment,
    SandboxCharge,
    Subscription,
    SubscriptionStatus,
)


@dataclass
class Report:
    subscriptions: int
    invoices: int
    payments_succeeded: int
    payments_failed: int
    double_charges: int
    missed_invoices: int
    duplicate_invoices: int
    total_mismatches: int
    gateway_mismatch: int
    statuses: dict[str, int]


def run(
    *,
    count: int,
    start: datetime,
    days: int = 365,
    seed: int = 7,
    progress: Callable[[int], Any] | None = None,
) -> Report:
    from accounts.models import User

    rng = random.Random(seed)
    gateway = SandboxGateway()
    cards = {
        "good": "4242424242424242",
        "fails_later": "4000000000000341",
        "declines": "4000000000000002",
    }
    clock.set_now(start)
    try:
        users = User.objects.bulk_create([User(email=f"sim{i}@example.com") for i in range(count)])
        for index, user in enumerate(users):
            roll = rng.random()
            kind = "fails_later" if roll < 0.10 else "declines" if roll < 0.15 else "good"
            token = gateway.tokenize_card(
                number=cards[kind], exp_month=12, exp_year=start.year + 5, cvc="123"
            ).token
            trial = kind == "declines" or rng.random() < 0.3
            plan = rng.choice(["basic", "standard", "premium"])
            try:
                services.subscription_start(
                    account=user,
                    plan_code=plan,
                    currency="USD",
                    card_token=token,
                    trial=trial,
                    now=start + timedelta(minutes=index % 600),
                )
            except services.PaymentDeclined:
                pass
        if progress:
            progress(0)
        for day in range(1, days + 1):
            now = start + timedelta(days=day)
            clock.set_now(now)
            changes_today = day % 7 == 0
            if changes_today:
                for user in rng.sample(users, k=max(1, count // 20)):
                    _random_change(rng, user, now, gateway)
            if changes_today or _work_due(now):
                for _ in range(2):  # overlapping schedulers must not double-charge
                    tasks.run_renewals(now.isoformat())
                    tasks.run_dunning(now.isoformat())
            if progress:
                progress(day)
        return check(now=start + timedelta(days=days))
    finally:
        clock.set_now(None)


def _work_due(now: datetime) -> bool:
    """Skip idle days: the beat tasks would find nothing to do."""
    return (
        Subscription.objects.due_for_renewal(now).exists()
        or Invoice.objects.filter(status="open", next_attempt_at__lte=now).exists()
    )


def _random_change(rng: random.Random, user: Any, now: datetime, gateway: SandboxGateway) -> None:
    action = rng.choice(["upgrade", "downgrade", "cancel", "resume", "fix_card", "nothing"])
    try:
        if action in ("upgrade", "downgrade"):
            plan = "premium" if action == "upgrade" else "basic"
            services.subscription_change_plan(account=user, plan_code=plan, now=now)
        elif action == "cancel":
            services.subscription_cancel(account=user, now=now)
        elif action == "resume":
            services.subscription_resume(account=user, now=now)
        elif action == "fix_card":
            token = gateway.tokenize_card(
                number="4242424242424242", exp_month=12, exp_year=now.year + 5, cvc="123"
            ).token
            services.payment_method_add(account=user, token=token)
    except services.DomainError:
        pass


def check(*, now: datetime) -> Report:
    double = (
        Payment.objects.filter(status="succeeded")
        .values("invoice_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    lines = dict(
        InvoiceLine.objects.values_list("invoice_id")
        .annotate(s=Sum("amount"))
        .values_list("invoice_id", "s")
    )
    mismatches = sum(
        1 for pk, total in Invoice.objects.values_list("pk", "total") if lines.get(pk, 0) != total
    )
    paid_sum = Payment.objects.filter(status="succeeded").aggregate(s=Sum("amount"))["s"] or 0
    charged_sum = (
        SandboxCharge.objects.filter(status="succeeded").aggregate(s=Sum("amount"))["s"] or 0
    )
    missed = duplicate = 0
    periods: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for sub_id, start, end in (
        Invoice.objects.filter(kind__in=(InvoiceKind.CREATE, InvoiceKind.RENEWAL))
        .exclude(status="void")
        .order_by("period_start")
        .values_list("subscription_id", "period_start", "period_end")
    ):
        periods[sub_id].append((start, end))
    for sub in Subscription.objects.all():
        chain = periods.get(sub.pk, [])
        starts = [s for s, _ in chain]
        duplicate += len(starts) - len(set(starts))
        for (_, prev_end), (next_start, _) in zip(chain, chain[1:], strict=False):
            if next_start != prev_end:
                missed += 1
        live_paid = sub.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
        if live_paid and (not chain or chain[-1][1] != sub.current_period_end):
            missed += 1
        if live_paid and sub.current_period_end <= now and sub.status == SubscriptionStatus.ACTIVE:
            missed += 1
    statuses = dict(Subscription.objects.values_list("status").annotate(n=Count("id")))
    return Report(
        subscriptions=Subscription.objects.count(),
        invoices=Invoice.objects.count(),
        payments_succeeded=Payment.objects.filter(status="succeeded").count(),
        payments_failed=Payment.objects.filter(Q(status="failed")).count(),
        double_charges=double,
        missed_invoices=missed,
        duplicate_invoices=duplicate,
        total_mismatches=mismatches,
        gateway_mismatch=abs(paid_sum - charged_sum),
        statuses=statuses,
    )
