"""The audit table refuses change and removal; the staff search and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.test import Client

from accounts.models import User
from audit.models import AuditEntry, AuditImmutable
from audit.services import record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SEARCH = "/admin/audit/auditentry/search/"


@pytest.fixture
def entry(alice) -> AuditEntry:
    return record(action="token.create", obj=alice, actor=alice, after={"prefix": "ab12"})


# --- Append only ----------------------------------------------------------------------------------


def test_saving_an_existing_row_is_refused_and_nothing_changes(entry):
    entry.action = "auth.sign_in"
    with pytest.raises(AuditImmutable):
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).action == "token.create"


def test_deleting_a_row_or_a_queryset_is_refused(entry):
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.bulk_update([entry], ["action"])
    assert AuditEntry.objects.filter(pk=entry.pk, action="token.create").count() == 1


def test_the_admin_offers_no_add_change_or_delete_even_to_a_superuser(entry, staff):
    client = Client()
    client.force_login(staff)
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    response = client.post(
        f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "auth.sign_in"}
    )
    assert response.status_code == 403
    delete = client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert client.post("/admin/audit/auditentry/add/", {"action": "x"}).status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).action == "token.create"
    assert not AuditEntry.objects.filter(action="x").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_postgresql_refuses_update_and_delete_from_any_client(entry):
    for sql in (
        "UPDATE audit_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "token.create"


# --- Search and export ----------------------------------------------------------------------------


@pytest.fixture
def trail(alice, bob):
    """Four rows on two days by two actors (inserted as record() would, with set times)."""
    day1, day2 = datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC)

    def row(at, action, obj, actor=None, after=None):
        return AuditEntry.objects.create(
            at=at,
            actor_user_id=actor.pk if actor else None,
            actor_email=actor.email if actor else "",
            action=action,
            object_type="accounts.user",
            object_id=str(obj.pk),
            object_repr=obj.email,
            after=after or {},
        )

    return [
        row(day1, "auth.sign_in", alice, alice),
        row(day1, "auth.sign_in_failed", bob),
        row(day2, "token.create", alice, alice, {"prefix": "=cmd"}),
        row(day2, "auth.sign_in", bob, bob),
    ]


@pytest.fixture
def auditor(db):
    user = UserFactory(email="auditor@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    client = Client()
    client.force_login(user)
    return client


def _shown(response) -> list[tuple[str, str]]:
    return [(r.action, r.object_repr) for r in response.context["page"]]


def test_search_by_actor_action_and_object(trail, auditor, alice, bob):
    response = auditor.get(SEARCH, {"actor": "alice@", "until": "2026-03-02"})
    assert _shown(response) == [("token.create", alice.email), ("auth.sign_in", alice.email)]
    # (the auditor's own sign-in is a row too: the range keeps to the trail's days)
    response = auditor.get(SEARCH, {"action": "auth.sign_in", "until": "2026-03-02"})
    assert [a for a, _ in _shown(response)] == [
        "auth.sign_in",
        "auth.sign_in_failed",
        "auth.sign_in",
    ]
    response = auditor.get(SEARCH, {"object_type": "accounts.user", "object_id": str(bob.pk)})
    assert _shown(response) == [("auth.sign_in", bob.email), ("auth.sign_in_failed", bob.email)]
    response = auditor.get(SEARCH, {"actor": str(bob.pk)})
    assert _shown(response) == [("auth.sign_in", bob.email)]


def test_search_by_date_range_is_inclusive_of_whole_days(trail, auditor):
    response = auditor.get(SEARCH, {"since": "2026-03-02", "until": "2026-03-02"})
    assert [a for a, _ in _shown(response)] == ["auth.sign_in", "token.create"]
    response = auditor.get(SEARCH, {"until": "2026-03-01"})
    assert [a for a, _ in _shown(response)] == ["auth.sign_in_failed", "auth.sign_in"]


def test_bad_search_input_is_400(auditor):
    for query in (
        {"since": "yesterday"},
        {"since": "2026-03-02", "until": "2026-03-01"},
        {"object_type": "not a type"},
    ):
        response = auditor.get(SEARCH, query)
        assert response.status_code == 400
        assert response.context["form"].errors, query  # the form names what is wrong


def test_the_csv_export_has_every_matching_row_and_quotes_formulas(trail, auditor, alice):
    response = auditor.get(SEARCH, {"actor": "alice@", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == [
        "at",
        "actor_user_id",
        "actor_email",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "before",
        "after",
        "ip",
    ]
    assert [(r[1], r[2], r[3], r[5], r[8]) for r in table[1:]] == [
        (str(alice.pk), alice.email, "token.create", str(alice.pk), '{"prefix": "=cmd"}'),
        (str(alice.pk), alice.email, "auth.sign_in", str(alice.pk), "{}"),
    ]


def test_a_formula_cell_is_quoted():
    from audit.admin import _csv_cell

    assert (_csv_cell("=HYPERLINK(1)"), _csv_cell("@x"), _csv_cell("ok")) == (
        "'=HYPERLINK(1)",
        "'@x",
        "ok",
    )


def test_the_page_needs_the_audit_permission(trail, alice):
    other_staff = UserFactory(email="ops@example.com", is_staff=True)
    for user, expected in ((other_staff, 403), (alice, 302)):
        client = Client()
        client.force_login(user)
        response = client.get(SEARCH, {"format": "csv"})
        assert response.status_code == expected
        assert "text/csv" not in response.get("Content-Type", "")


def test_the_search_speaks_the_auditor_s_language(trail, auditor, alice):
    User.objects.filter(email="auditor@example.com").update(language="es")
    html = auditor.get(SEARCH, {"actor": "alice@", "until": "2026-03-02"}).content.decode()
    assert "<p>2 filas.</p>" in html
    assert "<th>Hora (UTC)</th><th>Autor</th><th>Acción</th>" in html
    assert "Página 1 de 1" in html and "Exportar CSV" in html
    assert "token.create" in html  # action names are data, not translated
    refused = auditor.get(SEARCH, {"since": "2026-03-02", "until": "2026-03-01"}).content.decode()
    assert "El día de inicio es posterior al día final." in refused
