"""Playback start's query count (docs/benchmarks.md, the HTTP bench): fixed, whatever the
number of streams the account already has playing or the renditions the title has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
    with CaptureQueriesContext(connection) as ctx:
        response = start(alice_client, movie)
    assert response.status_code == 201, response.content
    # profile, title, availability, asset + renditions + subtitles, lock upsert, lock,
    # live leases, insert, resume position, steering decision, entitlements: no per-stream
    # or per-rendition query
    # (the account's first start also creates its lock row and looks up its plan: 16)
    assert len(ctx.captured_queries) <= 16, [q["sql"][:80] for q in ctx.captured_queries]
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(writes) <= 3


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
