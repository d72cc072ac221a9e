"""Viewing activity in an account's export: history, progress, My List, ratings per profile,
and the devices that played. Named in ACCOUNTS_EXPORT_PROVIDERS (the export's "playback" key);
it only reads the activity models (their rows go with the profiles, by cascade, when the
account is deleted)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from playback.models import MyListEntry, PlaybackSession, Progress, ThumbRating, ViewingEvent


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export(account: User) -> dict[str, Any]:
    profiles: dict[int, dict[str, Any]] = {
        pk: {
            "profile_id": pk,
            "name": name,
            "history": [],
            "progress": [],
            "my_list": [],
            "ratings": [],
        }
        for pk, name in account.profiles.order_by("pk").values_list("pk", "name")
    }
    for e in (
        ViewingEvent.objects.filter(profile__account=account)
        .select_related("title", "episode")
        .order_by("occurred_at", "pk")
    ):
        profiles[e.profile_id]["history"].append(
            {
                "title": e.title.name,
                "episode": str(e.episode) if e.episode_id else None,
                "event": e.event_type,
                "at": _iso(e.occurred_at),
            }
        )
    for p in (
        Progress.objects.filter(profile__account=account)
        .select_related("title", "episode")
        .order_by("pk")
    ):
        profiles[p.profile_id]["progress"].append(
            {
                "title": p.title.name,
                "episode": str(p.episode) if p.episode_id else None,
                "completed": p.completed,
                "last_event_at": _iso(p.last_event_at),
            }
        )
    for m in MyListEntry.objects.filter(profile__account=account).select_related("title"):
        profiles[m.profile_id]["my_list"].append(
            {"title": m.title.name, "added_at": _iso(m.added_at)}
        )
    for r in ThumbRating.objects.filter(profile__account=account).select_related("title"):
        profiles[r.profile_id]["ratings"].append(
            {"title": r.title.name, "value": r.value, "rated_at": _iso(r.rated_at)}
        )
    return {
        "profiles": list(profiles.values()),
        "devices": [
            {
                "device": s.device,
                "started_at": _iso(s.created_at),
                "ended_at": _iso(s.ended_at),
            }
            for s in PlaybackSession.objects.filter(account=account).order_by("pk")
        ],
    }
