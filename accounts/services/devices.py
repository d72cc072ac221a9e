"""Devices and browser sessions: touch, re-key, revoke."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from accounts import session_store, token_cache
from accounts.models import User, UserSession
from accounts.useragent import device_name
from audit.services import record
from streamsite.errors import NotFound

# A device's last_seen_at is written at most this often.
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)


def session_touch(
    *,
    user_id: int,
    session_key: str,
    user_agent: str,
    ip: str | None,
    now: datetime | None = None,
) -> None:
    """Record that a session was seen (creates its device row on first sight)."""
    now = now or timezone.now()
    updated = UserSession.objects.filter(session_key=session_key, user_id=user_id).update(
        last_seen_at=now, ip=ip
    )
    if updated:
        return
    try:
        with transaction.atomic():
            UserSession.objects.create(
                session_key=session_key,
                user_id=user_id,
                user_agent=user_agent[:400],
                device_name=device_name(user_agent),
                ip=ip,
                location=_locate(ip),
                created_at=now,
                last_seen_at=now,
            )
    except IntegrityError:
        pass  # recorded concurrently, or the key moved to another user: leave it


def session_rekey(*, old_key: str, new_key: str) -> None:
    """The session kept its sign-in under a new key (rotation): move its device row."""
    if old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def session_forget(*, session_key: str) -> None:
    """The session ended (signed out): drop its device row."""
    UserSession.objects.filter(session_key=session_key).delete()


def _locate(ip: str | None) -> str:
    path = settings.ACCOUNTS_GEOIP_PATH
    if not path or not ip:
        return ""
    try:
        from django.contrib.gis.geoip2 import GeoIP2

        city = GeoIP2(path).city(ip)
    except Exception:  # noqa: BLE001 - location is a nicety; never fail a request over it
        return ""
    parts = [city.get("city"), city.get("country_name")]
    return ", ".join(p for p in parts if p)[:100]


@transaction.atomic
def session_revoke(*, user: User, session_id: int) -> None:
    """Sign out one device of the user's; another user's id is 404."""
    row = UserSession.objects.filter(pk=session_id, user=user).first()
    if row is None:
        raise NotFound(gettext("No such session."))
    session_store.delete_sessions([row.session_key])
    record(action="session.revoke", obj=user, before={"device": row.device_name, "ip": row.ip})
    row.delete()


@transaction.atomic
def sessions_revoke_all(*, user: User, keep_session_key: str | None = None) -> int:
    """Sign out every session of the account (but `keep_session_key`); returns how many.

    Bumping session_epoch changes the session auth hash, which signs out even sessions that
    were never recorded; the kept session must then be re-hashed by the caller
    (django.contrib.auth.update_session_auth_hash).
    """
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    token_cache.auth_changed()  # users remembered for sessions: the hash changed
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    session_store.delete_sessions(keys)
    rows.delete()
    record(action="session.revoke_all", obj=user, after={"sessions_ended": len(keys)})
    return len(keys)
