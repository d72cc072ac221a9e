"""The Idempotency-Key wrapper: recorded before the work, a lease instead of a transaction,
and a retry after a crashed run resumes that run's work (in-process; the crash harness does
the same with real processes)."""

from datetime import timedelta

import pytest

from billing.gateways.sandbox import SandboxGateway
from billing.idempotency import request_hash
from billing.models import IdempotencyRecord, Invoice, Payment, SandboxCharge, Subscription
from tests.billing.conftest import card_token
from tests.clients import api_client as client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/billing/subscription"


class Crash(BaseException):
    """The worker dies: not an error any handler catches."""


@pytest.fixture
def crash_after_gateway_charge(monkeypatch):
    """The gateway records the charge, then the worker dies before hearing the answer."""
    real = SandboxGateway.charge

    def charge(self, **kwargs):
        real(self, **kwargs)
        raise Crash

    monkeypatch.setattr(SandboxGateway, "charge", charge)
    return lambda: monkeypatch.setattr(SandboxGateway, "charge", real)


def test_a_key_held_by_a_running_request_answers_409_in_use_and_changes_nothing(
    alice, frozen_clock
):
    body = {"plan": "basic", "card_token": card_token(), "trial": False}
    IdempotencyRecord.objects.create(
        account=alice,
        key="busy",
        method="POST",
        path=URL,
        request_hash=request_hash("POST", URL, body),
        locked_until=frozen_clock.at + timedelta(seconds=60),
        runs=1,
        created_at=frozen_clock.at,
    )
    response = client_for(alice).post(URL, body, HTTP_IDEMPOTENCY_KEY="busy")
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "idempotency_key_in_use",
    )
    assert (Subscription.objects.count(), SandboxCharge.objects.count()) == (0, 0)


def test_a_crash_after_the_gateway_charged_is_resumed_by_the_retry_not_charged_again(
    alice, frozen_clock, crash_after_gateway_charge, settings
):
    settings.BILLING_IDEMPOTENCY_LEASE_SECONDS = 30
    body = {"plan": "premium", "card_token": card_token(), "trial": False}
    with pytest.raises(Crash):
        client_for(alice).post(URL, body, HTTP_IDEMPOTENCY_KEY="k")
    # What was committed before the gateway call: the intent and its key, nothing applied.
    payment = Payment.objects.get()
    assert (payment.status, payment.idempotency_key) == ("pending", f"inv_{payment.invoice_id}_1")
    assert Subscription.objects.get().status == "incomplete"
    assert SandboxCharge.objects.get().status == "succeeded"
    crash_after_gateway_charge()  # the next worker does not crash
    frozen_clock.advance(seconds=31)  # the dead worker's lease runs out
    retry = client_for(alice).post(URL, body, HTTP_IDEMPOTENCY_KEY="k")
    assert (retry.status_code, retry.json()["status"], retry["Idempotent-Replayed"]) == (
        201,
        "active",
        "false",
    )
    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.get().status == "succeeded"
    assert list(Invoice.objects.values_list("status", "amount_paid")) == [("paid", 2299)]
    assert IdempotencyRecord.objects.get().runs == 2


def test_a_retry_after_the_work_committed_but_not_its_answer_answers_the_same(alice, frozen_clock):
    body = {"plan": "premium", "card_token": card_token(), "trial": False}
    first = client_for(alice).post(URL, body, HTTP_IDEMPOTENCY_KEY="k")
    # As if the worker had died after our commits and before storing the answer.
    IdempotencyRecord.objects.update(status_code=None, response_body=None, locked_until=None)
    again = client_for(alice).post(URL, body, HTTP_IDEMPOTENCY_KEY="k")
    assert (again.status_code, again.json()) == (201, first.json())
    assert SandboxCharge.objects.count() == 1
    # Without the key, the same checkout is refused: the account has a subscription.
    assert client_for(alice).post(URL, body).status_code == 409


def test_no_gateway_call_happens_inside_a_transaction(alice, frozen_clock):
    from django.db import transaction

    from billing import services

    token = card_token()
    with (
        pytest.raises(RuntimeError, match="inside a database transaction"),
        transaction.atomic(),
    ):
        services.subscription_start(
            account=alice, plan_code="basic", currency="USD", card_token=token, trial=False
        )
    assert SandboxCharge.objects.count() == 0
