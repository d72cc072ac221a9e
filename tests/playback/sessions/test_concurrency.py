"""Simultaneous session starts of one account never exceed the plan's stream limit, whichever
way the claim's statements are bound (tests/conftest.py `binding`)."""

import threading

import pytest
from django.db import connection, connections

from playback.models import PlaybackAccountLock, PlaybackSession
from playback.services import sessions as services
from streamsite.errors import Conflict
from tests.playback.sessions.factories import ProfileFactory


def race(account, title, profiles) -> list[str]:
    """Each profile starts `title` on a thread of its own, all released at once; the
    outcomes ("started" or "refused"), in no particular order."""
    barrier = threading.Barrier(len(profiles))
    outcomes: list[str] = []

    def play(profile):
        try:
            barrier.wait(timeout=10)
            services.session_start(account=account, profile=profile, title=title)
            outcomes.append("started")
        except Conflict:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=play, args=(p,)) for p in profiles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks are a PostgreSQL matter; SQLite serialises every writer anyway",
)
@pytest.mark.django_db(transaction=True)
def test_threads_starting_at_once_never_exceed_the_limit(alice, movie, limit, binding):
    limit(max_streams=2)
    profiles = [ProfileFactory(account=alice, name=f"P{i}") for i in range(6)]
    outcomes = race(alice, movie, profiles)
    assert sorted(outcomes) == ["refused"] * 4 + ["started"] * 2
    assert PlaybackSession.objects.filter(account=alice, ended_at__isnull=True).count() == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks are a PostgreSQL matter; SQLite serialises every writer anyway",
)
@pytest.mark.django_db(transaction=True)
def test_threads_starting_at_once_with_the_lock_row_there_and_one_stream_playing(
    alice, movie, limit, binding
):
    """The steady state: the account's lock row exists (the upsert's conflict branch is what
    locks it) and one stream already plays, so exactly one of six racing starts may join it."""
    limit(max_streams=2)
    first = ProfileFactory(account=alice, name="Playing")
    services.session_start(account=alice, profile=first, title=movie)
    profiles = [ProfileFactory(account=alice, name=f"P{i}") for i in range(6)]
    outcomes = race(alice, movie, profiles)
    assert sorted(outcomes) == ["refused"] * 5 + ["started"]
    assert PlaybackSession.objects.filter(account=alice, ended_at__isnull=True).count() == 2
    assert PlaybackAccountLock.objects.filter(account=alice).count() == 1
