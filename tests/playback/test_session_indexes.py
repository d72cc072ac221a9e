"""The lease table keeps one index led by the account, not two (playback 0004).

Every lookup by account (the plan's stream limit, a user's cascade) is served by
`catalog_pbs_account_exp` (account, expires_at); a single-column account index beside it would
be one more written at every start and heartbeat. The migration drops only that index: the
foreign key stays, so no row is re-validated under a lock. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

TABLE = "catalog_playbacksession"


def _constraints() -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, TABLE)


def _account_indexes(constraints: dict[str, dict]) -> list[list[str]]:
    return [
        c["columns"]
        for c in constraints.values()
        if c["index"] and not c["primary_key"] and c["columns"][:1] == ["account_id"]
    ]


@pytest.mark.django_db
def test_the_account_has_one_index_that_leads_with_it_and_keeps_its_foreign_key():
    constraints = _constraints()
    assert _account_indexes(constraints) == [["account_id", "expires_at"]]
    assert any(
        c["foreign_key"] == ("accounts_user", "id") and c["columns"] == ["account_id"]
        for c in constraints.values()
    )


@pytest.mark.slow
def test_the_migration_drops_the_index_keeps_the_rows_and_goes_back(migrator_factory):
    migrator = migrator_factory()
    old = migrator.apply_initial_migration(("playback", "0003_activity_scan_indexes"))
    assert sorted(_account_indexes(_constraints())) == [
        ["account_id"],
        ["account_id", "expires_at"],
    ]
    user = old.apps.get_model("accounts", "User").objects.create(
        email="ix@example.com", password="!"
    )
    profile = old.apps.get_model("accounts", "Profile").objects.create(account=user, name="Ix")
    title = old.apps.get_model("catalog", "Title").objects.create(
        name="Ix", slug="ix", kind="movie"
    )

    now = timezone.now()
    old.apps.get_model("playback", "PlaybackSession").objects.create(
        account=user, profile=profile, title=title, max_height=720, expires_at=now
    )

    new = migrator.apply_tested_migration(("playback", "0004_session_account_index_covered"))
    assert _account_indexes(_constraints()) == [["account_id", "expires_at"]]
    sessions = new.apps.get_model("playback", "PlaybackSession").objects.filter(account_id=user.pk)
    assert sessions.count() == 1

    migrator.apply_tested_migration(("playback", "0003_activity_scan_indexes"))
    assert sorted(_account_indexes(_constraints())) == [
        ["account_id"],
        ["account_id", "expires_at"],
    ]
    migrator.reset()
