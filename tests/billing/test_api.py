"""The billing API: checkout, plan changes, invoices, authorisation matrix, query counts."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from billing import services
from billing.models import IdempotencyRecord, Invoice, Payment, SandboxCharge, Subscription
from billing.tasks import run_renewals
from tests.billing.conftest import card_token
from tests.clients import api_client as client_for

pytestmark = pytest.mark.django_db


def subscribe(user, plan="standard", trial=False):
    return services.subscription_start(
        account=user, plan_code=plan, currency="USD", card_token=card_token(), trial=trial
    )


def test_plans_are_public_with_prices(api):
    response = api.get("/api/v1/billing/plans")
    assert response.status_code == 200
    assert [p["code"] for p in response.json()] == ["basic", "standard", "premium"]
    standard = response.json()[1]
    assert (standard["max_streams"], standard["max_resolution"], standard["max_profiles"]) == (
        2,
        1080,
        5,
    )
    assert standard["prices"] == [
        {"currency": "EUR", "amount": 1349, "display": "€13.49"},
        {"currency": "JPY", "amount": 1490, "display": "¥1,490"},
        {"currency": "USD", "amount": 1549, "display": "$15.49"},
    ]


def test_checkout_through_the_api_with_a_sandbox_token(alice, alice_api, frozen_clock):
    token = alice_api.post(
        "/api/v1/billing/sandbox/tokens",
        {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
    )
    assert token.status_code == 201
    assert token.json()["last4"] == "4242"
    response = alice_api.post(
        "/api/v1/billing/subscription",
        {"plan": "premium", "currency": "EUR", "card_token": token.json()["token"], "trial": False},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["plan"], body["status"], body["currency"], body["next_amount"]) == (
        "premium",
        "active",
        "EUR",
        1999,
    )
    assert body["card"] == {"brand": "visa", "last4": "4242"}
    ent = alice_api.get("/api/v1/billing/entitlements").json()
    assert ent == {
        "can_stream": True,
        "max_streams": 4,
        "max_resolution": 2160,
        "max_profiles": 5,
        "plan_code": "premium",
        "status": "active",
        "reason": "",
    }


def test_declined_card_is_402_with_a_message(alice_api, frozen_clock):
    response = alice_api.post(
        "/api/v1/billing/subscription",
        {"plan": "basic", "card_token": card_token("4000000000009995"), "trial": False},
    )
    assert response.status_code == 402
    assert response.json()["error"]["message"] == "Your card has insufficient funds."
    assert response.json()["error"]["decline_code"] == "insufficient_funds"


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"plan": "gold", "card_token": "x"}, "plan"),
        ({"plan": "basic", "currency": "GBP"}, "currency"),
        ({"plan": "basic", "card_token": "tok_nope"}, "card_token"),
        ({"plan": "basic", "card_token": "", "coupon": ""}, "card_token"),
    ],
)
def test_bad_checkout_input_is_400_naming_the_field(alice_api, payload, field, db):
    response = alice_api.post("/api/v1/billing/subscription", payload)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Subscription.objects.count() == 0


def test_sandbox_tokenizer_refuses_a_bad_number(alice_api):
    response = alice_api.post(
        "/api/v1/billing/sandbox/tokens",
        {"number": "4242424242424241", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "That card number is not valid."


def test_upgrade_preview_and_change_via_api(alice, alice_api, frozen_clock):
    frozen_clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    subscribe(alice, "basic")
    frozen_clock.set(datetime(2026, 4, 16, tzinfo=UTC))
    preview = alice_api.get("/api/v1/billing/subscription/preview?plan=standard").json()
    # 15/30 of 7.99 = 3.995 -> 4.00 credit; 15/30 of 15.49 = 7.745 -> 7.75 debit
    assert preview["lines"] == [
        {"description": "Unused time on Basic", "amount": -400},
        {"description": "Remaining time on Standard", "amount": 775},
    ]
    assert preview["amount_due"] == 375
    response = alice_api.post("/api/v1/billing/subscription/change", {"plan": "standard"})
    assert response.status_code == 200
    assert response.json()["plan"] == "standard"
    assert Invoice.objects.get(kind="upgrade").total == 375


def test_preview_without_plan_is_400(alice_api, alice, frozen_clock):
    subscribe(alice)
    response = alice_api.get("/api/v1/billing/subscription/preview")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "plan" in (error.get("fields") or {}) or "plan" in error["message"].lower(), error


def test_cancel_and_resume_via_api(alice, alice_api, frozen_clock):
    subscribe(alice)
    assert alice_api.post("/api/v1/billing/subscription/cancel").json()["cancel_at_period_end"]
    assert not alice_api.post("/api/v1/billing/subscription/resume").json()["cancel_at_period_end"]
    again = alice_api.post("/api/v1/billing/subscription/resume")
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "The subscription is not set to cancel."


# --- authorisation matrix ---------------------------------------------------------------------


@pytest.fixture
def alice_invoice(alice, frozen_clock):
    subscribe(alice)
    return Invoice.objects.get(account=alice)


@pytest.mark.parametrize(
    "who,status",
    [
        ("anonymous", 401),
        ("bob", 404),
        ("staff", 404),
        ("alice", 200),
    ],
)
def test_invoice_detail_matrix(who, status, alice, bob, staff, alice_invoice):
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate({"alice": alice, "bob": bob, "staff": staff}[who])
    response = client.get(f"/api/v1/billing/invoices/{alice_invoice.pk}")
    assert response.status_code == status
    if status == 200:
        assert response.json()["number"] == alice_invoice.number
        assert response.json()["lines"] == [
            {
                "kind": "plan",
                "description": response.json()["lines"][0]["description"],
                "amount": 1549,
            }
        ]


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("bob", 404), ("staff", 404)])
def test_nobody_else_can_pay_or_change_alices_billing(who, status, alice, bob, staff, frozen_clock):
    token = card_token("4000000000000341")
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=token, trial=False
    )
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    invoice = Invoice.objects.get(kind="renewal")
    assert invoice.status == "open"
    before = (Payment.objects.count(), Subscription.objects.get(account=alice).status)
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate(bob if who == "bob" else staff)
    response = client.post(f"/api/v1/billing/invoices/{invoice.pk}/pay")
    assert response.status_code == status
    if who != "anonymous":
        for url in ("/api/v1/billing/subscription/cancel", "/api/v1/billing/subscription/resume"):
            assert client.post(url).status_code == 404
        assert client.get("/api/v1/billing/subscription").status_code == 404
    assert (Payment.objects.count(), Subscription.objects.get(account=alice).status) == before
    assert Subscription.objects.get(account=alice).cancel_at_period_end is False


def test_anonymous_cannot_use_account_endpoints(api, db):
    for url in (
        "/api/v1/billing/subscription",
        "/api/v1/billing/invoices",
        "/api/v1/billing/entitlements",
    ):
        assert api.get(url).status_code == 401
    assert api.post("/api/v1/billing/subscription", {"plan": "basic"}).status_code == 401
    assert Subscription.objects.count() == 0


def test_invoice_list_shows_only_my_invoices(alice, bob, alice_api, frozen_clock):
    subscribe(alice)
    subscribe(bob)
    body = alice_api.get("/api/v1/billing/invoices").json()
    assert body["count"] == 1
    assert body["results"][0]["total"] == 1549
    assert (
        body["results"][0]["html_url"] == f"/account/billing/invoices/{body['results'][0]['id']}/"
    )


def test_invoice_list_query_count_is_flat(
    alice, alice_api, frozen_clock, django_assert_num_queries
):
    subscribe(alice)
    with django_assert_num_queries(2):
        assert alice_api.get("/api/v1/billing/invoices").json()["count"] == 1
    for month in range(2, 8):
        frozen_clock.set(datetime(2026, month, 1, 12, tzinfo=UTC))
        run_renewals()
    with django_assert_num_queries(2):
        assert alice_api.get("/api/v1/billing/invoices").json()["count"] == 7


def test_plan_list_query_count_is_flat(api, db, django_assert_num_queries):
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/billing/plans").json()) == 3


# --- idempotency ------------------------------------------------------------------------------


def test_same_key_same_body_replays_the_response_and_charges_once(alice_api, frozen_clock):
    body = {"plan": "basic", "card_token": card_token(), "trial": False}
    first = alice_api.post("/api/v1/billing/subscription", body, HTTP_IDEMPOTENCY_KEY="k-1")
    second = alice_api.post("/api/v1/billing/subscription", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert (first["Idempotent-Replayed"], second["Idempotent-Replayed"]) == ("false", "true")
    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.count() == 1


def test_same_key_different_body_is_422_and_charges_nothing_more(alice_api, frozen_clock):
    token = card_token()
    alice_api.post(
        "/api/v1/billing/subscription",
        {"plan": "basic", "card_token": token, "trial": False},
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    response = alice_api.post(
        "/api/v1/billing/subscription",
        {"plan": "premium", "card_token": token, "trial": False},
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert SandboxCharge.objects.count() == 1


def test_error_responses_are_replayed_too(alice_api, frozen_clock):
    body = {"plan": "basic", "card_token": card_token("4000000000000002"), "trial": False}
    first = alice_api.post("/api/v1/billing/subscription", body, HTTP_IDEMPOTENCY_KEY="k-3")
    second = alice_api.post("/api/v1/billing/subscription", body, HTTP_IDEMPOTENCY_KEY="k-3")
    assert (first.status_code, second.status_code) == (402, 402)
    assert first.json() == second.json()
    assert SandboxCharge.objects.count() == 1


def test_keys_are_per_account(alice, bob, frozen_clock):
    for user in (alice, bob):
        response = client_for(user).post(
            "/api/v1/billing/subscription",
            {"plan": "basic", "card_token": card_token(), "trial": False},
            HTTP_IDEMPOTENCY_KEY="shared",
        )
        assert response.status_code == 201
    assert SandboxCharge.objects.count() == 2


def test_purge_keeps_keys_for_24_hours(alice, frozen_clock):
    from billing.tasks import purge_idempotency_keys

    client_for(alice).post(
        "/api/v1/billing/subscription",
        {"plan": "basic", "card_token": card_token(), "trial": False},
        HTTP_IDEMPOTENCY_KEY="old",
    )
    frozen_clock.advance(hours=23, minutes=59)
    assert purge_idempotency_keys() == 0
    frozen_clock.advance(minutes=2)
    assert purge_idempotency_keys() == 1
    assert IdempotencyRecord.objects.count() == 0


def test_paying_an_invoice_refuses_a_body_field_and_pays_nothing(alice, frozen_clock):
    """The pay call takes no body: a field sent anyway is refused by name (it would otherwise
    only change the Idempotency-Key fingerprint), and no charge is made."""
    token = card_token("4000000000000341")
    services.subscription_start(
        account=alice, plan_code="basic", currency="USD", card_token=token, trial=False
    )
    frozen_clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    run_renewals()
    invoice = Invoice.objects.get(kind="renewal")
    payments = Payment.objects.count()
    response = client_for(alice).post(
        f"/api/v1/billing/invoices/{invoice.pk}/pay",
        {"amount": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"amount": ["Unknown field."]}
    invoice.refresh_from_db()
    assert (invoice.status, Payment.objects.count()) == ("open", payments)
