"""The audit trail: each listed action leaves exactly the rows documented in
docs/operations.md ("Audit log"), with actor, object, summary and address."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib.auth.models import Group
from django.core import signing
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import UserSession
from audit.models import AuditEntry
from billing import services as billing_services
from billing.models import Invoice, Subscription
from catalog.models import Genre, Title
from catalog.services.titles import titles_set_published
from recommendations import services as recs_services
from recommendations.models import ModelVersion
from streamsite import roles
from tests.audit.conftest import last_id, rows
from tests.billing.conftest import card_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
U = "accounts.user"


@pytest.fixture
def verified(alice):
    alice.email_verified_at = timezone.now()
    alice.save(update_fields=["email_verified_at"])
    return alice


# --- Signing in ---------------------------------------------------------------------------------


def test_a_sign_in_records_the_user_and_the_address(verified):
    since = last_id()
    response = Client(REMOTE_ADDR="203.0.113.7").post(
        reverse("accounts:login"), {"email": verified.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert rows(since=since) == [("auth.sign_in", verified.pk, U, str(verified.pk), {}, {})]
    entry = AuditEntry.objects.get(pk__gt=since)
    assert (entry.ip, entry.actor_email, entry.object_repr) == (
        "203.0.113.7",
        verified.email,
        verified.email,
    )


def test_a_failed_sign_in_names_the_account_tried_but_no_actor(verified):
    since = last_id()
    response = Client(REMOTE_ADDR="203.0.113.8").post(
        reverse("accounts:login"), {"email": verified.email, "password": "wrong password!"}
    )
    assert response.status_code == 400
    assert rows(since=since) == [("auth.sign_in_failed", None, U, str(verified.pk), {}, {})]
    assert AuditEntry.objects.get(pk__gt=since).ip == "203.0.113.8"


def test_a_failed_sign_in_for_an_unknown_address_keeps_only_the_text(db):
    since = last_id()
    Client().post(reverse("accounts:login"), {"email": "nobody@example.com", "password": "x" * 12})
    [entry] = AuditEntry.objects.filter(pk__gt=since)
    assert (entry.action, entry.object_id, entry.object_repr) == (
        "auth.sign_in_failed",
        "",
        "nobody@example.com",
    )


def test_an_api_sign_in_records_the_sign_in_and_the_token(verified, api):
    since = last_id()
    response = api.post(
        "/api/v1/auth/token",
        {"email": verified.email, "password": PASSWORD, "name": "TV"},
        format="json",
    )
    assert response.status_code == 201
    token = verified.api_tokens.get()
    assert rows(since=since) == [
        (
            "token.create",
            verified.pk,
            "accounts.apitoken",
            str(token.pk),
            {},
            {"prefix": token.prefix},
        ),
        ("auth.sign_in", verified.pk, U, str(verified.pk), {}, {"via": "api_token"}),
    ]


# --- Credentials and devices ------------------------------------------------------------------


def test_a_password_change_records_it_and_the_devices_signed_out(verified):
    since = last_id()
    accounts_services.password_change(
        user=verified, old_password=PASSWORD, new_password="another long passphrase"
    )
    assert rows(since=since) == [
        ("account.password_change", None, U, str(verified.pk), {}, {}),
        ("session.revoke_all", None, U, str(verified.pk), {}, {"sessions_ended": 0}),
    ]


def test_an_email_change_records_both_addresses(verified):
    token = signing.dumps(
        {"u": verified.pk, "e": "new@example.com", "old": verified.email},
        salt=accounts_services.EMAIL_CHANGE_SALT,
    )
    since = last_id()
    accounts_services.email_verify(token=token)
    assert rows(since=since) == [
        (
            "account.email_change",
            verified.pk,
            U,
            str(verified.pk),
            {"email": "alice@example.com"},
            {"email": "new@example.com"},
        )
    ]


def test_two_factor_on_and_off(verified):
    device = accounts_services.totp_begin(user=verified)
    since = last_id()
    accounts_services.totp_confirm(user=verified, code=pyotp.TOTP(device.secret).now())
    accounts_services.totp_disable(user=verified, password=PASSWORD)
    assert [r[0] for r in rows(since=since)] == [
        "account.2fa_enable",
        "account.2fa_recovery_codes",
        "account.2fa_disable",
    ]
    assert {r[3] for r in rows(since=since)} == {str(verified.pk)}


def test_token_create_and_revoke(verified):
    since = last_id()
    token, _ = accounts_services.api_token_create(user=verified, name="laptop")
    accounts_services.api_token_revoke(user=verified, token_id=token.pk)
    accounts_services.api_token_revoke(user=verified, token_id=token.pk)  # twice: one row
    after = {"prefix": token.prefix}
    assert rows(since=since) == [
        ("token.create", verified.pk, "accounts.apitoken", str(token.pk), {}, after),
        ("token.revoke", None, "accounts.apitoken", str(token.pk), {}, after),
    ]


def test_signing_out_a_device_from_the_devices_page(verified):
    client = Client()
    client.force_login(verified)
    other = UserSession.objects.create(
        user=verified, session_key="k" * 32, device_name="Firefox on Linux", ip="198.51.100.4"
    )
    since = last_id()
    response = client.post(reverse("accounts:device-revoke", args=[other.pk]))
    assert response.status_code == 302
    assert rows(since=since) == [
        (
            "session.revoke",
            verified.pk,
            U,
            str(verified.pk),
            {"device": "Firefox on Linux", "ip": "198.51.100.4"},
            {},
        )
    ]


# --- Roles ----------------------------------------------------------------------------------------


def test_role_changes_flags_and_groups(alice, staff):
    support = Group.objects.get(name=roles.SUPPORT)
    since = last_id()
    alice.is_staff = True
    alice.save()
    alice.groups.add(support)
    alice.groups.remove(support)
    alice.save(update_fields=["last_login"])  # not a role change: no row
    pk = str(alice.pk)
    assert rows(since=since) == [
        ("role.change", None, U, pk, {"is_staff": False}, {"is_staff": True}),
        ("role.change", None, U, pk, {}, {"groups_added": ["Support"]}),
        ("role.change", None, U, pk, {}, {"groups_removed": ["Support"]}),
    ]


def test_a_superuser_granting_a_role_in_the_admin(alice, superuser_client, staff):
    finance = Group.objects.get(name=roles.FINANCE)
    since = last_id()
    response = superuser_client.post(
        f"/admin/accounts/user/{alice.pk}/change/",
        {
            "email": alice.email,
            "country": alice.country or "",
            "is_active": "on",
            "is_staff": "on",
            "groups": [finance.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            **_inline_management(),
        },
    )
    assert response.status_code == 302
    got = rows(since=since)
    assert [r[:4] for r in got] == [
        ("role.change", staff.pk, U, str(alice.pk)),
        ("role.change", staff.pk, U, str(alice.pk)),
        ("admin.change", staff.pk, U, str(alice.pk)),
    ]
    assert (got[0][4], got[0][5]) == ({"is_staff": False}, {"is_staff": True})
    assert got[1][5] == {"groups_added": ["Finance"]}
    assert got[2][4]["is_staff"] is False and got[2][5]["is_staff"] is True
    assert got[2][5]["groups"] == [finance.pk]


def _inline_management() -> dict[str, str]:
    data = {}
    for prefix in ("profiles", "device_sessions"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return data


# --- Billing --------------------------------------------------------------------------------------


@pytest.fixture
def subscribed(alice, frozen_clock):
    billing_services.subscription_start(
        account=alice, plan_code="standard", currency="USD", card_token=card_token(), trial=False
    )
    return alice


def test_a_plan_change_records_the_plans(subscribed):
    sub = Subscription.objects.get(account=subscribed)
    since = last_id()
    billing_services.subscription_change_plan(account=subscribed, plan_code="basic")
    basic = sub.plan.__class__.objects.get(code="basic")
    assert rows(since=since) == [
        (
            "billing.plan_change",
            None,
            "billing.subscription",
            str(sub.pk),
            {"plan": sub.plan_id, "pending_plan": None},
            {"plan": sub.plan_id, "pending_plan": basic.pk, "kind": "downgrade_scheduled"},
        )
    ]


def test_a_refund_from_the_admin_records_the_staff_member_and_amount(
    subscribed, superuser_client, staff
):
    invoice = Invoice.objects.get()
    since = last_id()
    response = superuser_client.post(
        f"/admin/billing/invoice/{invoice.pk}/refund/",
        {"amount": "5.00", "reason": "Outage", "request_key": "b" * 32},
    )
    assert response.status_code == 302
    note = invoice.credit_notes.get()
    assert rows(since=since) == [
        (
            "billing.refund",
            staff.pk,
            "billing.invoice",
            str(invoice.pk),
            {},
            {"credit_note": note.number, "amount": 500, "currency": "USD"},
        )
    ]


# --- Catalogue and models -------------------------------------------------------------------------


def test_publishing_and_unpublishing_titles(db):
    shown = Title.objects.create(kind="movie", name="Shown", slug="shown", is_published=True)
    hidden = Title.objects.create(kind="movie", name="Hidden", slug="hidden", is_published=False)
    since = last_id()
    assert titles_set_published(title_ids=[shown.pk, hidden.pk], published=True) == 1
    assert titles_set_published(title_ids=[shown.pk], published=False) == 1
    assert rows(since=since) == [
        (
            "catalog.title_publish",
            None,
            "catalog.title",
            str(hidden.pk),
            {"is_published": False},
            {"is_published": True},
        ),
        (
            "catalog.title_unpublish",
            None,
            "catalog.title",
            str(shown.pk),
            {"is_published": True},
            {"is_published": False},
        ),
    ]


def test_publishing_from_the_admin_action_names_the_editor(superuser_client, staff):
    title = Title.objects.create(kind="movie", name="Draft", slug="draft", is_published=False)
    since = last_id()
    response = superuser_client.post(
        "/admin/catalog/title/", {"action": "publish", "_selected_action": [title.pk]}
    )
    assert response.status_code == 302
    assert rows(since=since) == [
        (
            "catalog.title_publish",
            staff.pk,
            "catalog.title",
            str(title.pk),
            {"is_published": False},
            {"is_published": True},
        ),
        (
            "admin.action",
            staff.pk,
            "catalog.title",
            "",
            {},
            {"action": "publish", "ids": [title.pk]},
        ),
    ]


def test_a_rolled_back_change_leaves_no_row(db):
    title = Title.objects.create(kind="movie", name="Draft", slug="draft", is_published=False)
    since = last_id()
    with pytest.raises(RuntimeError), transaction.atomic():
        titles_set_published(title_ids=[title.pk], published=True)
        raise RuntimeError("the caller fails after the change")
    title.refresh_from_db()
    assert (title.is_published, rows(since=since)) == (False, [])


def test_a_model_promotion(db):
    version = ModelVersion.objects.create(
        algorithm="ease", status=ModelVersion.Status.CANDIDATE, artifact_key="k.npz"
    )
    since = last_id()
    recs_services.promote(version=version)
    assert rows(since=since) == [
        (
            "recs.model_promote",
            None,
            "recommendations.modelversion",
            str(version.pk),
            {"status": "candidate"},
            {"status": "live"},
        )
    ]


# --- Any admin write ------------------------------------------------------------------------------


def test_admin_add_change_and_delete(superuser_client, staff):
    since = last_id()
    response = superuser_client.post("/admin/catalog/genre/add/", {"name": "Noir", "slug": "noir"})
    assert response.status_code == 302
    genre = Genre.objects.get(slug="noir")
    response = superuser_client.post(
        f"/admin/catalog/genre/{genre.pk}/change/", {"name": "Film noir", "slug": "noir"}
    )
    assert response.status_code == 302
    response = superuser_client.post(f"/admin/catalog/genre/{genre.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    got = rows(since=since)
    pk = str(genre.pk)
    assert [r[:4] for r in got] == [
        ("admin.add", staff.pk, "catalog.genre", pk),
        ("admin.change", staff.pk, "catalog.genre", pk),
        ("admin.delete", staff.pk, "catalog.genre", pk),
    ]
    assert got[0][5] == {"name": "Noir", "slug": "noir", "admin_message": [{"added": {}}]}
    assert got[1][4:] == (
        {"name": "Noir"},
        {"name": "Film noir", "admin_message": [{"changed": {"fields": ["Name"]}}]},
    )


def test_a_staff_api_write_names_the_staff_member(db, settings, tmp_path):
    from media.models import MediaAsset
    from tests.media.factories import movie

    settings.MEDIA_ROOT = str(tmp_path)
    operator = UserFactory(email="ops@example.com", is_staff=True)
    operator.groups.add(Group.objects.get(name=roles.OPERATIONS))
    asset = MediaAsset.objects.create(title=movie(), status=MediaAsset.Status.FAILED)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(operator)
    since = last_id()
    response = client.post(f"/api/v1/media/assets/{asset.pk}/retry")
    assert response.status_code == 200
    assert rows(since=since) == [
        ("media.asset_retry", operator.pk, "media.mediaasset", str(asset.pk), {}, {"version": 2})
    ]


def test_a_staff_members_own_password_change_in_the_admin(staff, superuser_client):
    since = last_id()
    response = superuser_client.post(
        "/admin/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert rows(since=since) == [("account.password_change", staff.pk, U, str(staff.pk), {}, {})]


def test_a_password_reset_from_the_link(verified):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(verified.pk))
    token = default_token_generator.make_token(verified)
    since = last_id()
    accounts_services.password_reset_confirm(
        uidb64=uid, token=token, new_password="a reset long passphrase"
    )
    assert rows(since=since) == [
        ("account.password_reset", verified.pk, U, str(verified.pk), {}, {}),
        ("session.revoke_all", None, U, str(verified.pk), {}, {"sessions_ended": 0}),
    ]
