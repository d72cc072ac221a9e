"""The concurrent-stream lease: a playback session is a lease on one of the account's
`max_streams` streams, claimed atomically under a per-account lock and refused with a 409 that
names the devices playing; it lives `lease_ttl()` past its last heartbeat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext, ngettext

from accounts.models import User
from playback.models import PlaybackAccountLock, PlaybackSession
from streamsite.errors import Conflict
from streamsite.prebuilt import insert_row_unless


def lease_ttl() -> timedelta:
    """How long a lease lives past its last heartbeat (or its start)."""
    return timedelta(seconds=settings.PLAYBACK_LEASE_SECONDS)


def _live_sessions_summary(sessions: list[PlaybackSession]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(s.pk),
            "device": s.device or "Unknown device",
            "profile": s.profile.name,
            "title": s.title.name,
            "started_at": s.created_at.isoformat(),
        }
        for s in sessions
    ]


def at_limit(account_id: int, now: datetime, max_streams: int) -> tuple[str, list[Any]]:
    """SQL true when the account already holds `max_streams` live leases (as
    PlaybackSession.objects.live(now).for_account(account_id) counts them), and its params."""
    table = connection.ops.quote_name(PlaybackSession._meta.db_table)
    sql = (
        f"(SELECT COUNT(*) FROM {table} WHERE account_id = %s"  # noqa: S608 - our table's name
        " AND ended_at IS NULL AND expires_at > %s) >= %s"
    )
    expires = PlaybackSession._meta.get_field("expires_at")
    return sql, [account_id, expires.get_db_prep_value(now, connection), max_streams]


def refuse(others: QuerySet[PlaybackSession], max_streams: int) -> NoReturn:
    """409 naming the account's playing devices (read only to word the refusal)."""
    live = list(others.select_related("profile", "title").order_by("created_at", "pk"))
    names = ", ".join(
        gettext("%(device)s (%(profile)s, session %(id)s)")
        % {"device": s.device or gettext("a device"), "profile": s.profile.name, "id": s.pk}
        for s in live
    )
    raise Conflict(
        _too_many_streams(max_streams, len(live))
        % {"max": max_streams, "live": len(live), "names": names},
        code="too_many_streams",
        extra={"sessions": _live_sessions_summary(live)},
    )


def lock_statement(account_id: int) -> tuple[str, list[Any]]:
    """The account's claim lock in one statement: an upsert of its lock row whose conflict
    branch updates the row, and so holds its row lock until commit, as `SELECT ... FOR UPDATE`
    would (a concurrent first claim waits on the row's unique key until the other commits, then
    on its lock). SQLite: the database write lock instead."""
    table = connection.ops.quote_name(PlaybackAccountLock._meta.db_table)
    sql = (
        f"INSERT INTO {table} (account_id) VALUES (%s) "  # noqa: S608 - our table's name
        "ON CONFLICT (account_id) DO UPDATE SET account_id = EXCLUDED.account_id"
    )
    return sql, [account_id]


def _lock_account(account_id: int) -> None:
    """Take the account's claim lock (inside a transaction): `lock_statement`."""
    with connection.cursor() as cursor:
        cursor.execute(*lock_statement(account_id))


def lease_exists(session: PlaybackSession) -> tuple[str, list[Any]]:
    """SQL true once `session`'s row is in (its own transaction sees it), and its params."""
    table = connection.ops.quote_name(PlaybackSession._meta.db_table)
    pk = PlaybackSession._meta.pk
    assert pk is not None
    sql = f"EXISTS (SELECT 1 FROM {table} WHERE id = %s)"  # noqa: S608 - our table's name
    return sql, [pk.get_db_prep_value(session.pk, connection)]


def claim_lease(
    *,
    account: User,
    max_streams: int,
    now: datetime,
    create: dict[str, Any] | None = None,
    revive: PlaybackSession | None = None,
    also: Callable[[], None] | None = None,
) -> PlaybackSession:
    """Create (or revive) a lease under the account's stream limit, atomically; `also` runs
    in the same transaction once the lease is there (a start records its steering decision
    with it: one commit).

    The per-account lock row serialises claims of one account on PostgreSQL (SQLite takes
    its database write lock with the lock row's upsert); under it a new lease is inserted
    unless the account's live leases already reach the limit, counted in the same statement (a
    statement after the lock, so it sees every claim committed before ours). The live leases
    themselves are read only to word a refusal.
    """
    with transaction.atomic():
        _lock_account(account.pk)
        live = PlaybackSession.objects.live
        if revive is not None:
            others = live(now).for_account(account.pk).exclude(pk=revive.pk)
            if others.count() >= max_streams:
                refuse(others, max_streams)
            PlaybackSession.objects.filter(pk=revive.pk, ended_at__isnull=True).update(
                expires_at=now + lease_ttl(), last_heartbeat_at=now
            )
            revive.expires_at = now + lease_ttl()
            session = revive
        else:
            assert create is not None
            session = PlaybackSession(
                account=account, created_at=now, expires_at=now + lease_ttl(), **create
            )
            # The count and the insert in one statement (the lock above keeps the count still).
            if not insert_row_unless(session, *at_limit(account.pk, now, max_streams)):
                refuse(live(now).for_account(account.pk), max_streams)
        if also is not None:
            also()
        return session


def _too_many_streams(max_streams: int, live: int) -> str:
    """The refusal's sentence: "stream(s)" follows the plan, "is/are" the live count."""
    if max_streams == 1:
        return ngettext(
            "Your plan allows %(max)d stream at a time and %(live)d is playing: %(names)s. "
            "Stop one of them (DELETE /api/v1/playback/sessions/<id>) to watch here.",
            "Your plan allows %(max)d stream at a time and %(live)d are playing: %(names)s. "
            "Stop one of them (DELETE /api/v1/playback/sessions/<id>) to watch here.",
            live,
        )
    return ngettext(
        "Your plan allows %(max)d streams at a time and %(live)d is playing: %(names)s. "
        "Stop one of them (DELETE /api/v1/playback/sessions/<id>) to watch here.",
        "Your plan allows %(max)d streams at a time and %(live)d are playing: %(names)s. "
        "Stop one of them (DELETE /api/v1/playback/sessions/<id>) to watch here.",
        live,
    )
