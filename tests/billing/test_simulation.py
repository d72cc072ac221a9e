"""A year of monthly renewals with trials, plan changes and failing cards: zero double charges,
zero missed invoices. BILLING_SIM_SUBSCRIPTIONS sets the size (CI: 50; the 1,000 run and its
timing are in bench/billing_year.py and docs/benchmarks.md)."""

import os
from datetime import UTC, datetime

import pytest

from billing import simulation

COUNT = int(os.environ.get("BILLING_SIM_SUBSCRIPTIONS", "50"))


@pytest.mark.slow
@pytest.mark.django_db
def test_a_year_of_renewals_keeps_the_money_invariants():
    report = simulation.run(count=COUNT, start=datetime(2026, 1, 1, 9, tzinfo=UTC))
    assert report.subscriptions == COUNT
    assert report.double_charges == 0
    assert report.missed_invoices == 0
    assert report.duplicate_invoices == 0
    assert report.total_mismatches == 0
    assert report.gateway_mismatch == 0
    assert report.payments_failed > 0  # the failure paths really ran
    assert report.statuses.get("canceled", 0) > 0
    assert report.statuses.get("active", 0) > 0
    assert report.statuses.get("expired", 0) > 0
    assert report.invoices > COUNT * 6
