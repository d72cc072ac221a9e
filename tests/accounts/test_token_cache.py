"""Verified API tokens are remembered per process, and forgotten on any change that matters."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts import authentication, services, token_cache
from accounts.models import ApiToken
from tests import clients

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(alice):
    client = clients.token_client(alice, name="cli")
    clients.follow_auth_epoch()  # as a running server does (creating the token moved it)
    return client


def who(client) -> str:
    """Who the API says the caller is: the account's email, or the refusal's error code."""
    response = client.get("/api/v1/me")
    if response.status_code == 200:
        return response.json()["email"]
    assert response.status_code == 401
    return response.json()["error"]["code"]


def steering(client) -> str:
    """ "allowed" when the steering API answers with a decision, else the refusal's code."""
    body = {"client_ip": "10.0.0.1", "content_key": "hls/a/v1/"}
    response = client.post("/api/v1/cdn/steer", body, format="json")
    if response.status_code == 200:
        assert response.json().keys() >= {"urls"}, response.json()
        return "allowed"
    assert response.status_code == 403
    return response.json()["error"]["code"]


ALICE = "alice@example.com"
REFUSED = "authentication_failed"  # a token that no longer holds (not: no credentials)


def _token_queries(client, path="/api/v1/me"):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    sql = [q["sql"] for q in captured.captured_queries]
    return response, [s for s in sql if "accounts_apitoken" in s or "auth_permission" in s]


def test_a_remembered_token_costs_no_token_or_permission_query(token_client):
    first, queries = _token_queries(token_client)
    assert first.status_code == 200
    assert any("accounts_apitoken" in s for s in queries)
    again, queries = _token_queries(token_client)
    assert again.status_code == 200
    assert queries == []


def test_revoking_is_seen_on_the_next_request(alice, token_client):
    assert who(token_client) == ALICE
    token = ApiToken.objects.get(user=alice)
    services.api_token_revoke(user=alice, token_id=token.pk)
    assert who(token_client) == REFUSED


def test_deactivating_the_account_is_seen_on_the_next_request(alice, token_client):
    assert who(token_client) == ALICE
    services.account_deactivate(user=alice)
    assert who(token_client) == REFUSED


def test_a_permission_taken_away_is_seen_on_the_next_request(alice, token_client):
    perm = Permission.objects.get(codename="use_steering")
    alice.user_permissions.add(perm)
    assert steering(token_client) == "allowed"
    alice.user_permissions.remove(perm)
    assert steering(token_client) == "permission_denied"


def test_another_process_bumping_the_epoch_makes_this_one_look_again(alice, token_client):
    assert who(token_client) == ALICE
    # Another process revoked the token: its write (no signal here) and its epoch bump.
    ApiToken.objects.filter(user=alice).update(revoked_at=timezone.now())
    assert who(token_client) == ALICE  # still remembered here
    cache.add(token_cache.EPOCH_KEY, 0, timeout=None)
    cache.incr(token_cache.EPOCH_KEY)
    assert who(token_client) == REFUSED


def test_a_token_read_while_the_epoch_moved_is_not_remembered(alice, monkeypatch):
    """A token's first request reads its row before the epoch: when the epoch it then reads is
    not the one the process knew before the row, a change may have raced the row, and the
    token is looked up again on its next request."""
    client = clients.token_client(alice, name="cli")
    clients.follow_auth_epoch()
    original = token_cache._token_with_profile

    def row_then_change(digest, profile_id):
        token = original(digest, profile_id)
        cache.incr(token_cache.EPOCH_KEY)  # another process's change, after the row was read
        return token

    monkeypatch.setattr(token_cache, "_token_with_profile", row_then_change)
    assert who(client) == ALICE
    monkeypatch.setattr(token_cache, "_token_with_profile", original)
    again, queries = _token_queries(client)
    assert again.status_code == 200
    assert any("accounts_apitoken" in s for s in queries)  # looked up again ...
    third, queries = _token_queries(client)
    assert third.status_code == 200
    assert queries == []  # ... and remembered from then on


