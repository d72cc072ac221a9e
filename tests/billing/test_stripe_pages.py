"""The Stripe browser flow, server side, against the loopback double.

The checkout and card pages create a SetupIntent and hand its client secret to Stripe.js; the
browser confirms it with Stripe and posts back only the SetupIntent and PaymentMethod ids,
which are verified with Stripe before the card is stored.
"""

import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from billing import services
from billing.models import BillingAccount, Invoice, PaymentMethod, Subscription
from billing.tasks import run_renewals
from tests.billing.stripe_double import confirm_setup
from tests.clients import browser_client as logged_in

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'data-client-secret="(seti_\w+?_secret_\w+)"')


def client_secret(response) -> str:
    match = SECRET.search(response.content.decode())
    assert match, "no client secret in the page"
    return match.group(1)


def api_base(settings) -> str:
    return settings.STRIPE_API_BASE


def test_checkout_page_renders_the_stripe_form_with_a_fresh_setup_intent(alice, stripe_double):
    response = logged_in(alice).get("/plans/standard/checkout/")
    assert response.status_code == 200
    html = response.content.decode()
    assert client_secret(response) == "seti_1_secret_double"
    assert 'data-stripe-key="pk_test_double"' in html
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert "/static/billing/stripe_card.js" in html
    assert 'name="number"' not in html and 'name="cvc"' not in html
    assert "Sandbox test cards" not in html
    assert [r[0] for r in stripe_double.requests] == ["/v1/customers", "/v1/setup_intents"]
    assert stripe_double.requests[0][2] == f"customer_account_{alice.pk}"
    form = stripe_double.requests[1][1]
    assert (form["customer"], form["usage"], form["allowed_payment_method_types[0]"]) == (
        "cus_123",
        "off_session",
        "card",
    )
    assert BillingAccount.objects.get(account=alice).gateway_customer_id == "cus_123"
    assert "no-store" in response["Cache-Control"]


def test_second_visit_reuses_the_customer(alice, stripe_double):
    client = logged_in(alice)
    client.get("/plans/standard/checkout/")
    client.get("/plans/basic/checkout/")
    paths = [r[0] for r in stripe_double.requests]
    assert paths == ["/v1/customers", "/v1/setup_intents", "/v1/setup_intents"]
    assert stripe_double.setup_intents["seti_2"]["customer"] == "cus_123"


