"""The rows endpoint with the cache on (recommendations.rows_cache): a repeated request is one
cache round trip (its keys ride along with the shared counters') and no query, the body
follows every change it was built from: recomputed rows, a catalogue change, a new live
model; and a cached body is only ever the named profile's own account's."""

from __future__ import annotations

import time

import pytest
import redis as redis_py
from django.core.cache import cache, caches

from catalog.models import Title
from recommendations import rows, rows_cache
from tests.clients import follow_auth_epoch, token_client
from tests.recommendations.test_api import ROWS, world  # noqa: F401 - the fixture
from tests.streamsite.conftest import needs_redis_server
from tests.streamsite.conftest import own_redis as own_redis  # the fixture
from tests.streamsite.conftest import redis_server as redis_server  # the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.CATALOG_CACHE_SECONDS = 300


def get_rows(world, profile=None, **headers):  # noqa: F811
    profile = profile or world["owner"]
    return world["client"].get(ROWS, HTTP_X_PROFILE_ID=str(profile.pk), **headers)


def test_a_repeated_request_costs_no_query(world, django_assert_num_queries):  # noqa: F811
    first = get_rows(world)  # computes the rows (normally precomputed by a task)
    assert first.status_code == 200 and first.json()["rows"]
    get_rows(world)  # the body is cached once it was built from rows already stored
    with django_assert_num_queries(0):  # the profile named by X-Profile-Id is remembered
        again = get_rows(world)
    assert again.content == first.content
    assert get_rows(world, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_renaming_a_title_in_a_row_changes_the_body(world):  # noqa: F811
    body = get_rows(world).json()
    shown = body["rows"][0]["titles"][0]
    title = Title.objects.get(pk=shown["id"])
    title.name = "Renamed Everywhere"
    title.save()
    again = get_rows(world).json()
    assert again["rows"][0]["titles"][0]["name"] == "Renamed Everywhere"


def test_recomputed_rows_change_the_body(world, monkeypatch):  # noqa: F811
    owner = world["owner"]
    get_rows(world)
    first = get_rows(world)  # the body is cached from the second request on
    assert cache.get(rows_cache.body_key(owner.pk)) is not None
    computed = rows.compute_rows(owner)
    fresh = [rows.Row(**{**vars(computed[0]), "label": "Freshly Computed"})]
    monkeypatch.setattr(rows, "compute_rows", lambda profile: fresh)
    rows.rows_store(owner)  # what the recomputation task does
    again = get_rows(world)
    assert [r["label"] for r in again.json()["rows"]] == ["Freshly Computed"]
    assert again["ETag"] != first["ETag"]


def test_an_entry_without_its_digest_is_still_told_apart(world):  # noqa: F811
    owner = world["owner"]
    get_rows(world)
    get_rows(world)
    key = rows.cache_key_prefix(owner.pk)
    entry = cache.get(key)
    del entry["digest"]  # written before entries carried one
    entry["rows"] = [{**entry["rows"][0], "label": "Written Before"}]
    cache.set(key, entry)
    assert [r["label"] for r in get_rows(world).json()["rows"]] == ["Written Before"]


def test_profiles_do_not_share_a_body(world):  # noqa: F811
    get_rows(world)
    owner_rows = get_rows(world)
    assert cache.get(rows_cache.body_key(world["owner"].pk)) is not None
    for _ in range(2):
        kid_rows = get_rows(world, world["kid"])
    assert kid_rows["ETag"] != owner_rows["ETag"]
    kid_ids = {t["id"] for r in kid_rows.json()["rows"] for t in r["titles"]}
    assert world["titles"][0].pk not in kid_ids  # rated R: never in a kid's cached body


def test_a_new_live_model_drops_the_cached_live_version(world):  # noqa: F811
    from recommendations import services

    get_rows(world)
    assert cache.get(rows_cache.LIVE_KEY) is not None
    version = services.train(algorithm="ease", params={"lambda_": 20.0})
    if version.status != "live":
        services.promote(version=version)
    assert cache.get(rows_cache.LIVE_KEY) in (None, version.pk)
    get_rows(world)
    assert cache.get(rows_cache.LIVE_KEY) == version.pk


def test_a_repeated_request_reads_its_body_with_the_counters(world, monkeypatch):  # noqa: F811
    get_rows(world)
    first = get_rows(world)
    reads: list[tuple[str, tuple]] = []
    inside = [False]  # the local-memory cache's get_many calls get per key

    def counting(name, original):
        def wrapper(keys, *args, **kwargs):
            outer = not inside[0]
            if outer and (keys or name == "get"):  # no keys: a throttle window counted alone
                reads.append((name, tuple(keys) if name != "get" else (keys,)))
            inside[0] = True
            try:
                return original(keys, *args, **kwargs)
            finally:
                inside[0] = not outer

        return wrapper

    for name in ("get", "get_many", "get_many_and_count"):
        if hasattr(cache, name):
            monkeypatch.setattr(cache, name, counting(name, getattr(cache, name)))
    again = get_rows(world)
    assert again.content == first.content
    # one read in all: the shared counters', with the rows keys riding along
    assert len(reads) == 1, reads
    assert rows_cache.body_key(world["owner"].pk) in reads[0][1]


@pytest.mark.parametrize("who", ["other", "staff"])
def test_a_cached_body_is_refused_to_another_account(world, who):  # noqa: F811
    owner_body = get_rows(world)
    get_rows(world)
    assert cache.get(rows_cache.body_key(world["owner"].pk)) is not None
    response = world[who].get(ROWS, HTTP_X_PROFILE_ID=str(world["owner"].pk))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_profile"
    assert owner_body.content not in response.content


@needs_redis_server
@pytest.mark.needs_process  # a redis-server of its own
def test_a_cached_rows_request_makes_no_round_trip(own_redis, world, redis_trips):  # noqa: F811
    """A real token; the shared counters, the rows keys and the throttle window all held by the
    process. A change another process makes still reaches the body."""
    made = redis_trips
    owner = world["owner"]
    client = token_client(owner.account, profile=owner)
    follow_auth_epoch()
    first = client.get(ROWS)
    assert first.status_code == 200 and first.json()["rows"]
    for _ in range(3):  # the token remembered, the body stored, the copies taken
        client.get(ROWS)
    before = len(made)
    again = client.get(ROWS)
    assert again.content == first.content
    assert made[before:] == []  # no Redis round trip at all
    # Another process renames a title in the rows and bumps the catalogue version in Redis:
    # this process hears of it and the body follows.
    shown = first.json()["rows"][0]["titles"][0]["id"]
    Title.objects.filter(pk=shown).update(name="Renamed Elsewhere")
    default = caches["default"]
    redis_py.Redis.from_url(own_redis.url).incr(default.make_key("catalog:version"))
    deadline = time.monotonic() + 2
    while b"Renamed Elsewhere" not in client.get(ROWS).content:
        assert time.monotonic() < deadline, "the rename never reached the cached body"
        time.sleep(0.005)
