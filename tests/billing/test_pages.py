"""Browser pages: plan picker, checkout with the sandbox card form, billing page, invoices."""

import logging
from datetime import UTC, datetime

import pytest
from django.test import Client

from billing import services
from billing.models import Invoice, PaymentMethod, Subscription
from billing.tasks import run_dunning, run_renewals
from tests.billing.conftest import card_token
from tests.clients import browser_client as logged_in

pytestmark = pytest.mark.django_db

CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}


def test_plan_picker_lists_plans_in_the_chosen_currency(client):
    response = client.get("/plans/?currency=JPY")
    assert response.status_code == 200
    html = response.content.decode()
    assert "¥990" in html and "¥1,490" in html and "¥1,980" in html
    assert 'href="/plans/standard/checkout/?currency=JPY"' in html


def test_checkout_needs_a_sign_in(client):
    response = client.get("/plans/basic/checkout/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_checkout_with_a_sandbox_card_starts_the_trial_and_never_stores_the_number(
    alice, frozen_clock, caplog
):
    client = logged_in(alice)
    assert "4242 4242 4242 4242" in client.get("/plans/standard/checkout/").content.decode()
    with caplog.at_level(logging.DEBUG):
        response = client.post("/plans/standard/checkout/", {**CARD, "currency": "USD"})
    assert response.status_code == 302
    assert response["Location"] == "/account/billing/"
    sub = Subscription.objects.get(account=alice)
    assert (sub.status, sub.plan.code) == ("trialing", "standard")
    pm = PaymentMethod.objects.get()
    assert (pm.brand, pm.last4) == ("visa", "4242")
    assert "4242424242424242" not in caplog.text
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("billing_paymentmethod", "billing_sandboxcard"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            assert "4242424242424242" not in repr(cursor.fetchall())


def test_checkout_with_a_bad_card_shows_the_error_with_400(alice):
    response = logged_in(alice).post("/plans/basic/checkout/", {**CARD, "number": "4242"})
    assert response.status_code == 400
    assert "That card number is not valid." in response.content.decode()
    assert Subscription.objects.count() == 0


def test_checkout_with_a_declined_card_after_expiry_is_402(alice, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token()
    )
    services.subscription_cancel(account=alice)
    frozen_clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    run_renewals()
    response = logged_in(alice).post(
        "/plans/premium/checkout/", {**CARD, "number": "4000000000000002"}
    )
    assert response.status_code == 402
    assert "Your card was declined." in response.content.decode()
    assert Subscription.objects.get(account=alice).status == "expired"


def test_billing_page_empty_state(alice):
    response = logged_in(alice).get("/account/billing/")
    assert response.status_code == 200
    assert "You have no plan yet" in response.content.decode()


def test_billing_page_shows_plan_next_bill_preview_and_invoices(alice, frozen_clock):
    frozen_clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    frozen_clock.set(datetime(2026, 4, 16, tzinfo=UTC))
    client = logged_in(alice)
    html = client.get("/account/billing/?preview=standard").content.decode()
    assert "Next bill: <strong>$7.99</strong> on 1 May 2026" in html
    assert "Unused time on Basic" in html and "-$4.00" in html
    assert "Charged now" in html and "$3.75" in html
    invoice = Invoice.objects.get()
    assert f'href="/account/billing/invoices/{invoice.pk}/"' in html
    response = client.post("/account/billing/change/", {"plan": "standard"})
    assert response.status_code == 302
    assert Subscription.objects.get(account=alice).plan.code == "standard"


def test_cancel_and_resume_buttons(alice, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token()
    )
    client = logged_in(alice)
    assert client.post("/account/billing/cancel/").status_code == 302
    assert Subscription.objects.get().cancel_at_period_end is True
    assert "Keep my subscription" in client.get("/account/billing/").content.decode()
    assert client.post("/account/billing/resume/").status_code == 302
    assert Subscription.objects.get().cancel_at_period_end is False
    again = client.post("/account/billing/resume/")
    assert again.status_code == 400
    assert "The subscription is not set to cancel." in again.content.decode()


@pytest.mark.parametrize(
    "who,status", [("anonymous", 302), ("bob", 404), ("staff", 404), ("alice", 200)]
)
def test_printable_invoice_matrix(who, status, alice, bob, staff, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="premium", currency="EUR", card_token=card_token(), trial=False
    )
    invoice = Invoice.objects.get()
    client = Client()
    if who != "anonymous":
        client.force_login({"alice": alice, "bob": bob, "staff": staff}[who])
    response = client.get(f"/account/billing/invoices/{invoice.pk}/")
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert invoice.number in html and "€19.99" in html and "alice@example.com" in html


@pytest.mark.parametrize("who", ["bob", "staff"])
def test_others_cannot_pay_alices_invoice_from_the_page(who, alice, bob, staff, frozen_clock):
    services.subscription_start(
        account=alice,
        plan_code="basic",
        currency="USD",
        card_token=card_token("4000000000000341"),
        trial=False,
    )
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    invoice = Invoice.objects.get(kind="renewal")
    response = logged_in(bob if who == "bob" else staff).post(
        f"/account/billing/invoices/{invoice.pk}/pay/"
    )
    assert response.status_code == 404
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count) == ("open", 1)


def test_billing_page_query_count_is_flat(alice, frozen_clock, django_assert_num_queries):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    client = logged_in(alice)
    client.get("/account/billing/")
    # (the session from the cache and its user from this process's memory: no query for them)
    with django_assert_num_queries(5):
        client.get("/account/billing/")
    for month in range(2, 6):
        frozen_clock.set(datetime(2026, month, 1, 12, tzinfo=UTC))
        run_renewals()
    client.get("/account/billing/")  # entitlements cached again, as in the first measurement
    with django_assert_num_queries(5):
        assert client.get("/account/billing/").content.decode().count("Paid</span>") == 5


def test_past_due_billing_page_shows_the_retry_date_and_until_when_streaming_continues(
    alice, frozen_clock
):
    services.subscription_start(
        account=alice,
        plan_code="basic",
        currency="USD",
        card_token=card_token("4000000000000341"),
        trial=False,
    )
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()  # declined: past due since 1 Feb, retries on 2, 4, 6 and 8 Feb
    client = logged_in(alice)
    html = client.get("/account/billing/").content.decode()
    assert "Past due" in html
    assert "Your last payment of $7.99 failed." in html
    assert "We will try your card again on <strong>2 Feb 2026</strong>." in html
    assert "You can keep watching until <strong>6 Feb 2026</strong>." in html
    # The period already moved on; the page says that bill comes after the open one.
    assert "Once the open invoice is paid, the bill after it is <strong>$7.99</strong>" in html
    assert "Next bill:" not in html

    # Grace over (BILLING_GRACE_DAYS=5) and the third retry declined: streaming stops, the
    # page says why and when the next try is, and no longer promises streaming.
    frozen_clock.set(datetime(2026, 2, 6, 12, tzinfo=UTC))
    run_dunning()
    html = client.get("/account/billing/").content.decode()
    assert "Your payment is overdue. Update your card on the billing page" in html
    assert "We will try your card again on <strong>8 Feb 2026</strong>." in html
    assert "You can keep watching" not in html


def test_active_billing_page_shows_no_dunning_notice(alice, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=card_token(), trial=False
    )
    html = logged_in(alice).get("/account/billing/").content.decode()
    assert "Active" in html
    assert 'data-role="dunning"' not in html


def test_the_account_menu_links_to_plan_and_billing(alice):
    html = logged_in(alice).get("/account/billing/").content.decode()
    assert '<a href="/account/billing/">Plan &amp; billing</a>' in html
