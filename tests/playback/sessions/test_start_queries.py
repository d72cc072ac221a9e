"""Playback start's query count (docs/benchmarks.md, the HTTP bench): fixed, whatever the
number of streams the account already has playing or the renditions the title has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdn import steering
from playback.services import leases
from playback.services import sessions as services
from tests.catalog.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def start(client, movie):
    return client.post("/api/v1/playback/sessions", {"title_id": movie.pk}, format="json")


@pytest.mark.parametrize("playing", [0, 3])
def test_start_query_count_is_fixed(alice_client, alice, movie, limit, playing):
    limit(max_streams=10)
    for i in range(playing):
        profile = ProfileFactory(account=alice, name=f"P{i}")
        services.session_start(account=alice, profile=profile, title=movie)
    steering.holder.get()  # the process's steering map, loaded once (4 queries) in a process
    with CaptureQueriesContext(connection) as ctx:
        response = start(alice_client, movie)
    assert response.status_code == 201, response.content
    sql = [q["sql"] for q in ctx.captured_queries]
    shapes = [_shape(q) for q in sql]
    assert shapes == [
        "SELECT accounts_profile",  # X-Profile-Id (remembered per process in production)
        "SELECT catalog_title",
        "SELECT availability",
        "SELECT catalog_mediaasset",  # a local asset: no renditions to prefetch
        *CLAIM,
    ], "\n".join(q[:100] for q in sql)


# The claim: the lock row (locked by the upsert itself), the lease unless the live ones fill
# the plan, the steering decision with the lease, and the resume position. On PostgreSQL one
# round trip, run as one transaction (streamsite.prebuilt.OneTrip; in a savepoint inside the
# test's transaction, where production has none): one message when binding client-side, four
# statements of one pipeline when binding server-side (DATABASE_PREPARE_THRESHOLD); elsewhere
# statement by statement.
CLAIM_STATEMENTS = [
    "UPSERT catalog_playbackaccountlock",
    "INSERT catalog_playbacksession",
    "INSERT cdn_steeringdecision",
    "SELECT catalog_progress",
]
if connection.vendor != "postgresql":
    CLAIM = ["SAVEPOINT", *CLAIM_STATEMENTS[:3], "RELEASE SAVEPOINT", CLAIM_STATEMENTS[3]]
elif connection.features.uses_server_side_binding:
    CLAIM = ["SAVEPOINT", *CLAIM_STATEMENTS, "RELEASE SAVEPOINT"]
else:
    CLAIM = ["SAVEPOINT", " + ".join(CLAIM_STATEMENTS), "RELEASE SAVEPOINT"]


def _shape(sql: str) -> str:
    """A statement's kind and main table, enough to tell the start's statements apart; the
    statements of one message joined by " + "."""
    if ";\n" in sql:
        return " + ".join(_shape(part) for part in sql.split(";\n"))
    words = sql.replace('"', "").split()
    if words[0] in ("SAVEPOINT", "RELEASE"):
        return "RELEASE SAVEPOINT" if words[0] == "RELEASE" else "SAVEPOINT"
    if words[0] == "INSERT":
        kind = "UPSERT" if "ON CONFLICT" in sql and "DO UPDATE" in sql else "INSERT"
        return f"{kind} {words[2]}"
    if "catalog_availability" in sql:
        return "SELECT availability"
    if words[1].startswith("COUNT("):
        return f"COUNT {words[words.index('FROM') + 1]}"
    return f"SELECT {words[words.index('FROM') + 1]}"


def test_start_query_count_does_not_grow_with_streams(alice_client, alice, movie, limit):
    limit(max_streams=10)
    with CaptureQueriesContext(connection) as first:
        assert start(alice_client, movie).status_code == 201
    for i in range(4):
        profile = ProfileFactory(account=alice, name=f"Q{i}")
        services.session_start(account=alice, profile=profile, title=movie)
    with CaptureQueriesContext(connection) as later:
        assert start(alice_client, movie).status_code == 201
    assert len(later.captured_queries) == len(first.captured_queries)


def test_a_start_still_counts_a_new_lease_for_the_metrics(alice_client, movie, limit):
    """The lease is inserted by streamsite.prebuilt, not save(): its post_save (the metrics'
    counter of new leases) must still run, and a refused start must not count."""
    from streamsite.metrics import PLAYBACK_SESSIONS

    limit(max_streams=1)
    before = PLAYBACK_SESSIONS._value.get()
    assert start(alice_client, movie).status_code == 201
    assert PLAYBACK_SESSIONS._value.get() == before + 1
    assert start(alice_client, movie).status_code == 409
    assert PLAYBACK_SESSIONS._value.get() == before + 1


def test_the_start_s_body_is_what_its_serializer_answers(alice_client, movie, media_root, limit):
    """The response is built by streamsite.api.output.Representer (fields built once), the
    schema documents StartedSerializer: the two agree on real starts of a movie and of an
    episode with a next one, and on a payload with every nullable field empty."""
    from playback.apis import sessions as apis
    from tests.catalog.factories import EpisodeFactory
    from tests.playback.sessions.conftest import write_fake_asset

    limit(max_streams=10)
    payloads = []
    original = apis.started_payload

    def spy(request, started):
        payloads.append(original(request, started))
        return payloads[-1]

    first = EpisodeFactory(number=1, name="Pilot")
    EpisodeFactory(season=first.season, number=2, name="Second")
    write_fake_asset(media_root, f"episode-{first.pk}")
    apis.started_payload = spy
    try:
        bodies = [
            start(alice_client, movie).json(),
            alice_client.post(
                "/api/v1/playback/sessions", {"episode_id": first.pk}, format="json"
            ).json(),
        ]
    finally:
        apis.started_payload = original
    empty = {
        **payloads[0],
        "duration_seconds": None,
        "trickplay": None,
        "episode": None,
        "next_episode": None,
        "markers": {"intro_start": 3},
    }
    for payload in [*payloads, empty]:
        assert apis.represent_started(payload) == dict(apis.StartedSerializer(payload).data)
    assert bodies[1]["next_episode"]["name"] == "Second"
    assert isinstance(bodies[0]["lease_expires_at"], str)


def test_the_limit_in_the_insert_counts_what_live_counts(alice, bob, movie, limit):
    """The lease's INSERT counts the live leases in SQL (leases.at_limit); PlaybackSession's
    `live()` is the rule. Ended, expired and other accounts' leases are left out by both."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from playback.models import PlaybackSession

    limit(max_streams=10)
    now = timezone.now()
    alice_profile = ProfileFactory(account=alice, name="A")
    for account, profile in ((alice, alice_profile), (bob, ProfileFactory(account=bob, name="B"))):
        for _ in range(2):
            services.session_start(account=account, profile=profile, title=movie, now=now)
    ended = PlaybackSession.objects.filter(account=alice).first()
    PlaybackSession.objects.filter(pk=ended.pk).update(ended_at=now)
    services.session_start(account=alice, profile=alice_profile, title=movie, now=now)
    expired = PlaybackSession.objects.filter(account=alice, ended_at__isnull=True).first()
    PlaybackSession.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(seconds=1))

    live = PlaybackSession.objects.live(now).for_account(alice.pk).count()
    assert live == 1  # three started, one ended, one expired
    for at_most in (live, live + 1):
        sql, params = leases.at_limit(alice.pk, now, at_most)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 WHERE {sql}", params)
            assert (cursor.fetchone() is not None) is (live >= at_most), at_most
