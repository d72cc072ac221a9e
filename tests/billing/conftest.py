"""Billing fixtures: a movable clock, sandbox cards, subscribed accounts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from billing import clock
from billing.gateways.sandbox import SandboxGateway
from tests.billing import stripe_double as double

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at
        clock.set_now(at)

    def set(self, at: datetime) -> datetime:
        self.at = at
        clock.set_now(at)
        return at

    def advance(self, **delta: float) -> datetime:
        return self.set(self.at + timedelta(**delta))


@pytest.fixture
def frozen_clock():
    moving = Clock(T0)
    yield moving
    clock.set_now(None)


def card_token(number: str = "4242424242424242") -> str:
    return (
        SandboxGateway().tokenize_card(number=number, exp_month=12, exp_year=2030, cvc="123").token
    )


@pytest.fixture
def good_card(db):
    return card_token()


@pytest.fixture
def plans_reseeded(transactional_db):
    """Transactional tests start from a flushed database: put the migration's plans back.

    (serialized_rollback would too, but it collides with content types that earlier
    transactional tests' flushes re-create.)"""
    import importlib

    from django.apps import apps

    importlib.import_module("billing.migrations.0002_seed_plans").seed(apps, None)


@pytest.fixture
def stripe_double(settings):
    """BILLING_GATEWAY=stripe against the loopback double; yields the double's class (its
    recorded requests and state)."""
    server = double.serve()
    settings.BILLING_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_double"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_double"
    settings.BILLING_STRIPE_PUBLISHABLE_KEY = "pk_test_double"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    yield double.StripeDouble
    server.shutdown()
    server.server_close()


def in_threads(count, target):
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results
