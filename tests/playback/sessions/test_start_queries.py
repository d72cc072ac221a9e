"""Playback start's query count (docs/benchmarks.md, the HTTP bench): fixed, whatever the
number of streams the account already has playing or the renditions the title has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdn import steering
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
    # profile, title, availability, asset (its renditions and subtitles prefetched when it
    # has them), then in one transaction (here a savepoint) the lock row's upsert, its lock,
    # the live leases and the insert; the resume position and the steering decision: no
    # per-stream or per-rendition query.
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 12, "\n".join(q[:90] for q in sql)
    writes = [q for q in sql if q.startswith("INSERT")]
    assert len(writes) == 3  # the lock row (upsert), the lease, the steering decision


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
