"""Crash harness: every money flow, killed at each step boundary, charges exactly once.

The real server (gunicorn, one sync worker, `tests/billing/crash_wsgi.py` around the real
WSGI application) and real worker processes (`tests/billing/crash_worker.py`) run against the
Stripe double on loopback, on this test's own database (PostgreSQL: the test database itself;
SQLite: a file copy of it, copied back for the assertions). Two crash points:

- `charge`: the double records the PaymentIntent (or refund), then SIGKILLs the worker that
  asked before answering: the gateway charged, our database never heard of it;
- `response`: the worker finishes (every commit of ours made) and is SIGKILLed before its
  response is sent (a task: it is simply delivered again).

Then the client retries as a client would (same Idempotency-Key, or the same refund form; a
redelivered task), the sweep reconciles, and the gateway and the ledger must agree: exactly
one charge per invoice at the gateway, one paid invoice, no payment or refund left pending.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.services import api_token_create
from billing import services
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Subscription,
)
from tests.billing import crash_worker
from tests.cdn.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
GOOD, DECLINING = "pm_card_visa", "pm_card_chargeDeclinedInsufficientFunds"

pytestmark = [
    pytest.mark.needs_process,  # real gunicorn and worker processes
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plans_reseeded"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]


@dataclass
class Harness:
    double: type
    env: dict[str, str]
    crash_dir: Path
    sqlite_file: Path | None
    base: str = ""
    server: subprocess.Popen | None = None

    # --- the database the processes share ----------------------------------------------------

    def publish(self) -> None:
        """Make what the test wrote visible to the processes (SQLite: copy it to the file)."""
        if self.sqlite_file is not None:
            connection.ensure_connection()
            target = sqlite3.connect(self.sqlite_file)
            connection.connection.backup(target)
            target.close()

    def collect(self) -> None:
        """Make what the processes wrote visible to the test (SQLite: copy the file back)."""
        if self.sqlite_file is not None:
            source = sqlite3.connect(self.sqlite_file)
            source.backup(connection.connection)
            source.close()

    # --- the server -----------------------------------------------------------------------------

    def start_server(self) -> None:
        self.publish()
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "tests.billing.crash_wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--preload",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.crash_dir / "gunicorn.log").open("w"),
        )
        # Generous: a loaded CI machine can take long to import Django (a bound, not a timing).
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2).close()
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise AssertionError((self.crash_dir / "gunicorn.log").read_text()[-3000:])

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    # --- crash points ---------------------------------------------------------------------------

    def kill_worker_at_charge(self, pid_of) -> None:
        """The double kills the process `pid_of()` names once it has recorded the charge."""

        def kill(_kind: str) -> None:
            os.kill(pid_of(), signal.SIGKILL)

        self.double.on_recorded = kill

    def arm(self, crash: str, pid_of) -> None:
        if crash == "charge":
            self.kill_worker_at_charge(pid_of)
        else:
            (self.crash_dir / "kill_after_commit").write_text("1")

    def gunicorn_worker_pid(self) -> int:
        return int((self.crash_dir / "worker.pid").read_text())

    # --- clients ----------------------------------------------------------------------------------

    def post(self, path: str, body: dict, *, token: str, key: str) -> tuple[int, dict]:
        """POST as a careful client: retry with the same Idempotency-Key on a dropped
        connection, on 409 idempotency_key_in_use and on 503, for at most 3 minutes."""
        deadline = time.monotonic() + 180
        while True:
            request = urllib.request.Request(
                self.base + path,
                data=json.dumps(body).encode(),
                method="POST",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                payload = json.loads(error.read() or b"{}")
                code = payload.get("error", {}).get("code")
                if error.code not in (409, 503) or (
                    error.code == 409 and code != "idempotency_key_in_use"
                ):
                    return error.code, payload
            except (OSError, urllib.error.URLError):
                pass  # the worker died mid-request
            assert time.monotonic() < deadline, "the retried request never got an answer"
            time.sleep(0.3)

    def worker(self, *steps: str, crash: str) -> None:
        """Run the steps in a worker process; crash="charge": it is killed in the gateway
        call; crash="response": it finishes (a task has no response) and the broker delivers
        it again all the same. Then the redelivery runs (here, on the same database)."""
        self.publish()
        command = [sys.executable, "-m", "tests.billing.crash_worker", *steps]
        proc = subprocess.Popen(command, cwd=ROOT, env=self.env)
        if crash == "charge":
            self.kill_worker_at_charge(lambda: proc.pid)
        code = proc.wait(timeout=120)
        assert code == (-signal.SIGKILL if crash == "charge" else 0)
        self.collect()
        crash_worker.run(list(steps))

    def reconcile(self, at: datetime | None = None) -> None:
        """The sweep, an hour after `at` (the billing time the flow ran at; default now):
        pending payments and refunds re-sent with their own keys."""
        services.payment_sweep(now=(at or timezone.now()) + timedelta(hours=1))


@pytest.fixture
def harness(stripe_double, tmp_path, settings) -> Iterator[Harness]:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        database_url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        database_url += db["NAME"]
        sqlite_file = None
    else:
        sqlite_file = tmp_path / "harness.sqlite3"
        database_url = f"sqlite:///{sqlite_file}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))},
        "DJANGO_SETTINGS_MODULE": "streamsite.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "BILLING_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
        "BILLING_STRIPE_PUBLISHABLE_KEY": settings.BILLING_STRIPE_PUBLISHABLE_KEY,
        "STRIPE_API_BASE": settings.STRIPE_API_BASE,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "BILLING_IDEMPOTENCY_LEASE_SECONDS": "1",
        "BILLING_CRASH_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    harness = Harness(stripe_double, env, tmp_path, sqlite_file)
    yield harness
    harness.stop()


# --- what must hold after every crash ---------------------------------------------------------


def assert_gateway_and_ledger_agree(double, *, charges: int, refunds: int = 0) -> None:
    intents = [i for i in double.intents.values() if i["status"] == "succeeded"]
    assert len(intents) == charges
    succeeded = Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
    # One succeeded payment per gateway charge, matched on the gateway's own id and amount.
    assert sorted((p.gateway_charge_id, p.amount) for p in succeeded) == sorted(
        (i["id"], i["amount"]) for i in intents
    )
    assert Payment.objects.filter(status=PaymentStatus.PENDING).count() == 0
    assert CreditNote.objects.filter(status=CreditNote.Status.PENDING).count() == 0
    # Every paid invoice was paid once, in full, by one of those charges.
    for invoice in Invoice.objects.filter(status=InvoiceStatus.PAID, total__gt=0):
        paid = invoice.payments.filter(status=PaymentStatus.SUCCEEDED)
        assert paid.count() == 1
        assert invoice.amount_paid == invoice.total == paid.get().amount
    assert Invoice.objects.filter(status=InvoiceStatus.PAID).count() == charges
    # Refunds: what the gateway gave back is what our issued credit notes say.
    issued = CreditNote.objects.filter(status=CreditNote.Status.ISSUED)
    assert len(double.refunds) == refunds == issued.count()
    assert sum(r["amount"] for r in double.refunds.values()) == (
        issued.aggregate(total=Sum("amount"))["total"] or 0
    )
    for payment in succeeded:
        booked = payment.creditnote_set.filter(status=CreditNote.Status.ISSUED)
        assert payment.amount_refunded == (booked.aggregate(total=Sum("amount"))["total"] or 0)


def subscribed(alice, plan="basic") -> Subscription:
    """An active paid subscription made in-process through the same gateway (one charge)."""
    return services.subscription_start(
        account=alice, plan_code=plan, currency="USD", card_token=GOOD, trial=False
    )


def bearer(alice) -> str:
    return api_token_create(user=alice, name="harness")[1]


CRASHES = ["charge", "response"]


# --- the flows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("crash", CRASHES)
def test_checkout(harness, alice, crash):
    token = bearer(alice)
    harness.start_server()
    harness.arm(crash, harness.gunicorn_worker_pid)
    body = {"plan": "premium", "currency": "USD", "card_token": GOOD, "trial": False}
    status, answer = harness.post("/api/v1/billing/subscription", body, token=token, key="co-1")
    harness.collect()
    assert (status, answer["status"], answer["plan"]) == (201, "active", "premium")
    # The same request again: the stored answer, no new charge.
    assert harness.post("/api/v1/billing/subscription", body, token=token, key="co-1") == (
        status,
        answer,
    )
    harness.reconcile()
    assert_gateway_and_ledger_agree(harness.double, charges=1)
    assert Invoice.objects.get(status=InvoiceStatus.PAID).total == 2299


@pytest.mark.parametrize("crash", CRASHES)
def test_plan_upgrade(harness, alice, crash):
    sub = subscribed(alice, "basic")
    token = bearer(alice)
    harness.start_server()
    harness.arm(crash, harness.gunicorn_worker_pid)
    status, answer = harness.post(
        "/api/v1/billing/subscription/change", {"plan": "premium"}, token=token, key="up-1"
    )
    harness.collect()
    assert (status, answer["plan"]) == (200, "premium")
    harness.reconcile()
    assert_gateway_and_ledger_agree(harness.double, charges=2)
    upgrade = Invoice.objects.get(kind="upgrade")
    assert (upgrade.status, upgrade.subscription_id) == (InvoiceStatus.PAID, sub.pk)
    assert Subscription.objects.get().plan.code == "premium"


@pytest.mark.parametrize("crash", CRASHES)
def test_renewal(harness, alice, crash):
    sub = subscribed(alice, "standard")
    due = sub.current_period_end
    harness.worker(f"renew={due.isoformat()}", crash=crash)
    harness.reconcile(due)
    assert_gateway_and_ledger_agree(harness.double, charges=2)
    renewal = Invoice.objects.get(kind="renewal")
    assert (renewal.status, renewal.total, renewal.period_start) == (InvoiceStatus.PAID, 1549, due)
    assert Subscription.objects.get().status == "active"


def _past_due(alice) -> Invoice:
    """A renewal declined (past due, retry scheduled), then the card fixed at the gateway."""
    sub = subscribed(alice, "standard")
    PaymentMethod.objects.filter(account=alice).update(token=DECLINING)
    from billing.tasks import run_renewals

    run_renewals(sub.current_period_end.isoformat())
    invoice = Invoice.objects.get(kind="renewal")
    assert (invoice.status, Subscription.objects.get().status) == ("open", "past_due")
    PaymentMethod.objects.filter(account=alice).update(token=GOOD)
    return invoice


@pytest.mark.parametrize("crash", CRASHES)
def test_retry_in_dunning(harness, alice, crash):
    invoice = _past_due(alice)
    harness.worker(f"dunning={invoice.next_attempt_at.isoformat()}", crash=crash)
    harness.reconcile(invoice.next_attempt_at)
    assert_gateway_and_ledger_agree(harness.double, charges=2)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count) == (InvoiceStatus.PAID, 2)
    assert Subscription.objects.get().status == "active"


@pytest.mark.parametrize("crash", CRASHES)
def test_pay_now_while_past_due(harness, alice, crash):
    invoice = _past_due(alice)
    token = bearer(alice)
    harness.start_server()
    harness.arm(crash, harness.gunicorn_worker_pid)
    status, answer = harness.post(
        f"/api/v1/billing/invoices/{invoice.pk}/pay", {}, token=token, key="pay-1"
    )
    harness.collect()
    assert (status, answer["status"]) == (200, "paid")
    harness.reconcile()
    assert_gateway_and_ledger_agree(harness.double, charges=2)
    assert Subscription.objects.get().status == "active"


@pytest.mark.parametrize("crash", CRASHES)
def test_refund(harness, alice, crash):
    subscribed(alice, "premium")
    invoice = Invoice.objects.get()
    harness.worker(f"refund={invoice.pk},500,{'f' * 32}", crash=crash)
    harness.reconcile()
    assert_gateway_and_ledger_agree(harness.double, charges=1, refunds=1)
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.credit_notes.get().amount) == (500, 500)
