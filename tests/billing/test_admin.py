"""Admin: refunds (full and partial), manual credits, the revenue view with its SVG chart."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from billing import services
from billing.models import BillingAccount, CreditNote, Invoice, SandboxCharge, SandboxRefund
from billing.tasks import run_renewals
from tests.billing.conftest import card_token
from tests.clients import browser_client as staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_invoice(alice, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=card_token(), trial=False
    )
    return Invoice.objects.get()


def form_key(client, url):
    """The request key the refund form carries (made when the form is shown)."""
    return client.get(url).context["form"].initial["request_key"]


def test_partial_then_full_refund_from_the_admin(staff, paid_invoice):
    client = staff_client(staff)
    url = f"/admin/billing/invoice/{paid_invoice.pk}/refund/"
    assert "refundable $15.49" in client.get(url).content.decode()
    first = {"amount": "5.00", "reason": "Outage", "request_key": form_key(client, url)}
    response = client.post(url, first)
    assert response.status_code == 302
    # The same form submitted again (a double click, a retry after a timeout): same refund.
    assert client.post(url, first).status_code == 302
    response = client.post(
        url, {"amount": "", "reason": "Closing account", "request_key": form_key(client, url)}
    )
    assert response.status_code == 302
    notes = list(CreditNote.objects.order_by("number").values_list("number", "amount"))
    assert notes == [(f"CN-{paid_invoice.number}-1", 500), (f"CN-{paid_invoice.number}-2", 1049)]
    assert SandboxCharge.objects.get().amount_refunded == 1549
    assert list(SandboxRefund.objects.order_by("pk").values_list("amount", flat=True)) == [
        500,
        1049,
    ]
    paid_invoice.refresh_from_db()
    assert (paid_invoice.amount_credited, paid_invoice.total) == (1549, 1549)


def test_refund_beyond_what_was_paid_is_refused(staff, paid_invoice):
    response = staff_client(staff).post(
        f"/admin/billing/invoice/{paid_invoice.pk}/refund/",
        {"amount": "15.50", "reason": "Too much", "request_key": "a" * 32},
    )
    assert response.status_code == 400
    assert "Refund between 1 and 1549 minor units." in response.content.decode()
    assert CreditNote.objects.count() == 0


def test_refund_with_too_many_decimals_is_refused(staff, paid_invoice):
    response = staff_client(staff).post(
        f"/admin/billing/invoice/{paid_invoice.pk}/refund/",
        {"amount": "1.005", "reason": "x", "request_key": "a" * 32},
    )
    assert response.status_code == 400
    assert CreditNote.objects.count() == 0


def test_non_staff_cannot_reach_admin_billing_screens(alice, paid_invoice):
    client = Client()
    client.force_login(alice)
    for url in (
        f"/admin/billing/invoice/{paid_invoice.pk}/refund/",
        "/admin/billing/subscription/revenue/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert (
        client.post(
            f"/admin/billing/invoice/{paid_invoice.pk}/refund/", {"amount": "1.00", "reason": "x"}
        ).status_code
        == 302
    )
    assert CreditNote.objects.count() == 0


def test_manual_credit_from_the_admin(staff, alice, paid_invoice):
    ledger = BillingAccount.objects.get(account=alice)
    response = staff_client(staff).post(
        f"/admin/billing/billingaccount/{ledger.pk}/credit/", {"amount": "2.50", "note": "Goodwill"}
    )
    assert response.status_code == 302
    ledger.refresh_from_db()
    assert ledger.credit_balance == 250


def test_revenue_view_shows_mrr_subscribers_churn_and_an_svg_chart(staff, alice, bob, frozen_clock):
    services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=card_token(), trial=False
    )
    services.subscription_start(
        account=bob, plan_code="premium", currency="USD", card_token=card_token(), trial=False
    )
    services.subscription_cancel(account=bob)
    frozen_clock.set(datetime(2026, 2, 1, 13, tzinfo=UTC))
    run_renewals()
    html = staff_client(staff).get("/admin/billing/subscription/revenue/").content.decode()
    assert "<strong>$15.49</strong> (USD)" in html
    assert "<strong>50.0%</strong> (1 subscription ended)" in html
    assert "<td>Standard</td><td>1</td>" in html and "<td>Premium</td><td>0</td>" in html
    assert html.count('role="img" aria-label=') == 2
    assert 'aria-label="Live subscribers by plan"' in html


def test_admin_lists_render(staff, paid_invoice):
    client = staff_client(staff)
    for url in (
        "/admin/billing/plan/",
        "/admin/billing/subscription/",
        "/admin/billing/invoice/",
        f"/admin/billing/invoice/{paid_invoice.pk}/change/",
        "/admin/billing/payment/",
        "/admin/billing/coupon/",
        "/admin/billing/webhookevent/",
        "/admin/billing/billingaccount/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith("/change/"):
            assert response.context["original"].pk == paid_invoice.pk
        else:  # that model's list, with its rows counted
            assert response.context["cl"].model._meta.model_name == url.split("/")[-2], url
    invoices = client.get("/admin/billing/invoice/")
    assert list(invoices.context["cl"].result_list) == [paid_invoice]


def test_the_revenue_page_speaks_the_staff_member_s_language(staff):
    type(staff).objects.filter(pk=staff.pk).update(language="de")
    html = staff_client(staff).get("/admin/billing/subscription/revenue/").content.decode()
    assert "<h2>Monatlich wiederkehrender Umsatz</h2>" in html
    assert "<p>Noch keine zahlenden Abonnenten.</p>" in html
    assert "(0 Abos beendet)" in html
    assert 'aria-label="Aktive Abonnenten nach Abo"' in html
    assert "Monthly recurring revenue" not in html
