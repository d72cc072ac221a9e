"""Role rules beyond "which URL answers": the Support refund limit, roles changed only by
superusers, a plain staff flag grants nothing, service accounts and steering."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from audit.models import AuditEntry
from billing import services as billing_services
from billing.models import CreditNote, Invoice
from streamsite import roles
from tests.billing.conftest import card_token, frozen_clock  # noqa: F401
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def member(role: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def paid_invoice(alice, frozen_clock):  # noqa: F811
    billing_services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=card_token(), trial=False
    )
    return Invoice.objects.get()  # $15.49 paid


def refund(client, invoice, amount: str, key: str):
    return client.post(
        f"/admin/billing/invoice/{invoice.pk}/refund/",
        {"amount": amount, "reason": "Goodwill", "request_key": key * 32},
    )


def test_support_refunds_up_to_the_limit_and_no_more(paid_invoice, settings):
    settings.STAFF_SUPPORT_REFUND_LIMIT = "10.00"
    _, client = member(roles.SUPPORT, "support@example.com")
    response = refund(client, paid_invoice, "10.01", "a")
    assert response.status_code == 403
    assert "Your role refunds at most $10.00." in response.content.decode()
    assert CreditNote.objects.count() == 0
    assert not AuditEntry.objects.filter(action="billing.refund").exists()
    assert refund(client, paid_invoice, "10.00", "b").status_code == 302
    assert list(CreditNote.objects.values_list("amount", flat=True)) == [1000]


def test_support_cannot_refund_in_full_past_the_limit_from_the_list(paid_invoice, settings):
    settings.STAFF_SUPPORT_REFUND_LIMIT = "10.00"
    _, client = member(roles.SUPPORT, "support@example.com")
    response = client.post(
        "/admin/billing/invoice/",
        {"action": "refund_in_full", "_selected_action": [paid_invoice.pk]},
    )
    assert response.status_code == 302
    assert CreditNote.objects.count() == 0


def test_finance_refunds_past_the_limit(paid_invoice, settings):
    settings.STAFF_SUPPORT_REFUND_LIMIT = "1.00"
    _, client = member(roles.FINANCE, "finance@example.com")
    assert refund(client, paid_invoice, "15.49", "c").status_code == 302
    assert list(CreditNote.objects.values_list("amount", flat=True)) == [1549]


def test_the_limit_is_in_the_invoice_currency_minor_units(settings):
    from billing.money import staff_refund_limit

    settings.STAFF_SUPPORT_REFUND_LIMIT = "50.00"
    assert (staff_refund_limit("USD"), staff_refund_limit("JPY"), staff_refund_limit("BHD")) == (
        5000,
        50,
        50000,
    )


def test_only_a_superuser_changes_roles_even_with_the_change_user_permission(alice):
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_user", "view_user"])
    )
    client = Client()
    client.force_login(clerk)
    form = client.get(f"/admin/accounts/user/{alice.pk}/change/").context["adminform"].form
    assert {"is_staff", "is_superuser", "groups"} & set(form.fields) == set()
    data = {
        "email": alice.email,
        "country": "",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    for prefix in ("profiles", "device_sessions"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    response = client.post(f"/admin/accounts/user/{alice.pk}/change/", data)
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.is_staff, alice.is_superuser) == (False, False)


def test_support_signs_a_member_out_everywhere_but_cannot_deactivate(alice):
    _, client = member(roles.SUPPORT, "support@example.com")
    before = alice.session_epoch
    response = client.post(
        "/admin/accounts/user/", {"action": "deactivate", "_selected_action": [alice.pk]}
    )
    alice.refresh_from_db()
    assert (response.status_code, alice.is_active) == (302, True)  # "no action selected"
    client.post(
        "/admin/accounts/user/", {"action": "sign_out_everywhere", "_selected_action": [alice.pk]}
    )
    alice.refresh_from_db()
    assert alice.session_epoch == before + 1


def test_a_staff_flag_without_a_role_opens_no_staff_page_or_api():
    _, client = member(roles.CONTENT_EDITOR, "editor@example.com")
    plain = UserFactory(email="plain@example.com", is_staff=True)
    bare = Client()
    bare.force_login(plain)
    for path in ("/cdn/sites", "/cdn/where", "/api/v1/cdn/topology", "/api/v1/media/assets"):
        refused = bare.get(path)
        assert refused.status_code == 403, path
        if path.startswith("/api/"):  # the one error shape, and nothing else
            assert set(refused.json()) == {"error"}, path
    assert client.get("/cdn/sites").status_code == 403
    assets = client.get("/api/v1/media/assets")
    assert assets.status_code == 200
    assert set(assets.json()) == {"count", "next", "previous", "results"}  # the editor's list


def test_a_service_account_steers_without_being_staff():
    service = UserFactory(email="svc@example.com")
    service.user_permissions.add(Permission.objects.get(codename="use_steering"))
    assert roles.can_steer(service) is True
    assert roles.can_view_cdn(service) is False


def test_no_view_trusts_the_bare_staff_flag():
    """Staff screens ask a rule of streamsite.roles; Django's and DRF's is_staff-only guards
    would let any role in (the matrix walk would show it, this names the file)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    apps = ["streamsite", "accounts", "billing", "catalog", "media", "playback"]
    apps += ["recommendations", "cdn", "audit"]
    found = [
        f"{path.relative_to(root)}: {guard}"
        for app in apps
        for path in sorted((root / app).rglob("*.py"))
        for guard in ("staff_member_required", "IsAdminUser")
        if guard in path.read_text(encoding="utf-8") and path.name != "roles.py"
    ]
    assert found == []


def test_support_sees_a_subscription_without_its_card_and_finance_with_it(paid_invoice):
    sub = paid_invoice.subscription
    url = f"/admin/billing/subscription/{sub.pk}/change/"
    _, support = member(roles.SUPPORT, "support@example.com")
    _, finance = member(roles.FINANCE, "finance@example.com")
    shown = support.get(url)
    assert shown.status_code == 200
    assert "payment_method" not in [
        f for _, opts in shown.context["adminform"].fieldsets for f in opts["fields"]
    ]
    assert "4242" not in shown.content.decode()
    assert "4242" in finance.get(url).content.decode()