def test_a_revocation_racing_a_first_request_is_seen_on_the_next(alice, monkeypatch):
    client = clients.token_client(alice, name="cli")
    clients.follow_auth_epoch()
    original = token_cache._token_with_profile

    def row_then_revoke(digest, profile_id):
        token = original(digest, profile_id)
        services.api_token_revoke(user=alice, token_id=token.pk)  # bumps the epoch
        return token

    monkeypatch.setattr(token_cache, "_token_with_profile", row_then_revoke)
    assert who(client) == ALICE  # the row was read before the revocation
    monkeypatch.setattr(token_cache, "_token_with_profile", original)
    assert who(client) == REFUSED


def _lookups() -> tuple[float, float]:
    """streamsite_api_token_lookups_total so far: (from memory, from the database)."""
    name = "streamsite_api_token_lookups_total"
    memory = REGISTRY.get_sample_value(name, {"source": "memory"}) or 0.0
    database = REGISTRY.get_sample_value(name, {"source": "database"}) or 0.0
    return memory, database


def _counted_since(before: tuple[float, float]) -> tuple[float, float]:
    after = _lookups()
    return after[0] - before[0], after[1] - before[1]


def test_each_verification_is_counted_by_where_the_token_was_found(alice, token_client):
    before = _lookups()
    assert who(token_client) == ALICE
    assert _counted_since(before) == (0, 1)  # the token's first request here: the database
    assert who(token_client) == ALICE
    assert _counted_since(before) == (1, 1)  # remembered
    services.api_token_revoke(user=alice, token_id=ApiToken.objects.get(user=alice).pk)
    assert who(token_client) == REFUSED
    assert _counted_since(before) == (1, 2)  # the epoch moved: looked up again, and refused


