"""The shared cache serves one database's site: /readyz fails for a second one, and
`cache_claim --empty` hands it to a database that took another's place."""

from io import StringIO

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command

from streamsite import cache_claim
from streamsite.models import DatabaseIdentity
from tests.streamsite.conftest import needs_redis_server

ANOTHER = "a" * 32


@pytest.mark.django_db
def test_a_database_names_itself_once():
    first = cache_claim.database_token()
    assert len(first) == 32
    assert cache_claim.database_token() == first
    assert DatabaseIdentity.objects.count() == 1


@pytest.mark.django_db
def test_readyz_claims_an_unclaimed_cache_for_this_database(client):
    assert cache_claim.holder() is None
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert cache_claim.holder() == cache_claim.database_token()
    # And stays ready under its own claim.
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_fails_while_the_cache_serves_another_database(client):
    cache.set(cache_claim.CLAIM_KEY, ANOTHER, timeout=None)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["cache"]
    detail = body["checks"]["cache"]["detail"]
    assert "another database's site" in detail
    assert "CACHE_KEY_PREFIX" in detail and "cache_claim --empty" in detail
    assert cache_claim.holder() == ANOTHER  # not taken over by the second site


@pytest.mark.django_db
def test_the_claim_is_written_again_after_the_cache_lost_it(client):
    assert client.get("/readyz").status_code == 200
    cache.clear()  # Redis restarted (no persistence) or emptied
    assert client.get("/readyz").status_code == 200
    assert cache_claim.holder() == cache_claim.database_token()


@pytest.mark.django_db
def test_the_command_says_whose_the_cache_is():
    out = StringIO()
    call_command("cache_claim", stdout=out)
    assert "Nobody has claimed" in out.getvalue()
    cache_claim.check()
    out = StringIO()
    call_command("cache_claim", stdout=out)
    assert "serves this database" in out.getvalue()
    cache.set(cache_claim.CLAIM_KEY, ANOTHER, timeout=None)
    out = StringIO()
    call_command("cache_claim", stdout=out)
    assert "serves another database (aaaaaaaa" in out.getvalue()
    assert "--empty" in out.getvalue()


@needs_redis_server
@pytest.mark.needs_process  # a redis-server of its own
@pytest.mark.django_db
def test_a_replaced_database_empties_only_its_own_prefix_and_is_ready_again(
    own_redis, settings, client
):
    settings.CACHES = {
        "default": {
            "BACKEND": "streamsite.cache.FailSoftRedisCache",
            "LOCATION": own_redis.url,
            "KEY_PREFIX": "site-a",
        }
    }
    # The CDN health store under the site's prefix, as CDN_REDIS_PREFIX's default puts it.
    settings.CDN_REDIS_URL = own_redis.url
    settings.CDN_REDIS_PREFIX = "site-a:cdn"
    from cdn.health import get_store
    from cdn.snapshot import EdgeHealth

    get_store().publish_health({7: EdgeHealth(up=False, load=0.5)})
    raw = redis.Redis.from_url(own_redis.url)
    raw.set("site-b:1:accounts:auth-epoch", b"7")  # another site's key in the same database

    assert client.get("/readyz").status_code == 200
    cache.set("billing:entitlements:5", {"plan": "premium"}, timeout=None)
    assert raw.exists("site-a:1:site:database")

    # This database is replaced by another one (restored elsewhere, recreated): a new token.
    DatabaseIdentity.objects.update(token="b" * 32)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]

    out = StringIO()
    call_command("cache_claim", "--empty", stdout=out)
    assert "Deleted 4 keys under prefix 'site-a'" in out.getvalue()
    assert cache.get("billing:entitlements:5") is None  # the old database's account 5
    assert get_store().read_health() == (0, {})  # and the old database's edge 7
    assert raw.get("site-b:1:accounts:auth-epoch") == b"7"  # the other site's, untouched
    assert cache_claim.holder() == "b" * 32
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_a_database_down_fails_the_database_check_only(client):
    from unittest import mock

    from django.db import OperationalError, connections

    with mock.patch.object(
        type(connections["default"]), "cursor", side_effect=OperationalError("refused")
    ):
        body = client.get("/readyz").json()
    assert body["failed"] == ["database"]
    assert body["checks"]["cache"]["ok"] is True
    assert body["checks"]["cache"]["detail"] == "claim not checked: the database did not answer"


def test_the_command_names_an_unmigrated_database(transactional_db):
    from django.core.management.base import CommandError
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.delete_model(DatabaseIdentity)
    try:
        with pytest.raises(CommandError, match="is it migrated"):
            call_command("cache_claim", stdout=StringIO())
        # Readiness skips the claim rather than fail the cache for it (a rolling deploy's new
        # code can run before its migration); the database check would name a dead database.
        assert cache_claim.check() == "claim not checked: the database did not answer"
    finally:
        with connection.schema_editor() as editor:
            editor.create_model(DatabaseIdentity)


@pytest.mark.django_db
def test_the_check_claims_or_fails_as_readyz_does():
    from django.core.management.base import CommandError

    out = StringIO()
    call_command("cache_claim", "--check", stdout=out)  # nobody's: claimed
    assert "serves this database" in out.getvalue()
    assert cache_claim.holder() == cache_claim.database_token()
    call_command("cache_claim", "--check", stdout=StringIO())  # its own: still fine

    cache.set(cache_claim.CLAIM_KEY, ANOTHER, timeout=None)
    with pytest.raises(CommandError, match="serves another database's site"):
        call_command("cache_claim", "--check", stdout=StringIO())
    assert cache_claim.holder() == ANOTHER


@needs_redis_server
@pytest.mark.needs_process  # a redis-server of its own
def test_unlink_prefix_takes_exactly_the_prefix_in_batches(redis_server):
    from streamsite.redis_keys import unlink_prefix

    raw = redis.Redis.from_url(redis_server.url)
    raw.mset({f"a*b:{i}": i for i in range(1201)})
    # What an unescaped "a*b:*" would match too, and a longer prefix: both stay.
    raw.mset({"axb:1": 1, "a*bc:1": 1, "a*b": 1})
    batches: list[int] = []
    assert unlink_prefix(raw, "a*b", progress=batches.append) == 1201
    assert batches == [500, 500, 201]
    assert sorted(raw.keys()) == [b"a*b", b"a*bc:1", b"axb:1"]