def test_payment_method_from_a_succeeded_setup_intent_starts_the_trial(
    alice, stripe_double, settings, frozen_clock, caplog
):
    client = logged_in(alice)
    secret = client_secret(client.get("/plans/standard/checkout/"))
    confirmed = confirm_setup(api_base(settings), secret, "4242424242424242")
    assert (confirmed["status"], confirmed["payment_method"]) == ("succeeded", "pm_1")
    stripe_double.requests.clear()

    response = client.post(
        "/plans/standard/checkout/",
        {"setup_intent": "seti_1", "payment_method": "pm_1", "currency": "USD"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/account/billing/"
    sub = Subscription.objects.get(account=alice)
    assert (sub.status, sub.plan.code, sub.currency) == ("trialing", "standard", "USD")
    pm = PaymentMethod.objects.get()
    assert (pm.account_id, pm.gateway, pm.token, pm.brand, pm.last4) == (
        alice.pk,
        "stripe",
        "pm_1",
        "visa",
        "4242",
    )
    assert sub.payment_method_id == pm.pk
    # Verified by retrieving the SetupIntent (secret key), not attached a second time.
    path, query, _, auth = stripe_double.requests[0]
    assert (path, query, auth) == (
        "/v1/setup_intents/seti_1",
        {"expand[0]": "payment_method"},
        "Bearer sk_test_double",
    )
    assert [r[0] for r in stripe_double.requests] == ["/v1/setup_intents/seti_1"]
    assert "4242424242424242" not in caplog.text


def test_a_paid_checkout_is_charged_with_the_verified_card(alice, stripe_double, settings):
    client = logged_in(alice)
    secret = client_secret(client.get("/plans/basic/checkout/"))
    confirm_setup(api_base(settings), secret)
    services.subscription_start(
        account=alice,
        plan_code="basic",
        currency="USD",
        card_token="pm_1",
        setup_intent_id="seti_1",
        trial=False,
    )
    sub = Subscription.objects.get()
    assert sub.status == "active"
    charge = [r for r in stripe_double.requests if r[0] == "/v1/payment_intents"]
    assert [(r[1]["payment_method"], r[1]["customer"]) for r in charge] == [("pm_1", "cus_123")]
    assert Invoice.objects.get().status == "paid"


def test_a_foreign_setup_intent_is_refused_with_a_form_error(alice, stripe_double):
    client = logged_in(alice)
    client.get("/plans/standard/checkout/")  # alice's customer is cus_123
    stripe_double.setup_intents["seti_bob"] = {
        "id": "seti_bob",
        "object": "setup_intent",
        "client_secret": "seti_bob_secret_x",
        "customer": "cus_bob",
        "usage": "off_session",
        "status": "succeeded",
        "payment_method": "pm_bob",
    }
    stripe_double.payment_methods["pm_bob"] = {
        "id": "pm_bob",
        "object": "payment_method",
        "customer": "cus_bob",
        "card": {"brand": "visa", "last4": "1111", "exp_month": 1, "exp_year": 2031},
    }

    response = client.post(
        "/plans/standard/checkout/", {"setup_intent": "seti_bob", "payment_method": "pm_bob"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "We could not confirm that card. Please enter it again." in html
    # A fresh form to try again (the double numbers intents by count: seti_1, seti_bob, seti_3).
    assert client_secret(response) == "seti_3_secret_double"
    assert (Subscription.objects.count(), PaymentMethod.objects.count()) == (0, 0)


def test_an_unconfirmed_setup_intent_is_refused_with_a_form_error(alice, stripe_double):
    client = logged_in(alice)
    client.get("/plans/standard/checkout/")  # seti_1 is never confirmed

    response = client.post(
        "/plans/standard/checkout/", {"setup_intent": "seti_1", "payment_method": "pm_1"}
    )

    assert response.status_code == 400
    assert "Your card has not been confirmed yet." in response.content.decode()
    assert (Subscription.objects.count(), PaymentMethod.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    "posted",
    [
        {"setup_intent": "seti_1", "payment_method": "pm_999"},  # not what the intent saved
        {"setup_intent": "seti_404", "payment_method": "pm_1"},  # Stripe does not know it
        {"setup_intent": "seti_1/../../v1/customers", "payment_method": "pm_1"},  # not an id
        {"payment_method": "pm_1"},  # no SetupIntent to check it against
    ],
)
def test_payment_methods_the_setup_intent_does_not_vouch_for_are_refused(
    posted, alice, stripe_double, settings
):
    client = logged_in(alice)
    confirm_setup(api_base(settings), client_secret(client.get("/plans/standard/checkout/")))

    response = client.post("/plans/standard/checkout/", posted)

    assert response.status_code == 400
    assert "We could not confirm that card." in response.content.decode()
    assert (Subscription.objects.count(), PaymentMethod.objects.count()) == (0, 0)


def test_card_fields_posted_to_a_stripe_checkout_are_never_read(alice, stripe_double, caplog):
    client = logged_in(alice)
    client.get("/plans/standard/checkout/")
    before = len(stripe_double.requests)

    response = client.post(
        "/plans/standard/checkout/",
        {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"},
    )

    assert response.status_code == 400
    assert "A card is required." in response.content.decode()
    assert [r[0] for r in stripe_double.requests[before:]] == ["/v1/setup_intents"]
    assert (Subscription.objects.count(), PaymentMethod.objects.count()) == (0, 0)
    assert "4242424242424242" not in caplog.text


def test_stripe_unreachable_shows_a_503_page_with_a_message(alice, stripe_double, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused
    response = logged_in(alice).get("/plans/standard/checkout/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Stripe is unavailable" in html
    assert "data-client-secret" not in html


def test_declined_first_charge_shows_stripes_message_on_the_form(
    alice, stripe_double, settings, frozen_clock
):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token="pm_card_visa"
    )
    services.subscription_cancel(account=alice)
    frozen_clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    run_renewals()  # expired: checking out again is charged at once
    client = logged_in(alice)
    confirm_setup(api_base(settings), client_secret(client.get("/plans/premium/checkout/")))
    stripe_double.payment_methods["pm_card_chargeDeclinedInsufficientFunds"] = {
        **stripe_double.payment_methods.pop("pm_1"),
        "id": "pm_card_chargeDeclinedInsufficientFunds",
    }
    stripe_double.setup_intents["seti_1"]["payment_method"] = (
        "pm_card_chargeDeclinedInsufficientFunds"
    )

    response = client.post(
        "/plans/premium/checkout/",
        {"setup_intent": "seti_1", "payment_method": "pm_card_chargeDeclinedInsufficientFunds"},
    )

    assert response.status_code == 402
    assert "Your card has insufficient funds." in response.content.decode()
    assert Subscription.objects.get().status == "expired"


def test_card_page_replaces_the_card_after_verification(alice, stripe_double, settings):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token="pm_card_visa"
    )
    client = logged_in(alice)
    billing_page = client.get("/account/billing/").content.decode()
    assert 'href="/account/billing/card/"' in billing_page
    assert 'name="number"' not in billing_page
    page = client.get("/account/billing/card/")
    assert page.status_code == 200
    assert "Visa ending in 4242" in page.content.decode()
    confirm_setup(api_base(settings), client_secret(page), "5555555555554444")

    response = client.post(
        "/account/billing/card/", {"setup_intent": "seti_1", "payment_method": "pm_1"}
    )

    assert response.status_code == 302
    sub = Subscription.objects.select_related("payment_method").get()
    assert (sub.payment_method.token, sub.payment_method.brand, sub.payment_method.last4) == (
        "pm_1",
        "mastercard",
        "4444",
    )


def test_card_page_refuses_an_unconfirmed_setup_intent(alice, stripe_double):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token="pm_card_visa"
    )
    client = logged_in(alice)
    client.get("/account/billing/card/")
    response = client.post(
        "/account/billing/card/", {"setup_intent": "seti_1", "payment_method": "pm_1"}
    )
    assert response.status_code == 400
    assert "Your card has not been confirmed yet." in response.content.decode()
    assert Subscription.objects.get().payment_method.token == "pm_card_visa"


@pytest.mark.parametrize("who,status", [("anonymous", 302), ("bob", 400)])
def test_others_cannot_use_alices_setup_intent_on_the_card_page(
    who, status, alice, bob, stripe_double, settings
):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token="pm_card_visa"
    )
    alice_page = logged_in(alice).get("/account/billing/card/")
    confirm_setup(api_base(settings), client_secret(alice_page), "5555555555554444")
    client = logged_in(bob) if who == "bob" else Client()
    if who == "bob":  # bob has a Stripe customer of his own
        BillingAccount.objects.create(account=bob, currency="USD", gateway_customer_id="cus_bob")
        client.get("/account/billing/card/")

    response = client.post(
        "/account/billing/card/", {"setup_intent": "seti_1", "payment_method": "pm_1"}
    )

    assert response.status_code == status
    assert list(PaymentMethod.objects.values_list("account_id", "token")) == [
        (alice.pk, "pm_card_visa")
    ]


def csp(response) -> dict[str, list[str]]:
    parts = [p.split() for p in response["Content-Security-Policy"].split(";") if p.strip()]
    return {name: sources for name, *sources in parts}


def test_csp_allows_stripe_only_on_the_card_pages(alice, stripe_double):
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token="pm_card_visa"
    )
    client = logged_in(alice)
    for url in ("/plans/premium/checkout/", "/account/billing/card/"):
        policy = csp(client.get(url))
        assert policy["script-src"] == [
            "'self'",
            "https://js.stripe.com",
            "https://*.js.stripe.com",
        ]
        assert policy["frame-src"] == [
            "'self'",
            "https://js.stripe.com",
            "https://*.js.stripe.com",
            "https://hooks.stripe.com",
        ]
        assert policy["connect-src"] == ["'self'", "https:", "https://api.stripe.com"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    for url in ("/account/billing/", "/plans/", "/"):
        header = client.get(url)["Content-Security-Policy"]
        assert "stripe" not in header
        assert "script-src 'self';" in header


def test_sandbox_checkout_keeps_the_card_form_and_the_strict_csp(alice, settings):
    assert settings.BILLING_GATEWAY == "sandbox"
    client = logged_in(alice)
    response = client.get("/plans/standard/checkout/")
    html = response.content.decode()
    assert 'name="number"' in html and "Sandbox test cards" in html
    assert "js.stripe.com" not in html and "data-client-secret" not in html
    assert "stripe" not in response["Content-Security-Policy"]
    assert client.get("/account/billing/card/").status_code == 405


def test_stripe_gateway_without_keys_fails_the_system_check(settings):
    from billing.checks import stripe_keys

    assert stripe_keys() == []  # sandbox needs no keys
    settings.BILLING_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.BILLING_STRIPE_PUBLISHABLE_KEY = ""
    assert [e.id for e in stripe_keys()] == ["billing.E002"]
    settings.BILLING_STRIPE_PUBLISHABLE_KEY = "pk_test_x"
    assert stripe_keys() == []