def test_with_the_cache_off_every_verification_counts_as_the_database(token_client, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    before = _lookups()
    assert who(token_client) == ALICE
    assert who(token_client) == ALICE
    assert _counted_since(before) == (0, 2)


def test_with_the_cache_off_every_request_looks_the_token_up(token_client, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    for _ in range(2):
        response, queries = _token_queries(token_client)
        assert response.status_code == 200
        assert any("accounts_apitoken" in s for s in queries)


def test_each_request_gets_its_own_user_object(token_client, monkeypatch):
    seen = []
    original = authentication.ApiTokenAuthentication.authenticate

    def spy(self, request):
        result = original(self, request)
        if result:
            seen.append(result[0])
        return result

    monkeypatch.setattr(authentication.ApiTokenAuthentication, "authenticate", spy)
    token_client.get("/api/v1/me")
    token_client.get("/api/v1/me")
    assert len(seen) == 2 and seen[0] is not seen[1] and seen[0].pk == seen[1].pk


def test_a_permission_held_through_a_group_counts_and_leaving_the_group_ends_it(
    alice, token_client
):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="playback services")
    group.permissions.add(Permission.objects.get(codename="use_steering"))
    assert steering(token_client) == "permission_denied"
    alice.groups.add(group)
    assert steering(token_client) == "allowed"
    alice.groups.remove(group)
    assert steering(token_client) == "permission_denied"


def test_with_the_shared_cache_away_tokens_are_looked_up_every_time(
    alice, token_client, monkeypatch
):
    assert who(token_client) == ALICE

    def away(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(token_cache.cache, "get", away)
    monkeypatch.setattr(token_cache.cache, "get_many", away)  # a request's shared counters
    if hasattr(token_cache.cache, "get_many_and_count"):  # ... as Redis reads them
        monkeypatch.setattr(token_cache.cache, "get_many_and_count", away)
    ApiToken.objects.filter(user=alice).update(revoked_at=timezone.now())  # no signal
    assert who(token_client) == REFUSED


def test_what_one_request_caches_on_its_user_does_not_reach_the_next(alice):
    from accounts import tokens

    _, plaintext = services.api_token_create(user=alice, name="shared")
    digest = tokens.digest(plaintext)
    _, first = token_cache.lookup(digest)
    first._state.fields_cache["subscription"] = "stale"
    first.country = "ZZ"
    _, second = token_cache.lookup(digest)
    assert "subscription" not in second._state.fields_cache
    assert second.country != "ZZ"


def test_each_profile_lookup_is_its_own_copy_with_its_own_state(alice):
    from accounts.models import Maturity

    profile = services.profile_create(account=alice, name="Sam", maturity=Maturity.ADULTS)
    first = token_cache.profile_lookup(profile.pk, alice)
    first.name = "changed in one request"
    first._state.fields_cache["avatar"] = "stale"
    first._state.adding = True
    second = token_cache.profile_lookup(profile.pk, alice)
    assert second is not first and second.pk == profile.pk
    assert second.name == profile.name
    assert "avatar" not in second._state.fields_cache
    assert second._state.adding is False and second._state.db == first._state.db
    assert second.account is alice


def _queries(fn):
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return result, [q["sql"] for q in captured.captured_queries]


def test_a_token_s_first_lookup_reads_the_named_profile_in_the_same_query(alice, bob):
    from accounts import tokens
    from accounts.models import Maturity

    profile = services.profile_create(account=alice, name="Sam", maturity=Maturity.ADULTS)
    others = services.profile_create(account=bob, name="Bo", maturity=Maturity.ADULTS)
    _, plaintext = services.api_token_create(user=alice, name="tv")
    digest = tokens.digest(plaintext)

    (_, user), sql = _queries(lambda: token_cache.lookup(digest, profile_id=profile.pk))
    assert len(sql) == 1 and "accounts_profile" in sql[0]
    found, sql = _queries(lambda: token_cache.profile_lookup(profile.pk, user))
    assert sql == [] and found.pk == profile.pk and found.name == "Sam"
    assert found.account is user

    # Another account's profile, named on a token's first request, is remembered as no profile.
    token_cache.auth_changed()
    _, sql = _queries(lambda: token_cache.lookup(digest, profile_id=others.pk))
    assert len(sql) == 1
    found, sql = _queries(lambda: token_cache.profile_lookup(others.pk, user))
    assert found is None and sql == []


@pytest.mark.parametrize(
    "header, status",
    [("not-a-number", 400), ("99999999999999999999999", 400), ("-1", 403), ("0", 403)],
)
def test_a_hostile_profile_header_on_a_token_s_first_request_is_a_clear_refusal(
    alice, token_client, header, status
):
    response = token_client.get("/api/v1/recommendations/rows", HTTP_X_PROFILE_ID=header)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] in {"invalid_profile", "validation_failed"}


def test_permissions_are_read_once_when_first_asked_then_remembered(alice):
    from accounts import tokens

    alice.user_permissions.add(Permission.objects.get(codename="use_steering"))
    _, plaintext = services.api_token_create(user=alice, name="svc")
    digest = tokens.digest(plaintext)

    (_, user), sql = _queries(lambda: token_cache.lookup(digest))
    assert not any("auth_permission" in s for s in sql)  # nothing asked yet
    allowed, sql = _queries(lambda: user.has_perm("cdn.use_steering"))
    assert allowed is True and any("auth_permission" in s for s in sql)

    _, again = token_cache.lookup(digest)
    answers, sql = _queries(
        lambda: (again.has_perm("cdn.use_steering"), again.has_perm("cdn.change_edge"))
    )
    assert answers == (True, False) and sql == []
    assert "cdn.use_steering" in again.get_all_permissions()


def test_the_prebuilt_lookup_loads_what_the_orm_loads(alice):
    """The token's first lookup is hand-written SQL (streamsite.prebuilt): every field of the
    token, its user and the named profile reads as the ORM reads it."""
    from accounts import tokens
    from accounts.models import Maturity, Profile, User

    profile = services.profile_create(account=alice, name="Sam", maturity=Maturity.KIDS)
    User.objects.filter(pk=alice.pk).update(last_login=timezone.now(), country="DE")
    _, plaintext = services.api_token_create(user=alice, name="tv")
    ApiToken.objects.filter(user=alice).update(last_used_at=timezone.now())

    token = token_cache._token_with_profile(tokens.digest(plaintext), profile.pk)

    def fields(obj, model):
        return {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}

    assert fields(token, ApiToken) == fields(ApiToken.objects.get(pk=token.pk), ApiToken)
    assert fields(token.user, User) == fields(User.objects.get(pk=alice.pk), User)
    assert fields(token.named_profile, Profile) == fields(
        Profile.objects.get(pk=profile.pk), Profile
    )
    assert token._state.adding is False and token.user._state.db == "default"
    assert token_cache._token_with_profile(tokens.digest(plaintext), None).user.pk == alice.pk
    assert not hasattr(
        token_cache._token_with_profile(tokens.digest(plaintext), None), "named_profile"
    )
    assert token_cache._token_with_profile("0" * 64, profile.pk) is None
